import { afterEach, describe, expect, it } from 'vitest';
import type { IngestOutcome } from '../../../src/application/ingest/ingest.use-case.js';
import type { QuarantineEntry } from '../../../src/application/ports/quarantine.port.js';
import { closeHarnesses, type Harness, makeHarness } from '../../support/harness.js';
import { leaked, memoryDump } from '../../support/store-dump.js';
import { accepted, asView, TENANT } from './ingest-support.js';

// One quarantine entry keeps a batch's refused calls, several people's. Erasing one of them takes
// that person's calls out of the entry (rewritten under the same id, re-encrypted, with the reasons
// and issues of the calls that remain) and leaves the others' calls replayable; the entry goes
// whole only when nothing of anyone else is left in it, or when what is left still names the
// erased person (the batch's shared context). The receipt counts both.

afterEach(closeHarnesses);

const GINA = { userId: 'gina-1', email: 'gina@example.com' };
const HANK_EMAIL = 'hank@example.com';

const quarantineIds = (out: readonly IngestOutcome[]) => [...new Set(out.flatMap((o) => (o.status === 'quarantined' ? [o.quarantineId] : [])))];

/** the trial's batch: an invalid call of Gina's, one of Hank's, and a valid one of Ivy's */
const trialBatch = (tag: string, context?: unknown) => ({
  ...(context === undefined ? {} : { context }),
  batch: [
    { type: 'track', userId: GINA.userId, messageId: `${tag}-g`, properties: { plan: 'pro' } },
    { type: 'track', userId: 'hank-1', messageId: `${tag}-h`, traits: { email: HANK_EMAIL } },
    { type: 'identify', userId: 'ivy-1', messageId: `${tag}-i` },
  ],
});

const gina = async (h: Harness) =>
  accepted(await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'gina-id', userId: GINA.userId, traits: { email: GINA.email } }));

const entry = async (h: Harness, id: string): Promise<QuarantineEntry | undefined> => h.ports.quarantine.get(TENANT, id);

