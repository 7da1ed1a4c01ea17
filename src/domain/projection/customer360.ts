import type { Channel, CustomerEvent, RecordedEvent } from '../customer/customer.events.js';
import { compareStamps, compareStrings, type LwwStamp } from '../shared/compare.js';
import { assertNever } from '../shared/errors.js';

// The Customer360 read model as a pure fold. Every part of it is order-independent (min/max,
// integer sums, last-writer-wins by a total order, a top-k under a total order), so folding the
// same set of events in any order gives the same view: that is what makes rebuild equal live.
// It stores facts only; scores that depend on "now" are computed at read time (scores.ts).

export const TIMELINE_SIZE = 50;

export type IdentifierFact = { readonly type: string; readonly value?: string | undefined; readonly firstSeenAt: number; readonly lastLinkedAt: number; readonly source: string; readonly eventId: string };
export type TraitFact = LwwStamp & { readonly value: unknown; readonly source: string };
export type ConsentFact = { readonly at: number; readonly answers: readonly ('granted' | 'withdrawn')[]; readonly source: string };
export type Activity = { readonly count: number; readonly firstSeenAt: number; readonly lastSeenAt: number };
export type LocationFact = Activity & { readonly country?: string | undefined; readonly region?: string | undefined; readonly city?: string | undefined };
export type OrderSummary = {
  readonly count: number;
  readonly revenueMinor: Readonly<Record<string, number>>;
  readonly firstOrderAt?: number | undefined;
  readonly lastOrderAt?: number | undefined;
};
export type TimelineEntry = { readonly eventId: string; readonly type: CustomerEvent['type']; readonly observedAt: number; readonly channel: Channel; readonly title: string };

export type Customer360 = {
  readonly customerId: string;
  /** Customers absorbed into this one (their ids answer with a redirect here). */
  readonly aliases: readonly string[];
  readonly firstSeenAt?: number | undefined;
  readonly lastSeenAt?: number | undefined;
  readonly eventCount: number;
  readonly identifiers: Readonly<Record<string, IdentifierFact>>;
  readonly unlinked: Readonly<Record<string, number>>;
  readonly traits: Readonly<Record<string, TraitFact>>;
  readonly consents: Readonly<Record<string, ConsentFact>>;
  readonly interests: Readonly<Record<string, Activity>>;
  readonly locations: Readonly<Record<string, LocationFact>>;
  readonly channels: Readonly<Record<string, Activity>>;
  readonly orders: OrderSummary;
  readonly groups: readonly string[];
  readonly timeline: readonly TimelineEntry[];
};

export const emptyView = (customerId: string): Customer360 => ({
  customerId,
  aliases: [],
  eventCount: 0,
  identifiers: {},
  unlinked: {},
  traits: {},
  consents: {},
  interests: {},
  locations: {},
  channels: {},
  orders: { count: 0, revenueMinor: {} },
  groups: [],
  timeline: [],
});

const min = (a: number | undefined, b: number): number => (a === undefined || b < a ? b : a);
const max = (a: number | undefined, b: number): number => (a === undefined || b > a ? b : a);

const bump = (a: Activity | undefined, at: number): Activity =>
  a ? { count: a.count + 1, firstSeenAt: Math.min(a.firstSeenAt, at), lastSeenAt: Math.max(a.lastSeenAt, at) } : { count: 1, firstSeenAt: at, lastSeenAt: at };

const insertSortedUnique = (list: readonly string[], value: string): readonly string[] =>
  list.includes(value) ? list : [...list, value].sort(compareStrings);

const timelineOrder = (a: TimelineEntry, b: TimelineEntry): number => b.observedAt - a.observedAt || compareStrings(b.eventId, a.eventId);

