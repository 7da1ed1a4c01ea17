import { DomainError } from '../shared/errors.js';
import type { RecordedEvent } from './customer.events.js';
import type { CustomerState } from './customer.state.js';

// Which of the survivor's later events go back to the absorbed side when a merge is undone:
// - a decision requested through a customer id (an operator's consent, a restriction or its lift)
//   goes back when that id is the absorbed customer or one it had absorbed before (a chain of
//   merges): it is that person's decision. One requested through the survivor's id, or through a
//   customer absorbed by another merge, stays;
// - an engagement decision follows the call that triggered it;
// - any other event goes back when the identifiers its call carried touch the absorbed side and
//   not the survivor's own; events carrying both sides' identifiers (or neither) stay.

export type UnmergePlan = {
  readonly absorbedId: string;
  readonly moved: readonly RecordedEvent[];
  /** keys the survivor linked after the merge through events that now go back */
  readonly transferredKeys: readonly string[];
  /**
   * the survivor's restriction of processing once the moved events are gone (that of the last
   * restriction decision it keeps, in stream order, and the id it was asked through), when a
   * restriction decision is among them; else undefined
   */
  readonly restriction?: { readonly restricted: boolean; readonly requestedId?: string | undefined } | undefined;
};

const NEVER_MOVES: ReadonlySet<string> = new Set(['CustomerRegistered', 'CustomerMerged', 'CustomerMergedInto', 'CustomerUnmerged', 'CustomerRestored']);

/** The customer id an operator's decision was requested through, when the event records one. */
export const requestedIdOf = (e: RecordedEvent['event']): string | undefined => {
  switch (e.type) {
    case 'ConsentGranted':
    case 'ConsentWithdrawn':
    case 'ProcessingRestricted':
    case 'ProcessingRestrictionLifted':
      return e.data.requestedId;
    default:
      return undefined;
  }
};

const isRestriction = (e: RecordedEvent): boolean => e.event.type === 'ProcessingRestricted' || e.event.type === 'ProcessingRestrictionLifted';

export const planUnmerge = (survivor: CustomerState, mergeId: string, survivorEvents: readonly RecordedEvent[]): UnmergePlan => {
  const merge = survivor.merges.get(mergeId);
  if (!merge) {
    // a merge this customer held and gave up: undone already (a retry of that unmerge with its
    // operationId is answered before this, from the idempotency record), not unknown
    const undone = survivorEvents.find((e) => e.event.type === 'CustomerUnmerged' && e.event.data.mergeId === mergeId);
    if (undone?.event.type === 'CustomerUnmerged') {
      const at = new Date(undone.observedAt).toISOString();
      const restoredId = undone.event.data.absorbedId;
      throw new DomainError(
        'MERGE_NOT_UNDOABLE',
        `merge ${mergeId} of customer ${survivor.id} was already undone at ${at}: customer ${restoredId} is separate again`,
        ['mergeId'],
        { restoredId, undoneAt: at },
      );
    }
    throw new DomainError('MERGE_NOT_FOUND', `customer ${survivor.id} has no merge ${mergeId}`, ['mergeId']);
  }
  // events an earlier unmerge already gave away belong to that customer now, as do their claims
  const givenAway = new Set(survivorEvents.flatMap((e) => (e.event.type === 'CustomerUnmerged' ? e.event.data.reassignedEventIds : [])));
  const later = survivorEvents.filter((e) => e.version > merge.atVersion && !givenAway.has(e.eventId));
  const linkedLater = new Set(later.flatMap((e) => (e.event.type === 'IdentifierLinked' ? [e.event.data.key] : [])));
  const absorbedSide = new Set(merge.keys);
  const survivorSide = new Set([...survivor.identifiers.values()].filter((i) => i.viaMerge !== mergeId && !linkedLater.has(i.key)).map((i) => i.key));
  // the customers the merge brought in: the absorbed one and those it had absorbed itself
  const absorbedCustomers = new Set([merge.absorbedId, ...merge.absorbedMembers]);
  const moved: RecordedEvent[] = [];
  const movedIds = new Set<string>();
  const transferred: string[] = [];
  for (const e of later) {
    if (NEVER_MOVES.has(e.event.type)) continue;
    const requestedId = requestedIdOf(e.event);
    let goesBack: boolean;
    if (requestedId !== undefined) goesBack = absorbedCustomers.has(requestedId);
    else if (e.event.type === 'EngagementDecided') goesBack = movedIds.has(e.event.data.triggerEventId);
    else {
      const keys = e.identifierKeys ?? [];
      goesBack = !keys.some((k) => survivorSide.has(k)) && keys.some((k) => absorbedSide.has(k));
      // only keys new since the merge take the event's side: a key of either side stays there, as
      // its claim does, so later events carrying just that key still follow it
      for (const k of keys) if (!survivorSide.has(k) && !absorbedSide.has(k)) (goesBack ? absorbedSide : survivorSide).add(k);
    }
    if (!goesBack) continue;
    moved.push(e);
    movedIds.add(e.eventId);
    if (e.event.type === 'IdentifierLinked') transferred.push(e.event.data.key);
  }
  if (!moved.some(isRestriction)) return { absorbedId: merge.absorbedId, moved, transferredKeys: transferred };
  // the survivor's own flag folds its stream: what it holds without the events that leave it
  const kept = survivorEvents.filter((e) => isRestriction(e) && !givenAway.has(e.eventId) && !movedIds.has(e.eventId)).at(-1);
  const restriction = { restricted: kept?.event.type === 'ProcessingRestricted', requestedId: kept && requestedIdOf(kept.event) };
  return { absorbedId: merge.absorbedId, moved, transferredKeys: transferred, restriction };
};

