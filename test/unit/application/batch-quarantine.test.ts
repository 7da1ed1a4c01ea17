import { afterEach, describe, expect, it } from 'vitest';
import type { IngestOutcome } from '../../../src/application/ingest/ingest.use-case.js';
import { closeHarnesses, type Harness, makeHarness } from '../../support/harness.js';
import { leaked, memoryDump } from '../../support/store-dump.js';
import { accepted, TENANT, view360 } from './ingest-support.js';

// The calls of one batch that the core refuses after validation (no usable identifier, amounts
// out of bounds, a reused messageId, a failure of ours) are kept in ONE quarantine entry for the
// batch, whatever their number: each call with its index and reason, every refused call answered
// with that entry's id. Such an entry replays call by call, and an erasure takes the erased
// customer's calls out of it, keeping the other people's (erasure-quarantine-batch.test.ts).

afterEach(closeHarnesses);

type Refused = { index: number; code: string; message: string; issues: { path: string; message: string }[] };
type HeldBatch = { batch: unknown[]; refused: Refused[]; context?: unknown };

const entries = async (h: Harness) => (await h.core.quarantine.list(TENANT, { limit: 500 })).entries;
const quarantineIds = (out: readonly IngestOutcome[]) => out.flatMap((o) => (o.status === 'quarantined' ? [o.quarantineId] : []));

/** 50 calls the core refuses (25 with only blocked identifiers, 25 with revenue out of bounds) around 2 good ones. */
const badBatch = (tag: string) => {
  const calls: Record<string, unknown>[] = [];
  for (let k = 0; k < 50; k++) {
    calls.push(
      k % 2 === 0
        ? { type: 'identify', messageId: `${tag}-blocked-${k}`, userId: 'unknown', traits: { email: 'n/a', name: `Blocked ${k}` } }
        : { type: 'track', messageId: `${tag}-bounds-${k}`, userId: `u-${tag}-${k}`, event: 'Order Completed', properties: { revenue: 1e308 } },
    );
  }
  calls.splice(10, 0, { type: 'identify', messageId: `${tag}-good-1`, userId: `u-${tag}-good-1` });
  calls.splice(40, 0, { type: 'identify', messageId: `${tag}-good-2`, userId: `u-${tag}-good-2` });
  return { context: { library: { name: 'analytics-ios' } }, batch: calls };
};