const addToTimeline = (timeline: readonly TimelineEntry[], entry: TimelineEntry): readonly TimelineEntry[] => {
  let i = 0;
  while (i < timeline.length && timelineOrder(timeline[i]!, entry) < 0) i++;
  if (i >= TIMELINE_SIZE || timeline[i]?.eventId === entry.eventId) return timeline;
  const next = [...timeline.slice(0, i), entry, ...timeline.slice(i)];
  return next.length > TIMELINE_SIZE ? next.slice(0, TIMELINE_SIZE) : next;
};

const money = (minor: number, currency: string): string => `${(minor / 100).toFixed(2)} ${currency}`;

/** A one-line, non-personal title for the timeline. */
export const timelineTitle = (e: CustomerEvent): string | undefined => {
  switch (e.type) {
    case 'PageViewed': return `Viewed page ${e.data.name ?? e.data.path ?? ''}`.trim();
    case 'ScreenViewed': return `Viewed screen ${e.data.name ?? ''}`.trim();
    case 'OrderPlaced': return `Order ${e.data.orderId ?? ''} ${money(e.data.revenueMinor, e.data.currency)}`.replace('  ', ' ');
    case 'ProductInteracted': return `Product ${e.data.action}: ${e.data.product.name ?? e.data.product.productId ?? e.data.product.sku ?? 'unknown'}`;
    case 'EventTracked': return e.data.event;
    case 'InterestExpressed': return `Interested in ${e.data.interest}`;
    case 'LocationObserved': return `Seen in ${[e.data.city, e.data.country].filter(Boolean).join(', ') || 'a new location'}`;
    case 'ConsentGranted': return `Consent granted: ${e.data.purpose}`;
    case 'ConsentWithdrawn': return `Consent withdrawn: ${e.data.purpose}`;
    case 'TraitsUpdated': return `Profile updated: ${e.data.names.join(', ')}`;
    case 'GroupJoined': return `Joined group ${e.data.groupId}`;
    case 'CustomerRegistered': return 'First seen';
    case 'IdentifierLinked': return `Identifier linked: ${e.data.type}`;
    case 'IdentifierRejected':
    case 'IdentifierUnlinked':
    case 'CustomerMerged':
    case 'CustomerMergedInto':
    case 'CustomerUnmerged':
    case 'CustomerRestored':
      return undefined;
    default:
      return assertNever(e);
  }
};

// Merges and unmerges change which events a view folds, never the facts themselves.
const IDENTITY_STRUCTURE: ReadonlySet<CustomerEvent['type']> = new Set(['CustomerMerged', 'CustomerMergedInto', 'CustomerUnmerged', 'CustomerRestored']);

const consentAnswer = (e: CustomerEvent): 'granted' | 'withdrawn' => (e.type === 'ConsentGranted' ? 'granted' : 'withdrawn');

