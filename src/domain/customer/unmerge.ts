import { DomainError } from '../shared/errors.js';
import type { RecordedEvent } from './customer.events.js';
import type { CustomerState } from './customer.state.js';

// Which of the survivor's later events go back to the absorbed side when a merge is undone:
// an event goes back when the identifiers its call carried touch the absorbed side and not the
// survivor's own; events carrying both sides' identifiers (or neither) stay with the survivor.

export type UnmergePlan = {
  readonly absorbedId: string;
  readonly moved: readonly RecordedEvent[];
  /** keys the survivor linked after the merge through events that now go back */
  readonly transferredKeys: readonly string[];
};

const NEVER_MOVES: ReadonlySet<string> = new Set(['CustomerRegistered', 'CustomerMerged', 'CustomerMergedInto', 'CustomerUnmerged', 'CustomerRestored']);

export const planUnmerge = (survivor: CustomerState, mergeId: string, survivorEvents: readonly RecordedEvent[]): UnmergePlan => {
  const merge = survivor.merges.get(mergeId);
  if (!merge) throw new DomainError('MERGE_NOT_FOUND', `customer ${survivor.id} has no merge ${mergeId}`, ['mergeId']);
  // events an earlier unmerge already gave away belong to that customer now, as do their claims
  const givenAway = new Set(survivorEvents.flatMap((e) => (e.event.type === 'CustomerUnmerged' ? e.event.data.reassignedEventIds : [])));
  const later = survivorEvents.filter((e) => e.version > merge.atVersion && !givenAway.has(e.eventId));
  const linkedLater = new Set(later.flatMap((e) => (e.event.type === 'IdentifierLinked' ? [e.event.data.key] : [])));
  const absorbedSide = new Set(merge.keys);
  const survivorSide = new Set([...survivor.identifiers.values()].filter((i) => i.viaMerge !== mergeId && !linkedLater.has(i.key)).map((i) => i.key));
  const moved: RecordedEvent[] = [];
  const transferred: string[] = [];
  for (const e of later) {
    if (NEVER_MOVES.has(e.event.type)) continue;
    const keys = e.identifierKeys ?? [];
    const goesBack = !keys.some((k) => survivorSide.has(k)) && keys.some((k) => absorbedSide.has(k));
    // only keys new since the merge take the event's side: a key of either side stays there, as
    // its claim does, so later events carrying just that key still follow it
    for (const k of keys) if (!survivorSide.has(k) && !absorbedSide.has(k)) (goesBack ? absorbedSide : survivorSide).add(k);
    if (!goesBack) continue;
    moved.push(e);
    if (e.event.type === 'IdentifierLinked') transferred.push(e.event.data.key);
  }
  return { absorbedId: merge.absorbedId, moved, transferredKeys: transferred };
};
