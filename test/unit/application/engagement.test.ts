import { describe, expect, it } from 'vitest';
import { decodeReadable } from '../../../src/application/event-codec.js';
import type { Commit, CommitResult } from '../../../src/application/ports/event-store.port.js';
import type { EngagementHarness } from '../../support/engagement-harness.js';
import { currentView } from '../../../src/application/engagement/engagement.view.js';
import { decisionEvents, interestCall, makeEngagementHarness, viewOfUser } from '../../support/engagement-harness.js';

// Engagement through the whole core on in-memory adapters: Segment calls in, decisions recorded
// on the survivor's stream, shown in the 360 view, and notifications out.

const T = 'acme';
const HOUR = 3_600_000;

describe('engagement on ingest', () => {
  it('sends the offer when categoryPreferences {"Marketing": true} granted consent, records it and shows it in the view', async () => {
    const h = makeEngagementHarness();
    const out = await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'Electronics', { marketing: true }));
    expect(out.status).toBe('accepted');
    const decisions = await decisionEvents(h, T);
    expect(decisions).toEqual([
      expect.objectContaining({ outcome: 'sent', offerId: 'electronics-1', channel: 'email', trigger: 'InterestExpressed', purpose: 'marketing' }),
    ]);
    const [d] = decisions;
    expect(h.notifier.published).toEqual([
      {
        decisionId: d!.decisionId,
        tenant: T,
        customerId: d!.streamId,
        channel: 'email',
        offerId: 'electronics-1',
        offerTitle: 'Headphones 15% off',
        decidedAt: h.clock.now(),
      },
    ]);
    expect(h.outbox.all()).toEqual([expect.objectContaining({ status: 'published', confirmed: true, attempts: 0 })]);
    const view = await viewOfUser(h, T, 'u-1');
    expect(view.view.engagement).toMatchObject({
      sent: 1,
      suppressed: 0,
      decisions: [{ outcome: 'sent', offerId: 'electronics-1', decisionId: d!.decisionId }],
    });
    // the decision is ours, not the customer's activity: counters and channels stay as they were
    expect(view.view.eventCount).toBe(4);
    expect(Object.keys(view.view.channels)).toEqual(['web']);
    const history = await h.core.engagement.history.history(T, view.customerId);
    expect(history).toMatchObject({ kind: 'history', engagement: { sent: 1, decisions: [{ offerId: 'electronics-1', outcome: 'sent' }] } });
  });

  it('projects the call and its decision with one write of the view, the decision reading the call from the events in hand', async () => {
    const h = makeEngagementHarness();
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { marketing: true, messageId: 'm-0' }));
    const { customerId } = await viewOfUser(h, T, 'u-1');
    const puts: number[] = [];
    const put = h.ports.readModels.put.bind(h.ports.readModels);
    h.ports.readModels.put = async (tenant, doc, expected) => {
      if (doc.customerId === customerId) puts.push(doc.version);
      return put(tenant, doc, expected);
    };
    const reads: number[] = [];
    const readStream = h.ports.store.readStream.bind(h.ports.store);
    h.ports.store.readStream = async (tenant, streamId, after) => {
      if (streamId === customerId) reads.push(after ?? 0);
      return readStream(tenant, streamId, after);
    };
    h.clock.advance(8 * 24 * HOUR); // past the first offer's suppression window
    const out = await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { marketing: true, messageId: 'm-1' }));
    expect(out.status).toBe('accepted');
    const view = await viewOfUser(h, T, 'u-1');
    const stream = await readStream(T, customerId);
    expect(stream.at(-1)!.type).toBe('EngagementDecided');
    // one write, of the doc holding the call's events and the decision after them
    expect(puts).toEqual([stream.at(-1)!.version]);
    expect(view.version).toBe(stream.at(-1)!.version);
    const callEvents = stream.filter((e) => e.messageId === 'm-1' && e.type !== 'EngagementDecided').map((e) => e.eventId);
    expect(callEvents.length).toBeGreaterThan(0);
    expect(view.view.engagement).toMatchObject({ sent: 2, decisions: [{ outcome: 'sent' }, { outcome: 'sent' }] });
    expect(callEvents).toContain(view.view.engagement!.decisions[0]!.triggerEventId);
    // the decision folded the call's events in hand: no read of the log for them
    expect(reads).toEqual([]);
  });

  it('publishes a sent offer only once the view shows the call and its decision', async () => {
    const h = makeEngagementHarness();
    const seen: unknown[] = [];
    const publish = h.notifier.publish.bind(h.notifier);
    h.notifier.publish = async (n) => {
      const doc = await h.ports.readModels.get(T, n.customerId);
      seen.push(doc?.kind === 'view' ? doc.view.engagement?.decisions.map((d) => d.decisionId) : doc);
      return publish(n);
    };
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { marketing: true }));
    const [d] = await decisionEvents(h, T);
    expect(h.notifier.published).toHaveLength(1);
    expect(seen).toEqual([[d!.decisionId]]);
  });

  it("decides a new customer's first call from the events in hand, reading nothing from the log", async () => {
    const h = makeEngagementHarness();
    const reads: string[] = [];
    const readStream = h.ports.store.readStream.bind(h.ports.store);
    h.ports.store.readStream = async (tenant, streamId, after) => {
      reads.push(streamId);
      return readStream(tenant, streamId, after);
    };
    await h.core.ingest.ingest(T, h.web, interestCall('u-new', 'electronics', { marketing: true }));
    expect(reads).toEqual([]);
    expect((await decisionEvents(h, T)).map((d) => d.outcome)).toEqual(['sent']);
    expect((await viewOfUser(h, T, 'u-new')).view.engagement).toMatchObject({ sent: 1 });
  });

  it('suppresses with NO_CONSENT when marketing was withdrawn or never given, and publishes nothing', async () => {
    const h = makeEngagementHarness();
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { marketing: false }));
    await h.core.ingest.ingest(T, h.web, interestCall('u-2', 'electronics'));
    expect((await decisionEvents(h, T)).map((d) => [d.outcome, d.reason])).toEqual([
      ['suppressed', 'NO_CONSENT'],
      ['suppressed', 'NO_CONSENT'],
    ]);
    expect(h.notifier.calls).toBe(0);
    expect(h.outbox.all()).toEqual([]);
  });

  it('decides once per call: the same messageId again, or a redelivered batch, records no second decision', async () => {
    const h = makeEngagementHarness();
    const call = interestCall('u-1', 'electronics', { marketing: true, city: 'Cape Town', messageId: 'm-1' });
    await h.core.ingest.ingest(T, h.web, call);
    await h.core.ingest.ingest(T, h.web, call);
    const view = await viewOfUser(h, T, 'u-1');
    // a redelivery hands the same committed events over again: the call's commit holds its
    // decision, so there is nothing to answer; and the call's events alone (a page of the log that
    // ends before the decision) find the decision's idempotency record, committed with them
    const events = (await h.ports.store.readStream(T, view.customerId)).map((s) => decodeReadable(s));
    expect(await h.core.engagement.react(T, events)).toEqual([]);
    const trigger = events.filter((r) => r.event.type !== 'EngagementDecided');
    expect(await h.core.engagement.react(T, trigger)).toEqual([expect.objectContaining({ status: 'duplicate' })]);
    const decisions = await decisionEvents(h, T);
    // interest and place came in one call: one decision, and the Cape Town offer won
    expect(decisions).toEqual([expect.objectContaining({ outcome: 'sent', offerId: 'cpt-collect' })]);
    expect(h.notifier.published).toHaveLength(1);
  });

  it('never answers its own decisions: reacting to them decides nothing', async () => {
    const h = makeEngagementHarness();
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { marketing: true }));
    const view = await viewOfUser(h, T, 'u-1');
    const decided = (await h.ports.store.readStream(T, view.customerId)).filter((s) => s.type === 'EngagementDecided').map((s) => decodeReadable(s));
    expect(decided).toHaveLength(1);
    expect(await h.core.engagement.react(T, decided)).toEqual([]);
  });

  it('caps sends per channel over the whole cluster: two customers with two sends each, merged, get no third', async () => {
    const h = makeEngagementHarness();
    const anonymous = (n: number, marketing?: boolean) => {
      const { userId: _none, ...call } = interestCall('', 'electronics', { marketing, messageId: `anon-${n}` });
      return { ...call, anonymousId: 'anon-b' };
    };
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { marketing: true, messageId: 'u1-1' }));
    h.clock.advance(60_000);
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { messageId: 'u1-2' }));
    h.clock.advance(60_000);
    await h.core.ingest.ingest(T, h.web, anonymous(1, true));
    h.clock.advance(60_000);
    await h.core.ingest.ingest(T, h.web, anonymous(2));
    h.clock.advance(60_000);
    expect((await decisionEvents(h, T)).filter((d) => d.outcome === 'sent')).toHaveLength(4);
    expect(new Set((await decisionEvents(h, T)).map((d) => d.streamId)).size).toBe(2);
    // one call carries both customers' identifiers: they merge, and the cluster has 4 email sends today
    const merged = await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { anonymousId: 'anon-b', messageId: 'both' }));
    expect(merged).toMatchObject({ status: 'accepted', merged: [expect.any(String)] });
    const last = (await decisionEvents(h, T)).at(-1)!;
    expect(last).toMatchObject({ outcome: 'suppressed', reason: 'FREQUENCY_CAP', channel: 'email' });
    const view = await viewOfUser(h, T, 'u-1');
    expect(view.view.aliases).toHaveLength(1);
    expect(view.view.engagement).toMatchObject({ sent: 4, suppressed: 1 });
    // a day later the cap has room again; electronics-1 and -2 went out less than 7 days ago
    h.clock.advance(24 * HOUR);
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { messageId: 'next-day' }));
    expect((await decisionEvents(h, T)).at(-1)).toMatchObject({ outcome: 'sent', offerId: 'electronics-3' });
  });

  it('gives a restricted customer nothing (RESTRICTED), and offers again once the restriction is lifted', async () => {
    const h = makeEngagementHarness();
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'books', { marketing: true }));
    const id = (await viewOfUser(h, T, 'u-1')).customerId;
    await h.core.gdpr.restrict(T, id, { actor: 'dpo' });
    h.clock.advance(8 * 24 * HOUR);
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'books', { messageId: 'while-restricted' }));
    expect((await decisionEvents(h, T)).at(-1)).toMatchObject({ outcome: 'suppressed', reason: 'RESTRICTED' });
    expect((await decisionEvents(h, T)).at(-1)).not.toHaveProperty('offerId');
    await h.core.gdpr.unrestrict(T, id, { actor: 'dpo' });
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'books', { messageId: 'after-lifting' }));
    expect((await decisionEvents(h, T)).at(-1)).toMatchObject({ outcome: 'sent', offerId: 'books-3-for-2' });
    expect(h.notifier.published.map((n) => n.offerId)).toEqual(['books-3-for-2', 'books-3-for-2']);
  });

  it('answers only fresh triggers: an event observed two hours ago (an import) gets no decision', async () => {
    const h = makeEngagementHarness();
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { marketing: true, timestamp: new Date(h.clock.now() - 2 * HOUR).toISOString() }));
    expect(await decisionEvents(h, T)).toEqual([]);
    expect(h.ports.metrics.snapshot().engagement_skipped).toBe(1);
  });

  it('decides from the log when the views lag (Streams): consent committed but not projected still counts', async () => {
    const h = makeEngagementHarness({ inlineProjection: false });
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { marketing: true }));
    const owner = [...(await h.ports.store.readClaims(T, [h.ports.hasher.claimKey(T, 'user_id', 'u-1')])).values()][0]!;
    const committed = (await h.ports.store.readStream(T, owner)).map((s) => decodeReadable(s));
    // nothing is projected yet: engagement folds the cluster from the log itself
    expect(await h.ports.readModels.get(T, owner)).toBeUndefined();
    expect(await h.core.engagement.react(T, committed)).toEqual([expect.objectContaining({ status: 'decided', outcome: 'sent' })]);
    // the Streams hook (identity feed, then engagement) delivering the same batch again changes nothing
    await h.core.afterProject(T, committed);
    expect(await decisionEvents(h, T)).toHaveLength(1);
  });
});