/** Applies one event's facts to a view. Identity-structure events are handled by the projector. */
export const evolveView = (view: Customer360, r: RecordedEvent): Customer360 => {
  const e = r.event;
  if (IDENTITY_STRUCTURE.has(e.type)) return view;
  const at = r.observedAt;
  let v: Customer360 = { ...view, eventCount: view.eventCount + 1, firstSeenAt: min(view.firstSeenAt, at), lastSeenAt: max(view.lastSeenAt, at) };
  const title = timelineTitle(e);
  if (title !== undefined) {
    v = { ...v, timeline: addToTimeline(v.timeline, { eventId: r.eventId, type: e.type, observedAt: at, channel: r.channel, title }) };
  }
  if (e.type !== 'IdentifierRejected') v = { ...v, channels: { ...v.channels, [r.channel]: bump(v.channels[r.channel], at) } };
  switch (e.type) {
    case 'IdentifierLinked': {
      const prev = v.identifiers[e.data.key];
      const candidate: IdentifierFact = { type: e.data.type, value: e.pii?.value, firstSeenAt: at, lastLinkedAt: at, source: r.source, eventId: r.eventId };
      const keepPrev = prev && (prev.firstSeenAt < at || (prev.firstSeenAt === at && prev.eventId <= r.eventId));
      const base = keepPrev ? prev : candidate;
      return { ...v, identifiers: { ...v.identifiers, [e.data.key]: { ...base, lastLinkedAt: Math.max(prev?.lastLinkedAt ?? at, at) } } };
    }
    case 'IdentifierUnlinked':
      return { ...v, unlinked: { ...v.unlinked, [e.data.key]: Math.max(v.unlinked[e.data.key] ?? at, at) } };
    case 'TraitsUpdated': {
      const values = e.pii?.traits;
      if (!values) return v;
      const stamp: LwwStamp = { observedAt: at, sourcePriority: r.sourcePriority, eventId: r.eventId };
      let traits: Record<string, TraitFact> | undefined;
      for (const name of e.data.names) {
        const prev = v.traits[name];
        if (prev && compareStamps(prev, stamp) >= 0) continue;
        traits ??= { ...v.traits };
        traits[name] = { ...stamp, value: values[name] ?? null, source: r.source };
      }
      return traits ? { ...v, traits } : v;
    }
    case 'ConsentGranted':
    case 'ConsentWithdrawn': {
      const prev = v.consents[e.data.purpose];
      const answer = consentAnswer(e);
      let next: ConsentFact;
      if (!prev || at > prev.at) next = { at, answers: [answer], source: r.source };
      else if (at === prev.at && !prev.answers.includes(answer)) next = { at, answers: [...prev.answers, answer].sort(), source: prev.source < r.source ? prev.source : r.source };
      else return v;
      return { ...v, consents: { ...v.consents, [e.data.purpose]: next } };
    }
    case 'InterestExpressed':
      return { ...v, interests: { ...v.interests, [e.data.interest]: bump(v.interests[e.data.interest], at) } };
    case 'ProductInteracted': {
      const cat = e.data.product.category;
      return cat ? { ...v, interests: { ...v.interests, [cat.toLowerCase()]: bump(v.interests[cat.toLowerCase()], at) } } : v;
    }
    case 'LocationObserved': {
      const { country, region, city } = e.data;
      if (!country && !region && !city) return v;
      const key = [country ?? '', region ?? '', city ?? ''].join('|').toLowerCase();
      const prev = v.locations[key];
      return { ...v, locations: { ...v.locations, [key]: { ...bump(prev, at), country, region, city } } };
    }
    case 'OrderPlaced': {
      const o = v.orders;
      const c = e.data.currency;
      return {
        ...v,
        orders: {
          count: o.count + 1,
          revenueMinor: { ...o.revenueMinor, [c]: (o.revenueMinor[c] ?? 0) + e.data.revenueMinor },
          firstOrderAt: min(o.firstOrderAt, at),
          lastOrderAt: max(o.lastOrderAt, at),
        },
      };
    }
    case 'GroupJoined':
      return { ...v, groups: insertSortedUnique(v.groups, e.data.groupId) };
    case 'CustomerRegistered':
    case 'IdentifierRejected':
    case 'PageViewed':
    case 'ScreenViewed':
    case 'EventTracked':
    case 'CustomerMerged':
    case 'CustomerMergedInto':
    case 'CustomerUnmerged':
    case 'CustomerRestored':
      return v;
    default:
      return assertNever(e);
  }
};

/** Which of a cluster's events count for its view: unmerges give some events back to the other side. */
export const excludedEventIds = (events: Iterable<RecordedEvent>): Set<string> => {
  const out = new Set<string>();
  for (const r of events) if (r.event.type === 'CustomerUnmerged') for (const id of r.event.data.reassignedEventIds) out.add(id);
  return out;
};

/** Folds every event of a cluster (survivor plus absorbed members) into one view. */
export const foldCluster = (customerId: string, aliases: readonly string[], events: readonly RecordedEvent[]): Customer360 => {
  const excluded = excludedEventIds(events);
  let view: Customer360 = { ...emptyView(customerId), aliases: [...aliases].sort(compareStrings) };
  for (const r of events) if (!excluded.has(r.eventId)) view = evolveView(view, r);
  return view;
};
