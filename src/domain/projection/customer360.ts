import type { Channel, CustomerEvent, RecordedEvent } from '../customer/customer.events.js';
import { addDecision, joinHistories, type EngagementHistory } from '../engagement/engagement.history.js';
import { compareStamps, compareStrings, type LwwStamp } from '../shared/compare.js';
import { assertNever } from '../shared/errors.js';
import { formatMinorUnits } from '../shared/bounds.js';
import { copyIdRecord, idRecord } from '../shared/id-record.js';

// The Customer360 read model as a pure fold. Every part of it is order-independent (min/max,
// integer sums, last-writer-wins by a total order, a top-k under a total order), so folding the
// same set of events in any order gives the same view: that is what makes rebuild equal live.
// It stores facts only; scores that depend on "now" are computed at read time (scores.ts).

export const TIMELINE_SIZE = 50;

export type IdentifierFact = {
  readonly type: string;
  readonly value?: string | undefined;
  readonly firstSeenAt: number;
  readonly lastLinkedAt: number;
  readonly source: string;
  readonly eventId: string;
};
export type TraitFact = LwwStamp & { readonly value: unknown; readonly source: string };
export type ConsentFact = { readonly at: number; readonly answers: readonly ('granted' | 'withdrawn')[]; readonly source: string };
export type Activity = { readonly count: number; readonly firstSeenAt: number; readonly lastSeenAt: number };
export type LocationFact = Activity & {
  readonly country?: string | undefined;
  readonly region?: string | undefined;
  readonly city?: string | undefined;
  /** the event whose spelling of the place is shown: the latest by (observedAt, eventId) */
  readonly labelEventId: string;
};
/** The order counted for one orderId: the earliest OrderPlaced carrying it, by (observedAt, eventId). */
export type OrderRecord = {
  readonly at: number;
  readonly eventId: string;
  readonly currency: string;
  readonly revenueMinor: number;
  /** how many more OrderPlaced carried this orderId in the cluster: repeats, never counted */
  readonly repeats: number;
};
/**
 * Orders are counted once per orderId across the cluster (a client's retry or a reloaded
 * thank-you page sends the same order again under another messageId): count, revenue,
 * countByCurrency and the first/last order times are those of each orderId's counted order
 * (byId) and of every order sent without an orderId (nothing to tell them apart by).
 */
export type OrderSummary = {
  readonly count: number;
  readonly revenueMinor: Readonly<Record<string, number>>;
  readonly countByCurrency: Readonly<Record<string, number>>;
  readonly firstOrderAt?: number | undefined;
  readonly lastOrderAt?: number | undefined;
  /** the counted order per orderId (came later: absent until the first order, and in views stored before) */
  readonly byId?: Readonly<Record<string, OrderRecord>> | undefined;
  /** OrderPlaced events that repeated an orderId already counted (absent as byId is) */
  readonly repeated?: number | undefined;
  /**
   * the latest order without an orderId; in a view stored before byId, every order it counted is
   * taken as one without (they cannot be told apart), so its lastOrderAt stands for them
   */
  readonly lastUnkeyedAt?: number | undefined;
};
export type TimelineEntry = {
  readonly eventId: string;
  readonly type: CustomerEvent['type'];
  readonly observedAt: number;
  readonly channel: Channel;
  readonly title: string;
};

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
  /** processing restricted (GDPR art. 18): kept, but not used for engagement */
  readonly restricted: boolean;
  /** the restriction decision shown: the latest by (observedAt, eventId) across the cluster */
  readonly restriction?: { readonly at: number; readonly eventId: string } | undefined;
  /** engagement decisions across the cluster; absent until the first one */
  readonly engagement?: EngagementHistory | undefined;
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
  orders: { count: 0, revenueMinor: {}, countByCurrency: {} },
  groups: [],
  timeline: [],
  restricted: false,
});

/** A record's own entry: keys are free text ("constructor", "toString"), never Object.prototype's. */
const hasOwn = Object.prototype.hasOwnProperty;
export const own = <T>(record: Readonly<Record<string, T>>, key: string): T | undefined => (hasOwn.call(record, key) ? record[key] : undefined);