describe.each(['memory', 'sqlite'] as const)('a batch refused by the core (on %s)', (store) => {
  it('writes exactly ONE quarantine entry listing all 50 refused calls, each answered with its id', async () => {
    const h = makeHarness({}, { store });
    const body = badBatch('one');
    const out = await h.core.ingest.ingestBatch(TENANT, h.web, { ...body, writeKey: 'secret-write-key' });
    expect(out).toHaveLength(52);
    expect([out[10]!.status, out[40]!.status]).toEqual(['accepted', 'accepted']);
    const ids = quarantineIds(out);
    expect(ids).toHaveLength(50);
    expect(new Set(ids).size).toBe(1);

    const held = await entries(h);
    expect(held).toHaveLength(1);
    const [entry] = held;
    expect(entry).toMatchObject({ id: ids[0], status: 'pending', reason: { code: 'BATCH_CALLS_REFUSED' } });
    const payload = entry!.payload as HeldBatch;
    const refusedIndexes = [...out.keys()].filter((i) => out[i]!.status === 'quarantined');
    expect(payload.refused.map((r) => r.index)).toEqual(refusedIndexes);
    expect(payload.batch).toEqual(refusedIndexes.map((i) => body.batch[i]));
    expect(payload.context).toEqual(body.context);
    // each call's own reason, as its outcome says
    for (const [n, r] of payload.refused.entries()) {
      const o = out[r.index]!;
      if (o.status !== 'quarantined') throw new Error(`call ${r.index} was ${o.status}`);
      expect(r).toMatchObject({ code: o.error.code, message: o.error.message });
      expect(r.code).toBe(n % 2 === 0 ? 'NO_USABLE_IDENTIFIER' : 'VALIDATION_FAILED');
    }
    expect(entry!.reason.issues.some((i) => i.path.startsWith(`batch[${refusedIndexes.at(-1)}]`))).toBe(true);
    // the credential is not kept
    expect(JSON.stringify(entry)).not.toContain('secret-write-key');
  });

  it('replays such an entry call by call: refused again it stays pending; once the calls go in it is replayed', async () => {
    const h = makeHarness({}, { store });
    // refused again: nothing about these calls changed
    await h.core.ingest.ingestBatch(TENANT, h.web, badBatch('again'));
    const [stuck] = await entries(h);
    const again = await h.core.quarantine.replay(TENANT, stuck!.id);
    if (again.status !== 'rejected') throw new Error(JSON.stringify(again));
    expect(again.error.code).toBe('BATCH_CALLS_REFUSED');
    expect(new Set(again.error.issues.map((i) => i.path.replace(/\].*/, ']'))).size).toBe(50);
    expect((await h.ports.quarantine.get(TENANT, stuck!.id))?.status).toBe('pending');

    // refused for a failure of ours (the key store down for the whole batch), kept, replayed after
    const getOrCreate = h.ports.keys.getOrCreate.bind(h.ports.keys);
    h.ports.keys.getOrCreate = async () => {
      throw new Error('key store unavailable');
    };
    const calls = Array.from({ length: 50 }, (_, k) => ({
      type: 'identify',
      messageId: `down-${k}`,
      userId: `u-down-${k % 10}`,
      traits: { plan: `p${k}` },
      timestamp: new Date(Date.UTC(2025, 11, 31, 9, k)).toISOString(),
    }));
    const out = await h.core.ingest.ingestBatch(TENANT, h.web, { context: { library: { name: 'analytics-ios' } }, batch: calls });
    expect(new Set(quarantineIds(out)).size).toBe(1);
    expect(quarantineIds(out)).toHaveLength(50);
    const held = (await entries(h)).filter((e) => e.id !== stuck!.id);
    expect(held).toHaveLength(1);
    h.ports.keys.getOrCreate = getOrCreate;

    const replayed = await h.core.quarantine.replay(TENANT, held[0]!.id);
    if (replayed.status !== 'replayed') throw new Error(JSON.stringify(replayed));
    expect(replayed.calls.map((c) => [c.index, c.status])).toEqual(calls.map((_, k) => [k, 'accepted']));
    expect((await h.ports.quarantine.get(TENANT, held[0]!.id))?.status).toBe('replayed');
    // each at its own time, with the batch's context: the latest plan of each user wins, on the mobile channel
    const found = accepted(await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'probe', userId: 'u-down-3' }));
    const view = await view360(h, found.customerId);
    expect(view.traits.plan?.value).toBe('p43');
    expect(Object.keys(view.channels)).toContain('mobile');
    // replayed again, every call is already in
    const twice = await h.core.quarantine.replay(TENANT, held[0]!.id);
    expect(twice.status === 'replayed' && twice.calls.every((c) => c.status === 'duplicate')).toBe(true);
  });

  it("an erasure takes the customer's call out of the entry, keeping the 49 calls of others; an entry naming others stays as it was", async () => {
    const h = makeHarness({}, { store });
    const email = 'Wenna.Pellowe@erase-example.org';
    const alice = accepted(await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'alice', userId: 'u-wenna', traits: { email } }));
    const named = badBatch('named');
    // one of 50 refused calls names her, by email, among calls of other people
    named.batch[37] = { type: 'track', messageId: 'named-hers', userId: 'u-wenna', event: 'Order Completed', properties: { revenue: -1, email } };
    const out = await h.core.ingest.ingestBatch(TENANT, h.web, named);
    expect(out[37]!.status).toBe('quarantined');
    await h.core.ingest.ingestBatch(TENANT, h.web, badBatch('others'));
    const [hers, others] = [quarantineIds(out)[0]!, (await entries(h)).find((e) => e.id !== quarantineIds(out)[0])!.id];

    const exported = await h.core.export.export(TENANT, alice.customerId, { actor: 'dpo' });
    expect(exported.quarantine.entries.map((e) => e.id)).toEqual([hers]);
    const othersBefore = await h.ports.quarantine.get(TENANT, others);
    const receipt = await h.core.gdpr.erase(TENANT, alice.customerId, { actor: 'dpo' });
    expect(receipt.removed).toMatchObject({ quarantined: 0, quarantineRewritten: 1, quarantineCallsRemoved: 1 });
    const kept = (await h.ports.quarantine.get(TENANT, hers))?.payload as HeldBatch;
    expect(kept.batch).toHaveLength(49);
    expect(kept.refused.map((r) => r.index)).not.toContain(37);
    expect(await h.ports.quarantine.get(TENANT, others)).toEqual(othersBefore);
    expect(leaked(memoryDump(h), [email, 'named-hers'])).toEqual([]);
  });

  it('an erasure finds a full batch entry of 1,000 refused calls by its last call, and export lists it', async () => {
    const h = makeHarness({}, { store });
    const wenna = accepted(await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'wenna', userId: 'u-wenna-last' }));
    const batch = Array.from({ length: 1_000 }, (_, k) => ({
      type: 'track',
      messageId: `full-${k}`,
      userId: `u-full-${k}`,
      anonymousId: `a-full-${k}`,
      event: 'Order Completed',
      properties: { revenue: 1e308 },
    }));
    // only the last call names her, by her user id alone
    batch[999] = { ...batch[999]!, userId: 'u-wenna-last' };
    const out = await h.core.ingest.ingestBatch(TENANT, h.web, { batch });
    const ids = quarantineIds(out);
    expect(ids).toHaveLength(1_000);
    expect(new Set(ids).size).toBe(1);
    expect((await h.core.export.export(TENANT, wenna.customerId, { actor: 'dpo' })).quarantine.entries.map((e) => e.id)).toEqual([ids[0]]);
    const receipt = await h.core.gdpr.erase(TENANT, wenna.customerId, { actor: 'dpo' });
    expect(receipt.removed).toMatchObject({ quarantined: 0, quarantineRewritten: 1, quarantineCallsRemoved: 1 });
    const kept = (await entries(h))[0]?.payload as HeldBatch;
    expect(kept.batch).toHaveLength(999);
    expect(kept.refused.at(-1)?.index).toBe(998);
    expect(leaked(memoryDump(h), ['u-wenna-last', 'full-999'])).toEqual([]);
  });
});
