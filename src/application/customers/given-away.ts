import type { EventStore, StoredEvent } from '../ports/event-store.port.js';

// An unmerge copies the events that go back into the restored customer's stream, encrypted under
// that customer's key, and records their ids on the survivor's CustomerUnmerged; the originals stay
// in the survivor's stream (the log is append-only), skipped by every view. Their pii is the other
// person's data under the survivor's key: it is removed from the store after the unmerge commits,
// again by a retried unmerge, and again by the erasure of the restored customer (found through its
// CustomerRestored event), so that a crash between the commit and the removal leaves it to the next.

/** What removing the originals' pii came to: how many lost it now, or that the store cannot change an event. */
export type Redaction = { readonly supported: true; readonly redacted: number } | { readonly supported: false };

export const redactGivenAway = async (store: EventStore, tenant: string, fromId: string, eventIds: readonly string[]): Promise<Redaction> => {
  if (!store.redactPii) return { supported: false };
  if (eventIds.length === 0) return { supported: true, redacted: 0 };
  return { supported: true, redacted: await store.redactPii(tenant, fromId, eventIds) };
};

/** The ids of the events the unmerge `mergeId` gave away, from the survivor's stored CustomerUnmerged (readable: no key). */
export const givenAwayBy = (survivorStream: readonly StoredEvent[], mergeId: string): readonly string[] => {
  const done = survivorStream.find((e) => e.type === 'CustomerUnmerged' && (e.data as { mergeId?: string }).mergeId === mergeId);
  return (done?.data as { reassignedEventIds?: string[] } | undefined)?.reassignedEventIds ?? [];
};

/** The originals a restored customer's copies came from: the survivor's id and their event ids, per CustomerRestored. */
export const adoptedFrom = (restoredStream: readonly StoredEvent[]): { readonly fromId: string; readonly eventIds: readonly string[] }[] =>
  restoredStream
    .filter((e) => e.type === 'CustomerRestored')
    .map((e) => e.data as { fromId: string; adoptedEventIds?: string[] })
    .map((d) => ({ fromId: d.fromId, eventIds: d.adoptedEventIds ?? [] }));