/** Sets an own entry; "__proto__" is a key like any other, never the prototype. */
export const setOwn = <T>(record: Record<string, T>, key: string, value: T): void => {
  if (key === '__proto__') Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
};

const min = (a: number | undefined, b: number): number => (a === undefined || b < a ? b : a);
const max = (a: number | undefined, b: number): number => (a === undefined || b > a ? b : a);

const bump = (a: Activity | undefined, at: number): Activity =>
  a ? { count: a.count + 1, firstSeenAt: Math.min(a.firstSeenAt, at), lastSeenAt: Math.max(a.lastSeenAt, at) } : { count: 1, firstSeenAt: at, lastSeenAt: at };

const insertSortedUnique = (list: readonly string[], value: string): readonly string[] => (list.includes(value) ? list : [...list, value].sort(compareStrings));

/** Newest first; ties by event id. */
export const timelineOrder = (a: TimelineEntry, b: TimelineEntry): number => b.observedAt - a.observedAt || compareStrings(b.eventId, a.eventId);

const addToTimeline = (timeline: readonly TimelineEntry[], entry: TimelineEntry): readonly TimelineEntry[] => {
  let i = 0;
  while (i < timeline.length && timelineOrder(timeline[i]!, entry) < 0) i++;
  if (i >= TIMELINE_SIZE || timeline[i]?.eventId === entry.eventId) return timeline;
  // one copy: the entries that stay (all but the oldest of a full timeline), the new one put in place
  const next = timeline.slice(0, Math.min(timeline.length, TIMELINE_SIZE - 1));
  next.splice(i, 0, entry);
  return next;
};

/** `2.00 USD`, `100 JPY`, `1.500 BHD`: the currency's ISO 4217 digits */
const money = (minor: number, currency: string): string => `${formatMinorUnits(minor, currency)} ${currency}`;

// The titles below are built once per event of every projection and rebuild, and kept in the
// view: each says what `${label} ${x}`.trim() and `Order ${id} ${money}`.replace('  ', ' ') say,
// without the copy trim() and replace() make of every title (test/unit/domain/timeline-title.test.ts).

/** `${label} ${x}`.trim(), for a label without whitespace at either end. */
const labelled = (label: string, x: string): string => {
  const end = x.trimEnd();
  return end === '' ? label : `${label} ${end}`;
};

/** `Order ${id} ${money}`.replace('  ', ' '): the first double space, where there is one, made single. */
const orderTitle = (id: string, amount: string, currency: string): string => {
  // amount is `${formatMinorUnits(minor, currency)} ${currency}`: a double space in the title can only come from the id, its
  // edges, or the currency
  const clean = id !== '' && id[0] !== ' ' && id[id.length - 1] !== ' ' && !id.includes('  ') && currency[0] !== ' ' && !currency.includes('  ');
  return clean ? `Order ${id} ${amount}` : `Order ${id} ${amount}`.replace('  ', ' ');
};

/** A one-line, non-personal title for the timeline. */
export const timelineTitle = (e: CustomerEvent): string | undefined => {
  switch (e.type) {
    case 'PageViewed':
      return labelled('Viewed page', e.data.name ?? e.data.path ?? '');
    case 'ScreenViewed':
      return labelled('Viewed screen', e.data.name ?? '');
    case 'OrderPlaced':
      return orderTitle(e.data.orderId ?? '', money(e.data.revenueMinor, e.data.currency), e.data.currency);
    case 'ProductInteracted':
      return `Product ${e.data.action}: ${e.data.product.name ?? e.data.product.productId ?? e.data.product.sku ?? 'unknown'}`;
    case 'EventTracked':
      return e.data.event;
    case 'InterestExpressed':
      return `Interested in ${e.data.interest}`;
    case 'LocationObserved':
      return `Seen in ${e.data.city && e.data.country ? `${e.data.city}, ${e.data.country}` : e.data.city || e.data.country || 'a new location'}`;
    case 'ConsentGranted':
      return `Consent granted: ${e.data.purpose}`;
    case 'ConsentWithdrawn':
      return `Consent withdrawn: ${e.data.purpose}`;
    case 'TraitsUpdated':
      return `Profile updated: ${e.data.names.join(', ')}`;
    case 'GroupJoined':
      return `Joined group ${e.data.groupId}`;
    case 'CustomerRegistered':
      return 'First seen';
    case 'IdentifierLinked':
      return `Identifier linked: ${e.data.type}`;
    case 'IdentifierRejected':
    case 'IdentifierUnlinked':
    case 'CustomerMerged':
    case 'CustomerMergedInto':
    case 'CustomerUnmerged':
    case 'CustomerRestored':
    case 'CustomerErased':
    case 'ProcessingRestricted':
    case 'ProcessingRestrictionLifted':
    case 'EngagementDecided':
    case 'MatchRejected':
      return undefined;
    default:
      return assertNever(e);
  }
};