describe.each(['memory', 'sqlite'] as const)('erasing one person of a batch entry (on %s)', (store) => {
  it("takes only her calls out: same id, Hank's call, reason and issues kept and replayable; the receipt counts what went", async () => {
    const h = makeHarness({}, { store });
    const g = await gina(h);
    const out = await h.core.ingest.ingestBatch(TENANT, h.web, trialBatch('t1'));
    expect(out.map((o) => o.status)).toEqual(['quarantined', 'quarantined', 'accepted']);
    const [id] = quarantineIds(out);
    const before = (await entry(h, id!))!;
    expect(before.reason.issues.map((i) => i.path)).toEqual(['batch[0].event', 'batch[1].event']);

    const receipt = await h.core.gdpr.erase(TENANT, g.customerId, { actor: 'dpo' });
    expect(receipt.removed).toMatchObject({ quarantined: 0, quarantineRewritten: 1, quarantineCallsRemoved: 1 });

    const after = (await entry(h, id!))!;
    expect(after).toMatchObject({ id, status: 'pending', receivedAt: before.receivedAt, source: before.source });
    const payload = after.payload as { batch: unknown[]; refused: { index: number; code: string }[] };
    expect(payload.batch).toEqual([trialBatch('t1').batch[1]]);
    expect(payload.refused.map((r) => [r.index, r.code])).toEqual([[1, 'VALIDATION_FAILED']]);
    expect(after.reason.code).toBe('BATCH_CALLS_REFUSED');
    expect(after.reason.issues.map((i) => i.path)).toEqual(['batch[1].event']);
    // the entry says what its indexes are: Hank's call is batch[0] of the entry, index 1 of the request
    expect(after.reason.message).toMatch(/"refused" holds, at the same place, each one's index in the request/);
    expect(after.reason.message).toMatch(
      /\(1 of its calls was taken out by an erasure; the calls left keep their index in the request, in "refused" and in the issue paths\)$/,
    );
    // every issue path names a call the entry still holds, by the index its "refused" record gives
    const held = new Set(payload.refused.map((r) => r.index));
    for (const issue of after.reason.issues) expect(held.has(Number(/^batch\[(\d+)\]/.exec(issue.path)?.[1]))).toBe(true);
    // her keys are no longer recorded with it; Hank's are
    const keys = new Set(after.matchKeys);
    expect(keys.has(h.ports.hasher.claimKey(TENANT, 'user_id', GINA.userId))).toBe(false);
    expect(keys.has(h.ports.hasher.claimKey(TENANT, 'email', HANK_EMAIL))).toBe(true);
    expect(leaked(memoryDump(h), [GINA.email, 't1-g'])).toEqual([]);
    expect(leaked(memoryDump(h), [HANK_EMAIL])).toEqual([HANK_EMAIL]);
    // Hank's call is still there to replay: refused again for the same reason, by its index in the request
    const replayed = await h.core.quarantine.replay(TENANT, id!);
    expect(replayed).toMatchObject({ status: 'rejected', error: { code: 'BATCH_CALLS_REFUSED', issues: [{ path: 'batch[1].event' }] } });
    expect(replayed.status === 'rejected' && replayed.error.issues).toHaveLength(1);
    expect(replayed.status === 'rejected' && replayed.error.message).toMatch(/name each call by its index in the request, as the entry's "refused" does$/);
  });

  it("keeps the request's indexes because a replay ingests each call at its index: a call an earlier replay took in answers as a duplicate after the rewrite", async () => {
    const h = makeHarness({}, { store });
    const g = await gina(h);
    // Hank's call has neither messageId nor timestamp: it is known by when it came and its index in the request
    const hank = { type: 'identify', userId: 'hank-1', traits: { email: HANK_EMAIL } };
    const body = { batch: [{ type: 'track', userId: GINA.userId, messageId: 'r-g' }, hank, { type: 'identify', userId: 'ivy-1', messageId: 'r-i' }] };
    // the key store down for the batch: Hank's call is refused for a failure of ours, Gina's for its shape
    const getOrCreate = h.ports.keys.getOrCreate.bind(h.ports.keys);
    h.ports.keys.getOrCreate = async () => {
      throw new Error('key store unavailable');
    };
    const out = await h.core.ingest.ingestBatch(TENANT, h.web, body);
    h.ports.keys.getOrCreate = getOrCreate;
    expect(out.map((o) => o.status)).toEqual(['quarantined', 'quarantined', 'quarantined']);
    const [id] = quarantineIds(out);
    // a first replay takes Hank's and Ivy's calls in; Gina's is refused again, so the entry stays pending
    const first = await h.core.quarantine.replay(TENANT, id!);
    expect(first).toMatchObject({ status: 'rejected', error: { issues: [{ path: 'batch[0].event' }] } });
    const hankId = asView(await h.core.queries.findByIdentifier(TENANT, 'email', HANK_EMAIL)).customerId;
    const eventsBefore = (await h.ports.store.readStream(TENANT, hankId)).length;

    const receipt = await h.core.gdpr.erase(TENANT, g.customerId, { actor: 'dpo' });
    expect(receipt.removed).toMatchObject({ quarantineRewritten: 1, quarantineCallsRemoved: 1 });
    const after = (await entry(h, id!))!;
    expect((after.payload as { refused: { index: number }[] }).refused.map((r) => r.index)).toEqual([1, 2]);

    // replayed again: Hank's call at index 1, as before, is the call already in (renumbered to 0 it would go in twice)
    const again = await h.core.quarantine.replay(TENANT, id!);
    expect(again).toMatchObject({
      status: 'replayed',
      calls: [
        { index: 1, status: 'duplicate' },
        { index: 2, status: 'duplicate' },
      ],
    });
    expect((await h.ports.store.readStream(TENANT, hankId)).length).toBe(eventsBefore);
  });

  it('is idempotent and crash-safe: a repeat, a re-application, and a re-application over the restored entry reach the same end state', async () => {
    const h = makeHarness({}, { store });
    const g = await gina(h);
    const [id] = quarantineIds(await h.core.ingest.ingestBatch(TENANT, h.web, trialBatch('t2')));
    const original = (await entry(h, id!))!;
    const first = await h.core.gdpr.erase(TENANT, g.customerId, { actor: 'dpo' });
    const rewritten = await entry(h, id!);
    expect(await h.core.gdpr.erase(TENANT, g.customerId, { actor: 'dpo' })).toEqual(first);
    // nothing of hers is left to find: the entry is not rewritten again
    expect(await h.core.gdpr.reapply(TENANT)).toMatchObject({ quarantined: 0 });
    expect(await entry(h, id!)).toEqual(rewritten);
    // the entry as it was before the erasure (a restore, or a run that died before its rewrite)
    await h.ports.quarantine.put(original);
    const report = await h.core.gdpr.reapply(TENANT);
    expect(report).toMatchObject({ quarantined: 0, quarantineRewritten: 1, quarantineCallsRemoved: 1 });
    expect(await entry(h, id!)).toEqual(rewritten);
  });

  it("two erasures of one entry at once: the second, decided over the entry as it was before the first, does not put the first one's call back", async () => {
    const h = makeHarness({}, { store });
    const g = await gina(h);
    const hank = accepted(
      await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'hank-id', userId: 'hank-1', traits: { email: HANK_EMAIL } }),
    );
    const batch = trialBatch('t5').batch;
    const ivy = { type: 'track', userId: 'ivy-1', messageId: 't5-i' };
    const [id] = quarantineIds(await h.core.ingest.ingestBatch(TENANT, h.web, { batch: [batch[0], batch[1], ivy] }));
    const stale = (await entry(h, id!))!;
    await h.core.gdpr.erase(TENANT, hank.customerId, { actor: 'dpo' });
    expect((await entry(h, id!))?.payload).toMatchObject({ batch: [batch[0], ivy] });
    // Gina's erasure listed the entry before Hank's erasure rewrote it
    const list = h.ports.quarantine.list.bind(h.ports.quarantine);
    h.ports.quarantine.list = async (tenant, options) => (tenant === TENANT ? { entries: [stale] } : list(tenant, options));
    const receipt = await h.core.gdpr.erase(TENANT, g.customerId, { actor: 'dpo' });
    h.ports.quarantine.list = list;
    expect(receipt.removed).toMatchObject({ quarantined: 0, quarantineRewritten: 1, quarantineCallsRemoved: 1 });
    expect((await entry(h, id!))?.payload).toMatchObject({ batch: [ivy] });
    expect(leaked(memoryDump(h), [HANK_EMAIL, GINA.email, 't5-h', 't5-g'])).toEqual([]);
  });

  it('an entry that keeps changing under other erasures is a conflict to retry (409), with no receipt, and the next run finishes it', async () => {
    const h = makeHarness({}, { store });
    const g = await gina(h);
    const [id] = quarantineIds(await h.core.ingest.ingestBatch(TENANT, h.web, trialBatch('t6')));
    // every rewrite loses its compare-and-set, as if another erasure rewrote the entry each time
    const rewrite = h.ports.quarantine.rewrite.bind(h.ports.quarantine);
    let tries = 0;
    h.ports.quarantine.rewrite = async () => (tries++, false);
    await expect(h.core.gdpr.erase(TENANT, g.customerId, { actor: 'dpo' })).rejects.toMatchObject({
      code: 'CONCURRENCY_CONFLICT',
      details: { quarantineId: id },
    });
    expect(tries).toBe(10);
    expect((await h.core.gdpr.receipts(TENANT, { limit: 10 })).entries).toEqual([]);
    h.ports.quarantine.rewrite = rewrite;
    const receipt = await h.core.gdpr.erase(TENANT, g.customerId, { actor: 'dpo' });
    expect(receipt.removed).toMatchObject({ quarantineRewritten: 1, quarantineCallsRemoved: 1 });
  });

  it('deletes the entry whole when every call in it is hers, or when what is left still names her (the batch context)', async () => {
    const h = makeHarness({}, { store });
    const g = await gina(h);
    const allHers = await h.core.ingest.ingestBatch(TENANT, h.web, {
      batch: [
        { type: 'track', userId: GINA.userId, messageId: 'all-1' },
        { type: 'track', userId: 'someone', messageId: 'all-2', context: { traits: { email: GINA.email } } },
      ],
    });
    const shared = await h.core.ingest.ingestBatch(TENANT, h.web, trialBatch('t3', { traits: { email: GINA.email } }));
    const others = await h.core.ingest.ingestBatch(TENANT, h.web, { batch: trialBatch('t4').batch.slice(1) });
    const [a, s, o] = [quarantineIds(allHers)[0]!, quarantineIds(shared)[0]!, quarantineIds(others)[0]!];
    const receipt = await h.core.gdpr.erase(TENANT, g.customerId, { actor: 'dpo' });
    expect(receipt.removed.quarantined).toBe(2);
    expect(receipt.removed.quarantineRewritten).toBeUndefined();
    expect(await entry(h, a)).toBeUndefined();
    expect(await entry(h, s)).toBeUndefined();
    expect(await entry(h, o)).toBeDefined();
  });

  it('cuts her calls out of a batch body refused whole, the issues of the calls after them moved up with them', async () => {
    const h = makeHarness({}, { store });
    const g = await gina(h);
    const body = {
      batch: [
        { type: 'track', userId: 'hank-1', messageId: 'w-h', traits: { email: HANK_EMAIL } },
        { type: 'identify', userId: GINA.userId, messageId: 'w-g' },
        { type: 'track', userId: 'ivy-1', messageId: 'w-i' },
      ],
    };
    const reason = {
      code: 'TOO_MANY_CALLS',
      message: 'the batch holds too many calls',
      issues: [
        { path: 'batch', message: 'at most 2 calls' },
        { path: 'batch[1].traits', message: 'hers' },
        { path: 'batch[2].event', message: 'Required' },
      ],
    };
    const id = await h.core.quarantine.hold(TENANT, 'web', body, reason, undefined, 'batch');
    const receipt = await h.core.gdpr.erase(TENANT, g.customerId, { actor: 'dpo' });
    expect(receipt.removed).toMatchObject({ quarantined: 0, quarantineRewritten: 1, quarantineCallsRemoved: 1 });
    const after = (await entry(h, id))!;
    expect(after.intake).toBe('batch');
    expect(after.payload).toEqual({ batch: [body.batch[0], body.batch[2]] });
    expect(after.reason.issues).toEqual([
      { path: 'batch', message: 'at most 2 calls' },
      { path: 'batch[1].event', message: 'Required' },
    ]);
    expect(after.reason.message).toBe(
      'the batch holds too many calls (1 of its calls was taken out by an erasure; the calls after them moved up, their issue paths with them)',
    );
  });
});
