import { assertNever } from '../shared/errors.js';
import type { MergeEvidence, RecordedEvent } from './customer.events.js';

// The Customer aggregate's fold. It tracks identity only (claim keys, never values), so loading an
// aggregate needs no decryption; facts such as orders and traits only move the version.

export type ClusterIdentifier = {
  readonly type: string;
  readonly key: string;
  readonly observedAt: number;
  /** The customer that holds the claim for this key (claims never move on merge). */
  readonly origin: string;
  /** Set when the identifier came in through a merge, so unmerge knows what to give back. */
  readonly viaMerge?: string | undefined;
};

export type MergeRecord = {
  readonly mergeId: string;
  readonly absorbedId: string;
  readonly absorbedMembers: readonly string[];
  readonly absorbedFirstObservedAt: number;
  readonly keys: readonly string[];
  /** Survivor stream version of the CustomerMerged event. */
  readonly atVersion: number;
  readonly observedAt: number;
  readonly eventId: string;
  /** without the operator's reason: that is personal data, in the CustomerMerged event's encrypted pii */
  readonly evidence: Omit<MergeEvidence, 'reason'>;
};

export type CustomerState = {
  /** 'erased' is terminal: the tombstone is committed and the stream takes no further event */
  readonly status: 'initial' | 'active' | 'merged' | 'erased';
  readonly id: string;
  readonly version: number;
  readonly firstObservedAt: number;
  readonly identifiers: ReadonlyMap<string, ClusterIdentifier>;
  readonly rejections: ReadonlySet<string>;
  readonly mergedInto?: string | undefined;
  /** Every customer absorbed into this one, transitively. */
  readonly members: readonly string[];
  readonly merges: ReadonlyMap<string, MergeRecord>;
  readonly doNotLink: ReadonlySet<string>;
  /** coarse key of the last place recorded on this stream (country|region|city, lower case) */
  readonly lastPlace?: string | undefined;
  /** processing restricted (GDPR art. 18): stored, not used for engagement */
  readonly restricted: boolean;
  /**
   * the customer id the last restriction decision (or its lift) was asked through, when it names
   * one (a customer absorbed into this one: the decision goes back with them on unmerge); undefined
   * when there is none, or it was recorded before requested ids were
   */
  readonly restrictedThrough?: string | undefined;
};

export const placeKey = (p: { readonly country?: string | undefined; readonly region?: string | undefined; readonly city?: string | undefined }): string =>
  [p.country ?? '', p.region ?? '', p.city ?? ''].join('|').toLowerCase();

export const initialState = (id: string): CustomerState => ({
  status: 'initial',
  id,
  version: 0,
  firstObservedAt: Number.POSITIVE_INFINITY,
  identifiers: new Map(),
  rejections: new Set(),
  members: [],
  merges: new Map(),
  doNotLink: new Set(),
  restricted: false,
  restrictedThrough: undefined,
});

export const rejectionKey = (key: string, reason: string): string => `${key}|${reason}`;