/** The only event types whose personal fields the view reads: rebuilds decrypt nothing else. */
export const VIEW_READS_PII: ReadonlySet<CustomerEvent['type']> = new Set(['IdentifierLinked', 'TraitsUpdated']);

// Merges and unmerges change which events a view folds, never the facts themselves.
const IDENTITY_STRUCTURE: ReadonlySet<CustomerEvent['type']> = new Set([
  'CustomerMerged',
  'CustomerMergedInto',
  'CustomerUnmerged',
  'CustomerRestored',
  'CustomerErased',
]);

const laterStamp = (a: { readonly at: number; readonly eventId: string } | undefined, b: { readonly at: number; readonly eventId: string }): boolean =>
  a === undefined || b.at > a.at || (b.at === a.at && b.eventId > a.eventId);

/** Restriction is an operator decision, not activity: it moves no counter, only the flag (LWW). */
const evolveRestriction = (view: Customer360, r: RecordedEvent): Customer360 => {
  const stamp = { at: r.observedAt, eventId: r.eventId };
  if (!laterStamp(view.restriction, stamp)) return view;
  return { ...view, restricted: r.event.type === 'ProcessingRestricted', restriction: stamp };
};

const consentAnswer = (e: CustomerEvent): 'granted' | 'withdrawn' => (e.type === 'ConsentGranted' ? 'granted' : 'withdrawn');

/** An OrderSummary with every key, its records owned by whoever made it (copyOrders): placeOrder and absorbOrders change it in place. */
export type MutableOrders = {
  count: number;
  revenueMinor: Record<string, number>;
  countByCurrency: Record<string, number>;
  firstOrderAt: number | undefined;
  lastOrderAt: number | undefined;
  byId: Record<string, OrderRecord> | undefined;
  repeated: number | undefined;
  lastUnkeyedAt: number | undefined;
};

/** A copy of a record's own keys; spread defines each (an own `__proto__` key included) without a setter. */
const copyRecord = <T>(record: Readonly<Record<string, T>>): Record<string, T> => ({ ...record });

/** what stands for the orders without an orderId: a view stored before byId counted every order so */
const unkeyedLast = (o: OrderSummary): number | undefined => (o.byId === undefined ? o.lastOrderAt : o.lastUnkeyedAt);

/** A copy of an order summary with every key, in this order (evolveView, mergeViews and the builder all make it so). */
export const copyOrders = (o: OrderSummary): MutableOrders => ({
  count: o.count,
  revenueMinor: copyRecord(o.revenueMinor),
  countByCurrency: copyRecord(o.countByCurrency),
  firstOrderAt: o.firstOrderAt,
  lastOrderAt: o.lastOrderAt,
  // keyed by order ids: copied on every order event (copyIdRecord says why not by a spread)
  byId: o.byId === undefined ? undefined : copyIdRecord(o.byId),
  repeated: o.repeated,
  lastUnkeyedAt: o.lastUnkeyedAt,
});

/** byId and its companions, made with the first order folded here (a view stored before them keeps its orders as ones without an orderId) */
const keyed = (o: MutableOrders): Record<string, OrderRecord> => {
  if (o.byId !== undefined) return o.byId;
  o.repeated = 0;
  o.lastUnkeyedAt = o.lastOrderAt;
  return (o.byId = idRecord());
};

/**
 * How many order ids a view keeps to recognise a repeat by: the latest ones by time. A repeat (a
 * retry, a reloaded page) follows its order closely; keeping every id would grow a view by about
 * 140 bytes per order for good, and copy them all on every order event. An order older than the
 * kept ones, sent again, counts as a new order.
 */