/** One merge to undo, on the customer that holds it. */
export type MergeStep = { readonly mergeId: string; readonly survivorId: string };

/**
 * A merge held inside a cluster rather than by its survivor: customer `holderId` absorbed
 * `absorbedId` by it, and was itself absorbed later (directly or through others). The survivor
 * holds only its own merges and the holder's stream no longer takes events, so that merge cannot
 * be undone where it is: the merges in `undoFirst` (outermost first, each on the customer holding
 * it) separate the holder again, after which the holder undoes it.
 */
export type NestedMerge = {
  readonly mergeId: string;
  readonly holderId: string;
  readonly absorbedId: string;
  readonly undoFirst: readonly MergeStep[];
};

/**
 * Where merge `mergeId` sits inside the cluster of `survivor`, when one of its members (not the
 * survivor) holds it; undefined when none does. `members`: the states of the survivor's members
 * (those missing are skipped).
 */
export const nestedMerge = (mergeId: string, survivor: CustomerState, members: ReadonlyMap<string, CustomerState>): NestedMerge | undefined => {
  const holder = survivor.members.map((id) => members.get(id)).find((m) => m?.merges.has(mergeId));
  if (!holder) return undefined;
  const stateOf = (id: string) => (id === survivor.id ? survivor : members.get(id));
  const steps: MergeStep[] = [];
  // up the merged-into pointers: each step is the merge that absorbed the customer below it
  for (let at = holder; at.id !== survivor.id; ) {
    const parent = at.mergedInto === undefined ? undefined : stateOf(at.mergedInto);
    const merge = parent && [...parent.merges.values()].find((m) => m.absorbedId === at.id);
    if (!parent || !merge || steps.length > survivor.members.length) break;
    steps.push({ mergeId: merge.mergeId, survivorId: parent.id });
    at = parent;
  }
  return { mergeId, holderId: holder.id, absorbedId: holder.merges.get(mergeId)!.absorbedId, undoFirst: steps.reverse() };
};

/** The answer to an unmerge of a nested merge: which merges to undo first, and where to send this one then. */
export const nestedMergeError = (n: NestedMerge): DomainError => {
  const first = n.undoFirst.map((s) => `merge ${s.mergeId} on customer ${s.survivorId}`).join(', then ');
  const outer = n.undoFirst[0];
  return new DomainError(
    'MERGE_NOT_UNDOABLE',
    `merge ${n.mergeId} is nested: customer ${n.holderId} holds it (it absorbed ${n.absorbedId}) and was itself merged into this cluster, so it cannot be undone from here. Undo ${first} first (POST /v1/customers/${outer?.survivorId ?? n.holderId}/unmerge), then send this one to customer ${n.holderId}; merging them again afterwards needs force (the unmerge marks them do-not-link)`,
    ['mergeId'],
    { holderId: n.holderId, absorbedId: n.absorbedId, undoFirst: n.undoFirst },
  );
};