export const evolve = (state: CustomerState, recorded: RecordedEvent): CustomerState => {
  const s: CustomerState = { ...state, version: recorded.version };
  const e = recorded.event;
  switch (e.type) {
    case 'CustomerRegistered':
      return { ...s, status: 'active', id: e.data.customerId, firstObservedAt: e.data.firstObservedAt };
    case 'IdentifierLinked': {
      const identifiers = new Map(s.identifiers);
      identifiers.set(e.data.key, { type: e.data.type, key: e.data.key, observedAt: e.data.observedAt, origin: recorded.streamId });
      return { ...s, identifiers };
    }
    case 'IdentifierRejected':
      return { ...s, rejections: new Set(s.rejections).add(rejectionKey(e.data.key, e.data.reason)) };
    case 'IdentifierUnlinked': {
      const identifiers = new Map(s.identifiers);
      identifiers.delete(e.data.key);
      return { ...s, identifiers };
    }
    case 'CustomerMerged': {
      const identifiers = new Map(s.identifiers);
      for (const id of e.data.identifiers) identifiers.set(id.key, { ...id, viaMerge: e.data.mergeId });
      const merges = new Map(s.merges);
      merges.set(e.data.mergeId, {
        mergeId: e.data.mergeId,
        absorbedId: e.data.absorbedId,
        absorbedMembers: e.data.absorbedMembers,
        absorbedFirstObservedAt: e.data.absorbedFirstObservedAt,
        keys: e.data.identifiers.map((i) => i.key),
        atVersion: recorded.version,
        observedAt: recorded.observedAt,
        eventId: recorded.eventId,
        evidence: e.data.evidence,
      });
      const members = [...s.members, e.data.absorbedId, ...e.data.absorbedMembers];
      const doNotLink = new Set([...s.doNotLink, ...e.data.absorbedDoNotLink]);
      // no customer of the cluster is kept apart from it (a forced merge over a do-not-link): the
      // absorbed one's list may name the survivor, and the survivor's the absorbed one
      for (const id of [s.id, ...members]) doNotLink.delete(id);
      return {
        ...s,
        identifiers,
        merges,
        doNotLink,
        members,
        firstObservedAt: Math.min(s.firstObservedAt, e.data.absorbedFirstObservedAt),
      };
    }
    case 'CustomerMergedInto': {
      const doNotLink = new Set(s.doNotLink);
      doNotLink.delete(e.data.survivorId);
      return { ...s, status: 'merged', mergedInto: e.data.survivorId, doNotLink };
    }
    case 'CustomerUnmerged': {
      const merge = s.merges.get(e.data.mergeId);
      const transferred = new Set(e.data.transferredKeys);
      const identifiers = new Map([...s.identifiers].filter(([key, id]) => id.viaMerge !== e.data.mergeId && !transferred.has(key)));
      const leaving = new Set([e.data.absorbedId, ...(merge?.absorbedMembers ?? [])]);
      const merges = new Map(s.merges);
      merges.delete(e.data.mergeId);
      return {
        ...s,
        identifiers,
        merges,
        members: s.members.filter((m) => !leaving.has(m)),
        doNotLink: new Set(s.doNotLink).add(e.data.absorbedId),
        // a restriction decision given back takes its effect with it
        ...(e.data.restriction ? { restricted: e.data.restriction.restricted, restrictedThrough: e.data.restriction.requestedId } : {}),
      };
    }
    case 'CustomerRestored':
      return { ...s, status: 'active', mergedInto: undefined, doNotLink: new Set(s.doNotLink).add(e.data.fromId) };
    case 'LocationObserved':
      return { ...s, lastPlace: placeKey(e.data) };
    // members and mergedInto stay: they say which cluster an erasure covered
    case 'CustomerErased':
      return { ...s, status: 'erased' };
    case 'ProcessingRestricted':
      return { ...s, restricted: true, restrictedThrough: e.data.requestedId };
    case 'ProcessingRestrictionLifted':
      return { ...s, restricted: false, restrictedThrough: e.data.requestedId };
    case 'TraitsUpdated':
    case 'ConsentGranted':
    case 'ConsentWithdrawn':
    case 'InterestExpressed':
    case 'PageViewed':
    case 'ScreenViewed':
    case 'OrderPlaced':
    case 'ProductInteracted':
    case 'EventTracked':
    case 'GroupJoined':
    // decisions are read from the 360 view (caps and suppression span the cluster), not the aggregate
    case 'EngagementDecided':
    // match decisions are read from the match book
    case 'MatchRejected':
      return s;
    default:
      return assertNever(e);
  }
};

export const fold = (id: string, events: Iterable<RecordedEvent>, from: CustomerState = initialState(id)): CustomerState => {
  let state = from;
  for (const e of events) state = evolve(state, e);
  return state;
};

type Draft = { -readonly [K in keyof CustomerState]: CustomerState[K] };

/**
 * The same state as `fold` (equal value, same keys in the same order), folded into one mutable
 * draft instead of a new state per event and a new Map or Set per change: for rebuilds and
 * projections that fold whole streams. `from` is never changed: its Maps, Sets and members are
 * copied the first time an event changes them, and with no events `from` itself comes back.
 */