export const ORDER_IDS_KEPT = 100;

/** Whether an order at (at, eventId) comes before the one recorded: the earliest by time, ties by event id, is counted. */
const orderBefore = (at: number, eventId: string, r: OrderRecord): boolean => at < r.at || (at === r.at && eventId < r.eventId);

/** n = 1 adds one order of `minor` in `currency`, n = -1 takes one away; a currency left with no order leaves both records. */
const countOrder = (o: MutableOrders, currency: string, minor: number, n: 1 | -1): void => {
  const count = (own(o.countByCurrency, currency) ?? 0) + n;
  if (count <= 0) {
    delete o.revenueMinor[currency];
    delete o.countByCurrency[currency];
    return;
  }
  setOwn(o.revenueMinor, currency, (own(o.revenueMinor, currency) ?? 0) + n * minor);
  setOwn(o.countByCurrency, currency, count);
};

/** Forgets the oldest order ids past ORDER_IDS_KEPT (their orders stay counted; a repeat of one would count again). */
const keepLatestIds = (byId: Record<string, OrderRecord>): void => {
  let ids = Object.keys(byId);
  while (ids.length > ORDER_IDS_KEPT) {
    let oldest = ids[0]!;
    for (const k of ids) if (orderBefore(byId[k]!.at, byId[k]!.eventId, byId[oldest]!)) oldest = k;
    delete byId[oldest];
    ids = ids.length > ORDER_IDS_KEPT + 1 ? Object.keys(byId) : [];
  }
};

/** the latest counted order: after a counted order was replaced by an earlier one */
const latestOrder = (o: MutableOrders, byId: Readonly<Record<string, OrderRecord>>): number | undefined => {
  let last = o.lastUnkeyedAt;
  for (const k of Object.keys(byId)) {
    const at = byId[k]!.at;
    if (last === undefined || at > last) last = at;
  }
  return last;
};

/** Adds one OrderPlaced to `o` in place. Record objects are never changed, only replaced (views share them). */
export const placeOrder = (o: MutableOrders, eventId: string, at: number, orderId: string | undefined, currency: string, minor: number): void => {
  const byId = keyed(o);
  const prev = orderId === undefined ? undefined : own(byId, orderId);
  if (orderId === undefined || prev === undefined) {
    o.count++;
    countOrder(o, currency, minor, 1);
    if (o.firstOrderAt === undefined || at < o.firstOrderAt) o.firstOrderAt = at;
    if (o.lastOrderAt === undefined || at > o.lastOrderAt) o.lastOrderAt = at;
    if (orderId === undefined) {
      if (o.lastUnkeyedAt === undefined || at > o.lastUnkeyedAt) o.lastUnkeyedAt = at;
    } else {
      setOwn(byId, orderId, { at, eventId, currency, revenueMinor: minor, repeats: 0 });
      keepLatestIds(byId);
    }
    return;
  }
  // a repeat of an order already counted
  o.repeated = (o.repeated ?? 0) + 1;
  if (!orderBefore(at, eventId, prev)) {
    setOwn(byId, orderId, { at: prev.at, eventId: prev.eventId, currency: prev.currency, revenueMinor: prev.revenueMinor, repeats: prev.repeats + 1 });
    return;
  }
  // an earlier sending of the order arrived after a later one: it is the one counted
  countOrder(o, prev.currency, prev.revenueMinor, -1);
  countOrder(o, currency, minor, 1);
  setOwn(byId, orderId, { at, eventId, currency, revenueMinor: minor, repeats: prev.repeats + 1 });
  if (o.firstOrderAt === undefined || at < o.firstOrderAt) o.firstOrderAt = at;
  if (o.lastOrderAt === prev.at) o.lastOrderAt = latestOrder(o, byId);
};

