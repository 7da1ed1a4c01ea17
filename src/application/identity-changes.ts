import type { RecordedEvent } from '../domain/customer/customer.events.js';
import type { IdentityChange } from './ports/identity-feed.port.js';

// What downstream systems hear about identity: merges, unmerges and erasures, derived from
// committed events. A merge writes CustomerMerged (survivor) and CustomerMergedInto (absorbed) in
// one commit, an unmerge CustomerUnmerged and CustomerRestored: only the survivor's event speaks
// for the change, so it is emitted once however the two events are delivered or batched, and its
// event id is the change id (a redelivered event gives the same id: subscribers drop repeats).
// An erasure writes a tombstone on every stream of the cluster: one change per erased customer id.
// Ids, types and times only: no identifier, trait or evidence ever leaves here.

export const identityChangesOf = (tenant: string, events: readonly RecordedEvent[]): IdentityChange[] => {
  const changes: IdentityChange[] = [];
  const seen = new Set<string>();
  for (const r of events) {
    const change = changeOf(tenant, r);
    // a batch may carry the same event twice (at-least-once delivery)
    if (change && !seen.has(change.id)) {
      seen.add(change.id);
      changes.push(change);
    }
  }
  return changes;
};

const changeOf = (tenant: string, r: RecordedEvent): IdentityChange | undefined => {
  const e = r.event;
  const base = { id: r.eventId, tenant, at: r.observedAt } as const;
  switch (e.type) {
    case 'CustomerMerged':
      return { ...base, type: 'merged', survivorId: r.streamId, absorbedId: e.data.absorbedId, mergeId: e.data.mergeId };
    case 'CustomerUnmerged':
      return { ...base, type: 'unmerged', survivorId: r.streamId, restoredId: e.data.absorbedId, mergeId: e.data.mergeId };
    case 'CustomerErased':
      return { ...base, type: 'erased', customerId: r.streamId, erasureId: e.data.erasureId };
    default:
      // CustomerMergedInto and CustomerRestored are the other half of a merge or unmerge above
      return undefined;
  }
};
