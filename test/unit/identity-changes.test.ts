import { describe, expect, it } from 'vitest';
import { identityChangesOf } from '../../src/application/identity-changes.js';
import { MemoryIdentityFeed } from '../../src/adapters/memory/memory.identity-feed.js';
import type { RecordedEvent } from '../../src/domain/customer/customer.events.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { accepted, TENANT } from './application/ingest-support.js';

// The identity change feed's content, derived from the events the real core commits: one change per
// merge, unmerge and erased customer, whatever the delivery batching, and nothing personal.

const PERSONAL = ['ada@example.com', '+14155550100', 'Ada Lovelace', 'anon-ada'];

/** Every committed event, decrypted as the projector sees it */
const committed = async (h: Harness): Promise<RecordedEvent[]> => {
  const page = await h.ports.store.readAll(TENANT, { limit: 10_000 });
  return Promise.all(page.events.map(async (s) => h.core.codec.decode(s, await h.ports.keys.get(TENANT, s.streamId))));
};

/** Two customers joined by a call carrying identifiers of both, then the merge undone. */
const mergeAndUnmerge = async () => {
  const h = makeHarness();
  const ada = accepted(
    await h.core.ingest.ingest(TENANT, h.web, {
      type: 'identify',
      messageId: 'm-1',
      userId: 'u-ada',
      traits: { email: 'ada@example.com', name: 'Ada Lovelace' },
    }),
  );
  h.clock.advance(1_000);
  const anon = accepted(
    await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'm-2', anonymousId: 'anon-ada', traits: { phone: '+14155550100' } }),
  );
  h.clock.advance(1_000);
  const joined = accepted(
    await h.core.ingest.ingest(TENANT, h.web, { type: 'track', messageId: 'm-3', userId: 'u-ada', anonymousId: 'anon-ada', event: 'Signed In' }),
  );
  const afterMerge = await committed(h);
  const merge = afterMerge.find((r) => r.event.type === 'CustomerMerged')!;
  if (merge.event.type !== 'CustomerMerged') throw new Error('the join did not merge');
  h.clock.advance(1_000);
  await h.core.identity.unmerge(TENANT, merge.streamId, merge.event.data.mergeId, { actor: 'ops' });
  return { h, ada: ada.customerId, anon: anon.customerId, survivor: joined.customerId, merge, events: await committed(h) };
};

describe('identityChangesOf', () => {
  it('emits one merged and one unmerged change for a merge and its undo, keyed by the survivor-side event', async () => {
    const { events, merge, ada, anon } = await mergeAndUnmerge();
    const unmerged = events.find((r) => r.event.type === 'CustomerUnmerged')!;
    const mergeId = merge.event.type === 'CustomerMerged' ? merge.event.data.mergeId : '';
    // the survivor is the customer seen first
    expect(merge.streamId).toBe(ada);
    expect(identityChangesOf(TENANT, events)).toEqual([
      { id: merge.eventId, tenant: TENANT, type: 'merged', at: merge.observedAt, survivorId: ada, absorbedId: anon, mergeId },
      { id: unmerged.eventId, tenant: TENANT, type: 'unmerged', at: unmerged.observedAt, survivorId: ada, restoredId: anon, mergeId },
    ]);
    // the absorbed side's halves were committed too, and are not changes of their own
    expect(events.map((r) => r.event.type)).toEqual(expect.arrayContaining(['CustomerMergedInto', 'CustomerRestored']));
  });

  it('gives the same changes for any batching, reversed order, or a redelivered event', async () => {
    const { events } = await mergeAndUnmerge();
    const whole = identityChangesOf(TENANT, events);
    const oneByOne = events.flatMap((r) => identityChangesOf(TENANT, [r]));
    expect(oneByOne).toEqual(whole);
    expect(
      identityChangesOf(TENANT, [...events].reverse())
        .map((c) => c.id)
        .sort(),
    ).toEqual(whole.map((c) => c.id).sort());
    expect(identityChangesOf(TENANT, [...events, ...events])).toEqual(whole);
  });

  it('carries ids, types and times only: no identifier, trait or evidence value', async () => {
    const { events } = await mergeAndUnmerge();
    const json = JSON.stringify(identityChangesOf(TENANT, events)).toLowerCase();
    // the decrypted events the changes come from do hold every one of these values
    const source = JSON.stringify(events).toLowerCase();
    for (const value of PERSONAL) expect(source).toContain(value.toLowerCase());
    for (const value of PERSONAL) expect(json).not.toContain(value.toLowerCase());
    for (const c of identityChangesOf(TENANT, events))
      expect(Object.keys(c).sort()).toEqual(['absorbedId', 'at', 'id', 'mergeId', 'restoredId', 'survivorId', 'tenant', 'type'].filter((k) => k in c));
  });

  it('emits one erased change per tombstoned customer of the cluster, with the erasure id', () => {
    const tombstone = (streamId: string, eventId: string, version: number): RecordedEvent => ({
      eventId,
      streamId,
      version,
      observedAt: 1_767_225_600_000,
      source: 'gdpr',
      sourcePriority: 0,
      channel: 'other',
      event: { type: 'CustomerErased', v: 1, data: { erasureId: 'er-1', requestedId: 'c-absorbed' } },
    });
    const events = [tombstone('c-survivor', 'e-1', 9), tombstone('c-absorbed', 'e-2', 4)];
    expect(identityChangesOf(TENANT, events)).toEqual([
      { id: 'e-1', tenant: TENANT, type: 'erased', at: 1_767_225_600_000, customerId: 'c-survivor', erasureId: 'er-1' },
      { id: 'e-2', tenant: TENANT, type: 'erased', at: 1_767_225_600_000, customerId: 'c-absorbed', erasureId: 'er-1' },
    ]);
  });

  it('finds nothing in events that change no identity', async () => {
    const h = makeHarness();
    accepted(await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'm-1', userId: 'u-1', traits: { email: 'grace@example.com' } }));
    accepted(
      await h.core.ingest.ingest(TENANT, h.web, { type: 'track', messageId: 'm-2', userId: 'u-1', event: 'Order Completed', properties: { revenue: 10 } }),
    );
    expect(await committed(h)).not.toHaveLength(0);
    expect(identityChangesOf(TENANT, await committed(h))).toEqual([]);
  });
});

describe('MemoryIdentityFeed', () => {
  it('keeps every publish, repeats included, fails on request, and shows a deduplicating subscriber each change once', async () => {
    const { events } = await mergeAndUnmerge();
    const changes = identityChangesOf(TENANT, events);
    const feed = new MemoryIdentityFeed();
    feed.failNext();
    await expect(feed.publish(changes)).rejects.toThrow(/unavailable/);
    expect(feed.published).toEqual([]);
    // the caller delivers again, and the redelivery overlaps what came before
    await feed.publish(changes.slice(0, 1));
    await feed.publish(changes);
    expect(feed.published.map((c) => c.type)).toEqual(['merged', 'merged', 'unmerged']);
    expect(feed.changes()).toEqual(changes);
  });
});