/** Joins another cluster's orders into `o` in place (a merge): an orderId both recorded is counted once, the earlier order. */
export const absorbOrders = (o: MutableOrders, p: OrderSummary): void => {
  o.count += p.count;
  for (const k of Object.keys(p.revenueMinor)) setOwn(o.revenueMinor, k, (own(o.revenueMinor, k) ?? 0) + p.revenueMinor[k]!);
  for (const k of Object.keys(p.countByCurrency)) setOwn(o.countByCurrency, k, (own(o.countByCurrency, k) ?? 0) + p.countByCurrency[k]!);
  // with neither side keyed (views without orders, or stored before byId) the summary keeps that shape
  if (o.byId !== undefined || p.byId !== undefined) {
    const pUnkeyed = unkeyedLast(p);
    keyed(o);
    o.repeated = (o.repeated ?? 0) + (p.repeated ?? 0);
    if (pUnkeyed !== undefined && (o.lastUnkeyedAt === undefined || pUnkeyed > o.lastUnkeyedAt)) o.lastUnkeyedAt = pUnkeyed;
  }
  if (p.firstOrderAt !== undefined && (o.firstOrderAt === undefined || p.firstOrderAt < o.firstOrderAt)) o.firstOrderAt = p.firstOrderAt;
  if (p.lastOrderAt !== undefined && (o.lastOrderAt === undefined || p.lastOrderAt > o.lastOrderAt)) o.lastOrderAt = p.lastOrderAt;
  const theirs = p.byId;
  const byId = o.byId;
  if (theirs === undefined || byId === undefined) return;
  let both = false;
  for (const id of Object.keys(theirs)) {
    const y = theirs[id]!;
    const x = own(byId, id);
    if (x === undefined) {
      setOwn(byId, id, y);
      continue;
    }
    // both sides counted this orderId: the earlier stays counted, the other becomes a repeat
    both = true;
    const yFirst = orderBefore(y.at, y.eventId, x);
    const drop = yFirst ? x : y;
    const keep = yFirst ? y : x;
    o.count--;
    o.repeated = (o.repeated ?? 0) + 1;
    countOrder(o, drop.currency, drop.revenueMinor, -1);
    setOwn(byId, id, { at: keep.at, eventId: keep.eventId, currency: keep.currency, revenueMinor: keep.revenueMinor, repeats: x.repeats + y.repeats + 1 });
  }
  if (both) o.lastOrderAt = latestOrder(o, byId);
  keepLatestIds(byId);
};