/** Every commit the store is handed from now on, and what it answered. */
const watchCommits = (h: EngagementHarness, answer?: (commit: Commit, n: number) => CommitResult | undefined) => {
  const seen: { commit: Commit; result: CommitResult }[] = [];
  const commit = h.ports.store.commit.bind(h.ports.store);
  h.ports.store.commit = async (c) => {
    const result = answer?.(c, seen.length) ?? (await commit(c));
    seen.push({ commit: c, result });
    return result;
  };
  return seen;
};

const typesOf = (c: Commit) => c.streams.flatMap((s) => s.events.map((e) => e.type));

describe("engagement decided within the call's commit (inline projection)", () => {
  it('commits the decision with its call: one commit, holding the decision and its idempotency record', async () => {
    const h = makeEngagementHarness();
    const commits = watchCommits(h);
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { marketing: true, messageId: 'm-1' }));
    expect(commits).toHaveLength(1);
    const [{ commit, result }] = commits as [(typeof commits)[0]];
    expect(result.status).toBe('committed');
    expect(typesOf(commit).at(-1)).toBe('EngagementDecided');
    const [d] = await decisionEvents(h, T);
    expect(commit.idempotency?.key).toContain('m-1');
    expect(commit.alsoRecorded).toEqual([{ key: `engagement:${d!.decisionId}`, payloadHash: d!.decisionId, expiresAt: commit.idempotency!.expiresAt }]);
    await expect(h.ports.store.getIdempotency(T, `engagement:${d!.decisionId}`, h.clock.now())).resolves.toMatchObject({ payloadHash: d!.decisionId });
    expect(h.notifier.published).toHaveLength(1);
    expect(h.ports.metrics.snapshot()).toMatchObject({ engagement_sent: 1 });
  });

  it('a call that loses its race is decided again with the commit that lands, its first staging overwritten', async () => {
    const h = makeEngagementHarness();
    // the first commit loses to a writer nobody sees: nothing written, the pipeline decides again
    const commits = watchCommits(h, (_c, n) => (n === 0 ? { status: 'conflict', current: { streams: {}, claims: {} } } : undefined));
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { marketing: true }));
    expect(commits.map((c) => c.result.status)).toEqual(['conflict', 'committed']);
    expect(commits.map((c) => typesOf(c.commit).at(-1))).toEqual(['EngagementDecided', 'EngagementDecided']);
    const decisions = await decisionEvents(h, T);
    expect(decisions).toHaveLength(1);
    expect(h.outbox.all()).toEqual([expect.objectContaining({ decisionId: decisions[0]!.decisionId, status: 'published' })]);
    expect(h.notifier.published).toHaveLength(1);
    expect(h.ports.metrics.snapshot()).toMatchObject({ engagement_sent: 1 });
  });

  it('leaves the outbox entry of another attempt at the same call alone: a duplicate takes nothing back', async () => {
    const h = makeEngagementHarness();
    const call = interestCall('u-1', 'electronics', { marketing: true, messageId: 'm-1' });
    // attempt A (another replica) commits the call and its decision, and its publish fails
    h.notifier.failNext(1);
    await h.core.ingest.ingest(T, h.web, call);
    const [entry] = h.outbox.all();
    expect(entry).toMatchObject({ status: 'pending', confirmed: true, attempts: 1 });
    // attempt B of the same call got past the idempotency read before A committed: it decides,
    // stages the same decision id, and its commit answers duplicate
    const getIdempotency = h.ports.store.getIdempotency.bind(h.ports.store);
    h.ports.store.getIdempotency = async (tenant, key, now) => (key.startsWith('engagement:') ? getIdempotency(tenant, key, now) : undefined);
    h.clock.advance(1_000);
    const again = await h.core.ingest.ingest(T, h.web, call);
    expect(again.status).toBe('duplicate');
    // A's entry is still there for the relay, which publishes it
    expect(h.outbox.all()).toEqual([expect.objectContaining({ decisionId: entry!.decisionId, status: 'pending' })]);
    h.clock.advance(60 * 60_000);
    await expect(h.core.engagement.relay.flush()).resolves.toMatchObject({ published: 1 });
    expect(h.notifier.published.map((n) => n.decisionId)).toEqual([entry!.decisionId]);
  });

  it('when deciding before the commit fails, the call commits as it is and is decided after it, in a commit of its own', async () => {
    const h = makeEngagementHarness({ store: 'memory' });
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'books', { marketing: true, messageId: 'm-0' }));
    const { customerId } = await viewOfUser(h, T, 'u-1');
    let failures = 1;
    const get = h.ports.readModels.get.bind(h.ports.readModels);
    h.ports.readModels.get = async (tenant, id) => {
      if (failures-- > 0) throw new Error('read model unavailable');
      return get(tenant, id);
    };
    const commits = watchCommits(h);
    h.clock.advance(8 * 24 * HOUR);
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { marketing: true, messageId: 'm-1' }));
    expect(h.ports.metrics.snapshot().annex_failed).toBe(1);
    expect(commits.map((c) => [typesOf(c.commit).includes('EngagementDecided'), c.commit.alsoRecorded])).toEqual([
      [false, undefined],
      [true, undefined],
    ]);
    expect(commits[1]!.commit.idempotency?.key).toMatch(/^engagement:/);
    expect((await decisionEvents(h, T)).map((d) => [d.streamId, d.outcome])).toEqual([
      [customerId, 'sent'],
      [customerId, 'sent'],
    ]);
  });

  it.each([
    ['engagementInCommit is off', false, undefined],
    ['the store says it cannot write more than one idempotency record (alsoRecords: false)', true, false],
  ] as const)('decides after the commit, in a commit of its own, when %s', async (_why, inCommit, alsoRecords) => {
    const h = makeEngagementHarness({ engagementInCommit: inCommit });
    if (alsoRecords === false) Object.assign(h.ports.store, { alsoRecords });
    const commits = watchCommits(h);
    await h.core.ingest.ingest(T, h.web, interestCall('u-1', 'electronics', { marketing: true }));
    expect(commits.map((c) => c.commit.alsoRecorded)).toEqual([undefined, undefined]);
    expect(commits.map((c) => typesOf(c.commit).includes('EngagementDecided'))).toEqual([false, true]);
    expect(h.notifier.published).toHaveLength(1);
  });

  it("reads the log for what is committed beyond the events in hand: the view a decision sees is the state's whole", async () => {
    // nothing is projected by the core here: the test projects the first call itself
    const h = makeEngagementHarness({ inlineProjection: false, engagementInCommit: false });
    const calls = ['m-1', 'm-2', 'm-3'].map((messageId, i) => interestCall('u-1', ['books', 'electronics', 'garden'][i]!, { marketing: i !== 2, messageId }));
    const owner = async () => [...(await h.ports.store.readClaims(T, [h.ports.hasher.claimKey(T, 'user_id', 'u-1')])).values()][0]!;
    await h.core.ingest.ingest(T, h.web, calls[0]!);
    const id = await owner();
    const first = (await h.ports.store.readStream(T, id)).map((s) => decodeReadable(s));
    await h.core.projector.apply(T, first, h.ports.readModels);
    await h.core.ingest.ingest(T, h.web, calls[1]!);
    await h.core.ingest.ingest(T, h.web, calls[2]!);
    const all = (await h.ports.store.readStream(T, id)).map((s) => decodeReadable(s));
    const second = all.filter((r) => r.messageId === 'm-2');
    expect(second.length).toBeGreaterThan(0);
    expect(all.at(-1)!.messageId).toBe('m-3');
    const state = await h.core.repo.load(T, id);
    expect(state.version).toBe(all.at(-1)!.version);
    // the second call's events in hand, the third's (a marketing withdrawal) only in the log
    const fromHand = await currentView(h.ports.store, h.ports.readModels, T, state, second);
    const fromLog = await currentView(h.ports.store, h.ports.readModels, T, state, []);
    expect(fromHand).toEqual(fromLog);
    expect(JSON.stringify(fromHand)).toContain('garden');
  });
});
