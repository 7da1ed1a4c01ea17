import { afterAll, describe, expect, it } from 'vitest';
import type { EventStore } from '../../../src/application/ports/event-store.port.js';
import { closeHarnesses, makeHarness, type Harness } from '../../support/harness.js';
import { accepted, TENANT } from './ingest-support.js';

// An unmerge gives the events that go back to the restored customer as copies under that
// customer's key; the originals' pii is then removed from the survivor's stream. The removal comes
// after the commit, so a crash in between must be made good: by the unmerge retried with its
// operationId, or by the erasure of the restored customer. A store that cannot change an event
// (EventStoreDB) says so in the answer and the audit, and the export still leaves the events out.

afterAll(() => closeHarnesses());

const SECRET = 'ben-private-note';

/** Ann and Ben merged by hand; Ben's device sends a private note while they are one. */
const mergedPair = async (h: Harness) => {
  const ann = accepted(
    await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'm-a', userId: 'ann', traits: { email: 'ann@example.com' } }),
  ).customerId;
  const ben = accepted(
    await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'm-b', anonymousId: 'dev', traits: { email: 'ben@example.com' } }),
  ).customerId;
  const merge = await h.core.identity.merge(TENANT, ann, ben, { actor: 'ops', force: true });
  const absorbedDevice = merge.absorbedId === ben ? { anonymousId: 'dev' } : { userId: 'ann' };
  await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'm-x', ...absorbedDevice, traits: { medicalNote: SECRET } });
  const stream = await h.ports.store.readStream(TENANT, merge.survivorId);
  const originals = stream.filter((e) => e.messageId === 'm-x' && e.pii !== undefined).map((e) => e.eventId);
  expect(originals.length).toBeGreaterThan(0);
  return { survivor: merge.survivorId, absorbed: merge.absorbedId, mergeId: merge.mergeId, originals };
};

const piiOf = async (h: Harness, streamId: string, ids: readonly string[]) => {
  const stream = await h.ports.store.readStream(TENANT, streamId);
  return ids.map((id) => stream.find((e) => e.eventId === id)?.pii);
};

/** The store's redactPii fails `times` times, then works again. */
const failRedaction = (store: EventStore, times: number) => {
  const real = store.redactPii!.bind(store);
  let left = times;
  Object.assign(store, {
    redactPii: (tenant: string, streamId: string, ids: readonly string[]) =>
      left-- > 0 ? Promise.reject(new Error('crashed before redacting')) : real(tenant, streamId, ids),
  });
};

describe('the originals of the events an unmerge gives back', () => {
  it('lose their pii once the unmerge commits, and the retried unmerge (same operationId) removes what a crash left', async () => {
    const h = makeHarness();
    const p = await mergedPair(h);
    failRedaction(h.ports.store, 1);
    await expect(h.core.identity.unmerge(TENANT, p.survivor, p.mergeId, { actor: 'ops', operationId: 'op-1' })).rejects.toThrow(/crashed/);
    // committed, but the originals still hold pii under the survivor's key
    expect((await piiOf(h, p.survivor, p.originals)).every((c) => typeof c === 'string')).toBe(true);
    const retried = await h.core.identity.unmerge(TENANT, p.survivor, p.mergeId, { actor: 'ops', operationId: 'op-1' });
    expect(retried).toMatchObject({ duplicate: true, restoredId: p.absorbed, originalsRedacted: true });
    expect(await piiOf(h, p.survivor, p.originals)).toEqual(p.originals.map(() => undefined));
    // the copies keep the note, under the restored customer's key
    expect(JSON.stringify(await h.core.export.export(TENANT, p.absorbed, { actor: 'dpo' }))).toContain(SECRET);
    const audit = (await h.ports.audit.list(TENANT, { limit: 100 })).entries.filter((e) => e.action === 'customer.unmerge');
    expect(audit.map((e) => e.detail?.originalsRedacted)).toEqual([p.originals.length]);
  });

  it("are found again through the restored customer's CustomerRestored when it is erased, if the unmerge never redacted them", async () => {
    const h = makeHarness();
    const p = await mergedPair(h);
    failRedaction(h.ports.store, 1);
    await expect(h.core.identity.unmerge(TENANT, p.survivor, p.mergeId, { actor: 'ops' })).rejects.toThrow(/crashed/);
    expect((await piiOf(h, p.survivor, p.originals)).every((c) => typeof c === 'string')).toBe(true);
    // the export leaves them out all the same
    expect(JSON.stringify(await h.core.export.export(TENANT, p.survivor, { actor: 'dpo' }))).not.toContain(SECRET);

    const receipt = await h.core.gdpr.erase(TENANT, p.absorbed, { actor: 'dpo' });
    expect(receipt.customers).toEqual([p.absorbed]);
    expect(await piiOf(h, p.survivor, p.originals)).toEqual(p.originals.map(() => undefined));
    // the survivor's other events keep theirs
    const own = (await h.ports.store.readStream(TENANT, p.survivor)).filter((e) => e.messageId === (p.survivor === p.absorbed ? 'm-b' : 'm-a'));
    expect(own.some((e) => e.pii !== undefined)).toBe(true);
  });

  it('on a store that cannot change an event, the unmerge says the originals are kept; the export still leaves them out', async () => {
    const h = makeHarness();
    const p = await mergedPair(h);
    Object.assign(h.ports.store, { redactPii: undefined });
    const undone = await h.core.identity.unmerge(TENANT, p.survivor, p.mergeId, { actor: 'ops' });
    expect(undone).toMatchObject({ duplicate: false, originalsRedacted: false });
    const audit = (await h.ports.audit.list(TENANT, { limit: 100 })).entries.find((e) => e.action === 'customer.unmerge')!;
    expect(audit.detail).toMatchObject({ originalsKept: true });
    expect((await piiOf(h, p.survivor, p.originals)).every((c) => typeof c === 'string')).toBe(true);
    const exported = await h.core.export.export(TENANT, p.survivor, { actor: 'dpo' });
    expect(JSON.stringify(exported)).not.toContain(SECRET);
    expect(JSON.stringify(exported)).not.toContain('medicalNote');
    expect(exported.metadata.counts.eventsGivenAway).toBe(p.originals.length);
  });
});