/** Applies one event's facts to a view. Identity-structure events are handled by the projector. */
export const evolveView = (view: Customer360, r: RecordedEvent): Customer360 => {
  const e = r.event;
  if (IDENTITY_STRUCTURE.has(e.type)) return view;
  if (e.type === 'ProcessingRestricted' || e.type === 'ProcessingRestrictionLifted') return evolveRestriction(view, r);
  // our own decision, not the customer's activity: no counter, channel or timeline moves
  if (e.type === 'EngagementDecided') return { ...view, engagement: addDecision(view.engagement, r) };
  // a match decision belongs to the match book, not the view
  if (e.type === 'MatchRejected') return view;
  const at = r.observedAt;
  // one new object per event: the hot path of every projection and rebuild
  const v = { ...view, eventCount: view.eventCount + 1, firstSeenAt: min(view.firstSeenAt, at), lastSeenAt: max(view.lastSeenAt, at) } as {
    -readonly [K in keyof Customer360]: Customer360[K];
  };
  const title = timelineTitle(e);
  if (title !== undefined) v.timeline = addToTimeline(v.timeline, { eventId: r.eventId, type: e.type, observedAt: at, channel: r.channel, title });
  if (e.type !== 'IdentifierRejected') v.channels = { ...v.channels, [r.channel]: bump(own(v.channels, r.channel), at) };
  switch (e.type) {
    case 'IdentifierLinked': {
      const prev = own(v.identifiers, e.data.key);
      const candidate: IdentifierFact = { type: e.data.type, value: e.pii?.value, firstSeenAt: at, lastLinkedAt: at, source: r.source, eventId: r.eventId };
      const keepPrev = prev && (prev.firstSeenAt < at || (prev.firstSeenAt === at && prev.eventId <= r.eventId));
      const base = keepPrev ? prev : candidate;
      // keyed by identifier keys, which no other customer has (copyIdRecord: why not a spread)
      const identifiers = copyIdRecord(v.identifiers);
      setOwn(identifiers, e.data.key, { ...base, lastLinkedAt: Math.max(prev?.lastLinkedAt ?? at, at) });
      v.identifiers = identifiers;
      return v;
    }
    case 'IdentifierUnlinked': {
      const unlinked = copyIdRecord(v.unlinked);
      setOwn(unlinked, e.data.key, Math.max(own(v.unlinked, e.data.key) ?? at, at));
      v.unlinked = unlinked;
      return v;
    }
    case 'TraitsUpdated': {
      const values = e.pii?.traits;
      if (!values) return v;
      const stamp: LwwStamp = { observedAt: at, sourcePriority: r.sourcePriority, eventId: r.eventId };
      let traits: Record<string, TraitFact> | undefined;
      for (const name of e.data.names) {
        const prev = own(v.traits, name);
        if (prev && compareStamps(prev, stamp) >= 0) continue;
        traits ??= { ...v.traits };
        setOwn(traits, name, { ...stamp, value: own(values, name) ?? null, source: r.source });
      }
      if (traits) v.traits = traits;
      return v;
    }
    case 'ConsentGranted':
    case 'ConsentWithdrawn': {
      const prev = own(v.consents, e.data.purpose);
      const answer = consentAnswer(e);
      let next: ConsentFact;
      if (!prev || at > prev.at) next = { at, answers: [answer], source: r.source };
      else if (at === prev.at && (!prev.answers.includes(answer) || r.source < prev.source)) {
        // equal times: keep every answer (differing answers mean "not granted") and the smallest source
        const answers = prev.answers.includes(answer) ? prev.answers : [...prev.answers, answer].sort();
        next = { at, answers, source: prev.source < r.source ? prev.source : r.source };
      } else return v;
      v.consents = { ...v.consents, [e.data.purpose]: next };
      return v;
    }
    case 'InterestExpressed':
      v.interests = { ...v.interests, [e.data.interest]: bump(own(v.interests, e.data.interest), at) };
      return v;
    case 'ProductInteracted': {
      const cat = e.data.product.category?.toLowerCase();
      if (cat) v.interests = { ...v.interests, [cat]: bump(own(v.interests, cat), at) };
      return v;
    }
    case 'LocationObserved': {
      const { country, region, city } = e.data;
      if (!country && !region && !city) return v;
      const key = [country ?? '', region ?? '', city ?? ''].join('|').toLowerCase();
      const prev = own(v.locations, key);
      const relabel = !prev || at > prev.lastSeenAt || (at === prev.lastSeenAt && r.eventId > prev.labelEventId);
      const label = relabel
        ? { country, region, city, labelEventId: r.eventId }
        : { country: prev.country, region: prev.region, city: prev.city, labelEventId: prev.labelEventId };
      v.locations = { ...v.locations, [key]: { ...bump(prev, at), ...label } };
      return v;
    }
    case 'OrderPlaced': {
      const o = copyOrders(v.orders);
      placeOrder(o, r.eventId, at, e.data.orderId, e.data.currency, e.data.revenueMinor);
      v.orders = o;
      return v;
    }
    case 'GroupJoined':
      v.groups = insertSortedUnique(v.groups, e.data.groupId);
      return v;
    case 'CustomerRegistered':
    case 'IdentifierRejected':
    case 'PageViewed':
    case 'ScreenViewed':
    case 'EventTracked':
    case 'CustomerMerged':
    case 'CustomerMergedInto':
    case 'CustomerUnmerged':
    case 'CustomerRestored':
    case 'CustomerErased':
      return v;
    default:
      return assertNever(e);
  }
};

/** Joins records key by key: `pick` decides for keys both sides hold. */
const joinRecords = <T>(a: Readonly<Record<string, T>>, b: Readonly<Record<string, T>>, pick: (x: T, y: T) => T): Record<string, T> => {
  const out: Record<string, T> = { ...a };
  for (const [k, y] of Object.entries(b)) {
    const x = own(out, k);
    setOwn(out, k, x === undefined ? y : pick(x, y));
  }
  return out;
};
const joinActivity = (x: Activity, y: Activity): Activity => ({
  count: x.count + y.count,
  firstSeenAt: Math.min(x.firstSeenAt, y.firstSeenAt),
  lastSeenAt: Math.max(x.lastSeenAt, y.lastSeenAt),
});
const mergeTimelines = (a: readonly TimelineEntry[], b: readonly TimelineEntry[]): readonly TimelineEntry[] => {
  const out: TimelineEntry[] = [];
  let i = 0;
  let j = 0;
  while (out.length < TIMELINE_SIZE && (i < a.length || j < b.length)) {
    const next = j >= b.length || (i < a.length && timelineOrder(a[i]!, b[j]!) <= 0) ? a[i++]! : b[j++]!;
    if (out.at(-1)?.eventId !== next.eventId) out.push(next);
  }
  return out;
};