export const foldInPlace = (id: string, events: Iterable<RecordedEvent>, from: CustomerState = initialState(id)): CustomerState => {
  let d: Draft | undefined;
  let identifiers: Map<string, ClusterIdentifier> | undefined;
  let rejections: Set<string> | undefined;
  let merges: Map<string, MergeRecord> | undefined;
  let doNotLink: Set<string> | undefined;
  let members: string[] | undefined;
  for (const recorded of events) {
    // `{ ...state, version }`: the draft takes the state's keys in its order
    d ??= { ...from };
    d.version = recorded.version;
    const e = recorded.event;
    switch (e.type) {
      case 'CustomerRegistered':
        d.status = 'active';
        d.id = e.data.customerId;
        d.firstObservedAt = e.data.firstObservedAt;
        break;
      case 'IdentifierLinked':
        d.identifiers = identifiers ??= new Map(d.identifiers);
        identifiers.set(e.data.key, { type: e.data.type, key: e.data.key, observedAt: e.data.observedAt, origin: recorded.streamId });
        break;
      case 'IdentifierRejected':
        d.rejections = rejections ??= new Set(d.rejections);
        rejections.add(rejectionKey(e.data.key, e.data.reason));
        break;
      case 'IdentifierUnlinked':
        d.identifiers = identifiers ??= new Map(d.identifiers);
        identifiers.delete(e.data.key);
        break;
      case 'CustomerMerged': {
        d.identifiers = identifiers ??= new Map(d.identifiers);
        for (const i of e.data.identifiers) identifiers.set(i.key, { ...i, viaMerge: e.data.mergeId });
        d.merges = merges ??= new Map(d.merges);
        merges.set(e.data.mergeId, {
          mergeId: e.data.mergeId,
          absorbedId: e.data.absorbedId,
          absorbedMembers: e.data.absorbedMembers,
          absorbedFirstObservedAt: e.data.absorbedFirstObservedAt,
          keys: e.data.identifiers.map((i) => i.key),
          atVersion: recorded.version,
          observedAt: recorded.observedAt,
          eventId: recorded.eventId,
          evidence: e.data.evidence,
        });
        d.doNotLink = doNotLink ??= new Set(d.doNotLink);
        for (const x of e.data.absorbedDoNotLink) doNotLink.add(x);
        d.members = members ??= [...d.members];
        members.push(e.data.absorbedId, ...e.data.absorbedMembers);
        // as evolve: no customer of the cluster is kept apart from it
        doNotLink.delete(d.id);
        for (const id of members) doNotLink.delete(id);
        d.firstObservedAt = Math.min(d.firstObservedAt, e.data.absorbedFirstObservedAt);
        break;
      }
      case 'CustomerMergedInto':
        d.doNotLink = doNotLink ??= new Set(d.doNotLink);
        doNotLink.delete(e.data.survivorId);
        d.status = 'merged';
        d.mergedInto = e.data.survivorId;
        break;
      case 'CustomerUnmerged': {
        const merge = (merges ?? d.merges).get(e.data.mergeId);
        const transferred = new Set(e.data.transferredKeys);
        d.identifiers = identifiers ??= new Map(d.identifiers);
        for (const [key, i] of identifiers) if (i.viaMerge === e.data.mergeId || transferred.has(key)) identifiers.delete(key);
        const leaving = new Set([e.data.absorbedId, ...(merge?.absorbedMembers ?? [])]);
        d.merges = merges ??= new Map(d.merges);
        merges.delete(e.data.mergeId);
        d.members = members = d.members.filter((m) => !leaving.has(m));
        d.doNotLink = doNotLink ??= new Set(d.doNotLink);
        doNotLink.add(e.data.absorbedId);
        if (e.data.restriction) {
          d.restricted = e.data.restriction.restricted;
          d.restrictedThrough = e.data.restriction.requestedId;
        }
        break;
      }
      case 'CustomerRestored':
        d.status = 'active';
        d.mergedInto = undefined;
        d.doNotLink = doNotLink ??= new Set(d.doNotLink);
        doNotLink.add(e.data.fromId);
        break;
      case 'LocationObserved':
        d.lastPlace = placeKey(e.data);
        break;
      case 'CustomerErased':
        d.status = 'erased';
        break;
      case 'ProcessingRestricted':
        d.restricted = true;
        d.restrictedThrough = e.data.requestedId;
        break;
      case 'ProcessingRestrictionLifted':
        d.restricted = false;
        d.restrictedThrough = e.data.requestedId;
        break;
      case 'TraitsUpdated':
      case 'ConsentGranted':
      case 'ConsentWithdrawn':
      case 'InterestExpressed':
      case 'PageViewed':
      case 'ScreenViewed':
      case 'OrderPlaced':
      case 'ProductInteracted':
      case 'EventTracked':
      case 'GroupJoined':
      case 'EngagementDecided':
      case 'MatchRejected':
        break;
      default:
        return assertNever(e);
    }
  }
  return d ?? from;
};

/** Identifiers of `type` that count against its limit at time `at` (all of them when no window). */
export const countWithinWindow = (identifiers: Iterable<ClusterIdentifier>, type: string, at: number, windowMs: number | undefined): number => {
  let n = 0;
  for (const id of identifiers) if (id.type === type && (windowMs === undefined || id.observedAt >= at - windowMs)) n++;
  return n;
};