/**
 * The view of two disjoint sets of events, from their two views: equal to folding the union,
 * because every part of the fold is a join (sum, min/max, last-writer-wins, top-k). A merge uses
 * it instead of folding the absorbed customer's history again.
 */
export const mergeViews = (survivor: Customer360, absorbed: Customer360): Customer360 => ({
  customerId: survivor.customerId,
  aliases: [...new Set([...survivor.aliases, absorbed.customerId, ...absorbed.aliases])].sort(compareStrings),
  firstSeenAt: absorbed.firstSeenAt === undefined ? survivor.firstSeenAt : min(survivor.firstSeenAt, absorbed.firstSeenAt),
  lastSeenAt: absorbed.lastSeenAt === undefined ? survivor.lastSeenAt : max(survivor.lastSeenAt, absorbed.lastSeenAt),
  eventCount: survivor.eventCount + absorbed.eventCount,
  identifiers: joinRecords(survivor.identifiers, absorbed.identifiers, (x, y) => {
    const base = x.firstSeenAt < y.firstSeenAt || (x.firstSeenAt === y.firstSeenAt && x.eventId <= y.eventId) ? x : y;
    return { ...base, lastLinkedAt: Math.max(x.lastLinkedAt, y.lastLinkedAt) };
  }),
  unlinked: joinRecords(survivor.unlinked, absorbed.unlinked, Math.max),
  traits: joinRecords(survivor.traits, absorbed.traits, (x, y) => (compareStamps(x, y) >= 0 ? x : y)),
  consents: joinRecords(survivor.consents, absorbed.consents, (x, y) => {
    if (x.at !== y.at) return x.at > y.at ? x : y;
    return { at: x.at, answers: [...new Set([...x.answers, ...y.answers])].sort(), source: x.source < y.source ? x.source : y.source };
  }),
  interests: joinRecords(survivor.interests, absorbed.interests, joinActivity),
  locations: joinRecords(survivor.locations, absorbed.locations, (x, y) => {
    const label = x.lastSeenAt > y.lastSeenAt || (x.lastSeenAt === y.lastSeenAt && x.labelEventId > y.labelEventId) ? x : y;
    return { ...joinActivity(x, y), country: label.country, region: label.region, city: label.city, labelEventId: label.labelEventId };
  }),
  channels: joinRecords(survivor.channels, absorbed.channels, joinActivity),
  orders: joinedOrders(survivor.orders, absorbed.orders),
  groups: [...new Set([...survivor.groups, ...absorbed.groups])].sort(compareStrings),
  timeline: mergeTimelines(survivor.timeline, absorbed.timeline),
  ...joinedRestriction(survivor, absorbed),
  ...joinedEngagement(survivor, absorbed),
});

/** mergeViews' orders: a new summary, every key spelled out (copyOrders), an orderId both sides counted counted once. */
const joinedOrders = (a: OrderSummary, b: OrderSummary): OrderSummary => {
  const o = copyOrders(a);
  absorbOrders(o, b);
  return o;
};

/** mergeViews' engagement part: absent unless either side has one. */
export const joinedEngagement = (a: Customer360, b: Customer360): Pick<Customer360, 'engagement'> => {
  const joined = joinHistories(a.engagement, b.engagement);
  return joined === undefined ? {} : { engagement: joined };
};

/** mergeViews' restriction part: the later decision of the two, by (observedAt, eventId). */
export const joinedRestriction = (a: Customer360, b: Customer360): Pick<Customer360, 'restricted' | 'restriction'> => {
  const pick = b.restriction && laterStamp(a.restriction, b.restriction) ? b : a;
  return pick.restriction ? { restricted: pick.restricted, restriction: pick.restriction } : { restricted: false };
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
