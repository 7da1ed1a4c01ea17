import { CUSTOMER_EVENT_TYPES, type CustomerEvent, type EventMeta, type RecordedEvent } from '../customer/customer.events.js';
import { compareStamps, compareStrings, type LwwStamp } from '../shared/compare.js';
import {
  absorbOrders,
  copyOrders,
  emptyView,
  evolveView,
  own,
  setOwn,
  joinedEngagement,
  joinedRestriction,
  placeOrder,
  TIMELINE_SIZE,
  timelineTitle,
  type Activity,
  type ConsentFact,
  type Customer360,
  type IdentifierFact,
  type LocationFact,
  type MutableOrders,
  type TimelineEntry,
  type TraitFact,
} from './customer360.js';

// evolveView makes a new view per event and copies every record it touches: right for one event,
// wasteful for a rebuild folding a whole log. The builder folds in place into the records of the
// view it will make, so adding an event allocates little beyond what the view keeps (a timeline
// entry, a new identifier, trait or consent fact), and making the view copies nothing but the
// timeline. A view once made is never changed: the next event that touches one of its records
// copies that record first (copy on write). It gives exactly what evolveView gives for the same
// events, and absorb exactly what mergeViews gives for two views, key for key and in the same key
// order (test/laws/view-builder.laws.test.ts holds it to that), for views as evolveView and
// mergeViews make them. Identity structure (merges, unmerges, erasure) is the caller's: the
// builder refuses those events.

/** The event types the builder folds: every type but the identity structure the projector handles. */
/** identity structure: merges, unmerges and erasure are the projector's to apply, never the builder's */
const STRUCTURE: ReadonlySet<CustomerEvent['type']> = new Set([
  'CustomerMerged',
  'CustomerMergedInto',
  'CustomerUnmerged',
  'CustomerRestored',
  'CustomerErased',
]);
export const BUILDER_TYPES: ReadonlySet<string> = new Set(CUSTOMER_EVENT_TYPES.filter((t) => !STRUCTURE.has(t)));

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Act = Mutable<Activity>;
type Loc = Mutable<LocationFact>;
type Ident = Mutable<IdentifierFact>;

// Which records the builder owns (may change in place); the others are shared with a view made.
const IDENTIFIERS = 1;
const UNLINKED = 2;
const TRAITS = 4;
const CONSENTS = 8;
const INTERESTS = 16;
const LOCATIONS = 32;
const CHANNELS = 64;
const ORDERS = 128;
const GROUPS = 256;

// The literals below are the shapes evolveView and mergeViews make, key for key.
const actOf = (a: Activity): Act => ({ count: a.count, firstSeenAt: a.firstSeenAt, lastSeenAt: a.lastSeenAt });
const locOf = (l: LocationFact): Loc => ({
  count: l.count,
  firstSeenAt: l.firstSeenAt,
  lastSeenAt: l.lastSeenAt,
  country: l.country,
  region: l.region,
  city: l.city,
  labelEventId: l.labelEventId,
});
const identOf = (i: IdentifierFact): Ident => ({
  type: i.type,
  value: i.value,
  firstSeenAt: i.firstSeenAt,
  lastLinkedAt: i.lastLinkedAt,
  source: i.source,
  eventId: i.eventId,
});

/** A copy of a record, key for key in its order, each value copied by `copy`. */
const copyOf = <T, U>(record: Readonly<Record<string, T>>, copy: (x: T) => U): Record<string, U> => {
  const out: Record<string, U> = {};
  for (const k of Object.keys(record)) setOwn(out, k, copy(record[k]!));
  return out;
};

const bump = (m: Record<string, Act>, key: string, at: number): void => {
  const a = own(m, key);
  if (a === undefined) setOwn(m, key, { count: 1, firstSeenAt: at, lastSeenAt: at });
  else {
    a.count++;
    if (at < a.firstSeenAt) a.firstSeenAt = at;
    if (at > a.lastSeenAt) a.lastSeenAt = at;
  }
};

/** Joins `from` into `into` key by key (mergeViews' joinRecords, in place): `pick` decides for keys both hold. */
const joinInto = <T>(into: Record<string, T>, from: Readonly<Record<string, T>>, take: (y: T) => T, pick: (x: T, y: T) => T): void => {
  for (const k of Object.keys(from)) {
    const x = own(into, k);
    const y = from[k]!;
    setOwn(into, k, x === undefined ? take(y) : pick(x, y));
  }
};
/** x joined with y, in x (which the builder owns) */
const joinAct = (x: Act, y: Activity): Act => {
  x.count += y.count;
  if (y.firstSeenAt < x.firstSeenAt) x.firstSeenAt = y.firstSeenAt;
  if (y.lastSeenAt > x.lastSeenAt) x.lastSeenAt = y.lastSeenAt;
  return x;
};
const same = <T>(x: T): T => x;
const minOf = (a: number | undefined, b: number | undefined): number | undefined => (b === undefined || (a !== undefined && a <= b) ? a : b);
const maxOf = (a: number | undefined, b: number | undefined): number | undefined => (b === undefined || (a !== undefined && a >= b) ? a : b);

/** A RecordedEvent of an envelope and an event, field by field (an envelope may be a stored event with more). */
const recordedOf = (m: EventMeta, event: CustomerEvent): RecordedEvent => ({
  eventId: m.eventId,
  streamId: m.streamId,
  version: m.version,
  observedAt: m.observedAt,
  source: m.source,
  sourcePriority: m.sourcePriority,
  channel: m.channel,
  messageId: m.messageId,
  identifierKeys: m.identifierKeys,
  event,
});

/** Newest first, ties by event id (timelineOrder), for anything stamped like a timeline entry. */
const newer = (a: { readonly observedAt: number; readonly eventId: string }, b: { readonly observedAt: number; readonly eventId: string }): boolean =>
  a.observedAt > b.observedAt || (a.observedAt === b.observedAt && a.eventId > b.eventId);

export class Customer360Builder {
  /**
   * The view's key order and the parts the builder does not fold itself (customer id, aliases,
   * restriction, engagement), current; its activity parts are stale and replaced in build().
   */
  private shape: Customer360;
  /** whether shape has firstSeenAt and lastSeenAt (evolveView adds them with the first activity) */
  private seen: boolean;
  private made: Customer360 | undefined;
  /** the records the builder may change in place (bits above); the others belong to a view */
  private owned = 0;
  private eventCount: number;
  private firstSeenAt: number | undefined;
  private lastSeenAt: number | undefined;
  /** oldest first (the view's order reversed): a rebuild's next entry is usually the newest, a push */
  private readonly timeline: TimelineEntry[];
  // The bisection (reached only by out-of-order entries) reads the entries' own times: a second
  // array of them per customer, grown and shifted with every timeline, was 4% of what a rebuild
  // allocates, and reading numbers side by side saved no CPU that could be measured.
  /** the newest entry's stamp (the timeline's last), so the usual case reads no entry */
  private newestAt = 0;
  private newestId = '';
  private identifiers: Record<string, Ident>;
  private unlinked: Record<string, number>;
  private traits: Record<string, TraitFact>;
  private consents: Record<string, ConsentFact>;
  private interests: Record<string, Act>;
  private locations: Record<string, Loc>;
  private channels: Record<string, Act>;
  /** the view's own until the first order (an empty view's has no first/last keys; evolveView's has) */
  private orders: MutableOrders;
  private groups: string[];

  constructor(from: Customer360) {
    this.shape = from;
    this.seen = 'firstSeenAt' in from && 'lastSeenAt' in from;
    this.made = from;
    this.eventCount = from.eventCount;
    this.firstSeenAt = from.firstSeenAt;
    this.lastSeenAt = from.lastSeenAt;
    this.timeline = [];
    for (let i = from.timeline.length - 1; i >= 0; i--) this.timeline.push(from.timeline[i]!);
    this.noteTimeline();
    // shared with `from` until written (the casts: owned says when they may be)
    this.identifiers = from.identifiers as Record<string, Ident>;
    this.unlinked = from.unlinked as Record<string, number>;
    this.traits = from.traits as Record<string, TraitFact>;
    this.consents = from.consents as Record<string, ConsentFact>;
    this.interests = from.interests as Record<string, Act>;
    this.locations = from.locations as Record<string, Loc>;
    this.channels = from.channels as Record<string, Act>;
    this.orders = from.orders as MutableOrders;
    this.groups = from.groups as string[];
  }

  /** A builder from emptyView(customerId) that owns its records from the start: nothing to copy on first write. */
  static empty(customerId: string): Customer360Builder {
    // the records of a view made here and handed to nobody: the builder may change them in place
    // (not the orders: an empty view's have no first/last keys, and an order writes evolveView's literal)
    const b = new Customer360Builder(emptyView(customerId));
    b.made = undefined;
    b.owned = IDENTIFIERS | UNLINKED | TRAITS | CONSENTS | INTERESTS | LOCATIONS | CHANNELS | GROUPS;
    return b;
  }

  get customerId(): string {
    return this.shape.customerId;
  }

  /** Same as `view = evolveView(view, r)`, for a type in BUILDER_TYPES. */
  add(r: RecordedEvent): void {
    this.addEvent(r, r.event);
  }

  /**
   * add, for an event and its envelope apart (a rebuild has the stored event's envelope and need
   * not make a RecordedEvent of every event). Keeps nothing of `r` but its values.
   */
  addEvent(r: EventMeta, e: CustomerEvent): void {
    const at = r.observedAt;
    switch (e.type) {
      // not activity: no counter, channel or timeline moves; evolveView on the shape is exact,
      // since it reads and writes only the parts the shape keeps current
      case 'ProcessingRestricted':
      case 'ProcessingRestrictionLifted':
      case 'EngagementDecided':
      case 'MatchRejected':
        this.shape = evolveView(this.shape, recordedOf(r, e));
        this.made = undefined;
        return;
      case 'IdentifierLinked': {
        this.activity(r, e, true);
        this.write(IDENTIFIERS);
        const prev = own(this.identifiers, e.data.key);
        if (prev === undefined) {
          setOwn(this.identifiers, e.data.key, {
            type: e.data.type,
            value: e.pii?.value,
            firstSeenAt: at,
            lastLinkedAt: at,
            source: r.source,
            eventId: r.eventId,
          });
          return;
        }
        const keepPrev = prev.firstSeenAt < at || (prev.firstSeenAt === at && prev.eventId <= r.eventId);
        if (!keepPrev) {
          prev.type = e.data.type;
          prev.value = e.pii?.value;
          prev.firstSeenAt = at;
          prev.source = r.source;
          prev.eventId = r.eventId;
        }
        if (at > prev.lastLinkedAt) prev.lastLinkedAt = at;
        return;
      }
      case 'IdentifierRejected':
        // activity (counted, on the timeline when it has a title) but no channel
        this.activity(r, e, false);
        return;
      case 'IdentifierUnlinked': {
        this.activity(r, e, true);
        const last = own(this.unlinked, e.data.key);
        if (last !== undefined && at <= last) return;
        this.write(UNLINKED);
        setOwn(this.unlinked, e.data.key, at);
        return;
      }
      case 'TraitsUpdated': {
        this.activity(r, e, true);
        const values = e.pii?.traits;
        if (!values) return;
        const stamp: LwwStamp = { observedAt: at, sourcePriority: r.sourcePriority, eventId: r.eventId };
        for (const name of e.data.names) {
          const prev = own(this.traits, name);
          if (prev && compareStamps(prev, stamp) >= 0) continue;
          // spelled out, in the key order of evolveView's `{ ...stamp, value, source }`
          const fact: TraitFact = { observedAt: at, sourcePriority: r.sourcePriority, eventId: r.eventId, value: own(values, name) ?? null, source: r.source };
          this.write(TRAITS);
          setOwn(this.traits, name, fact);
        }
        return;
      }
      case 'ConsentGranted':
      case 'ConsentWithdrawn':
        this.activity(r, e, true);
        this.addConsent(e.data.purpose, e.type === 'ConsentGranted' ? 'granted' : 'withdrawn', at, r.source);
        return;
      case 'InterestExpressed':
        this.activity(r, e, true);
        this.write(INTERESTS);
        bump(this.interests, e.data.interest, at);
        return;
      case 'ProductInteracted': {
        this.activity(r, e, true);
        const cat = e.data.product.category?.toLowerCase();
        if (!cat) return;
        this.write(INTERESTS);
        bump(this.interests, cat, at);
        return;
      }
      case 'LocationObserved':
        this.activity(r, e, true);
        this.addLocation(e.data.country, e.data.region, e.data.city, at, r.eventId);
        return;
      case 'OrderPlaced': {
        this.activity(r, e, true);
        this.write(ORDERS);
        placeOrder(this.orders, r.eventId, at, e.data.orderId, e.data.currency, e.data.revenueMinor);
        return;
      }
      case 'GroupJoined':
        this.activity(r, e, true);
        this.addGroup(e.data.groupId);
        return;
      case 'CustomerRegistered':
      case 'PageViewed':
      case 'ScreenViewed':
      case 'EventTracked':
        this.activity(r, e, true);
        return;
      default:
        throw new Error(`Customer360Builder does not fold ${e.type}; the projector does`);
    }
  }

  /** Same as `view = mergeViews(view, other's view)`: this builder's customer absorbs the other's. The other is not changed. */
  absorb(other: Customer360Builder): void {
    const a = this.shape;
    const b = other.shape;
    // mergeViews' keys, in its order; the activity parts are placeholders until build()
    this.shape = {
      customerId: a.customerId,
      aliases: [...new Set([...a.aliases, b.customerId, ...b.aliases])].sort(compareStrings),
      firstSeenAt: undefined,
      lastSeenAt: undefined,
      eventCount: 0,
      identifiers: a.identifiers,
      unlinked: a.unlinked,
      traits: a.traits,
      consents: a.consents,
      interests: a.interests,
      locations: a.locations,
      channels: a.channels,
      orders: a.orders,
      groups: a.groups,
      timeline: a.timeline,
      ...joinedRestriction(a, b),
      ...joinedEngagement(a, b),
    };
    this.seen = true;
    this.made = undefined;
    this.eventCount += other.eventCount;
    this.firstSeenAt = minOf(this.firstSeenAt, other.firstSeenAt);
    this.lastSeenAt = maxOf(this.lastSeenAt, other.lastSeenAt);
    // every part is written (mergeViews makes new records), so the builder owns them all
    for (const part of [IDENTIFIERS, UNLINKED, TRAITS, CONSENTS, INTERESTS, LOCATIONS, CHANNELS, ORDERS, GROUPS]) this.write(part);
    joinInto(this.identifiers, other.identifiers, identOf, (x, y) => {
      if (y.firstSeenAt < x.firstSeenAt || (y.firstSeenAt === x.firstSeenAt && y.eventId < x.eventId)) {
        x.type = y.type;
        x.value = y.value;
        x.firstSeenAt = y.firstSeenAt;
        x.source = y.source;
        x.eventId = y.eventId;
      }
      if (y.lastLinkedAt > x.lastLinkedAt) x.lastLinkedAt = y.lastLinkedAt;
      return x;
    });
    joinInto(this.unlinked, other.unlinked, same, Math.max);
    joinInto(this.traits, other.traits, same, (x, y) => (compareStamps(x, y) >= 0 ? x : y));
    joinInto(this.consents, other.consents, same, (x, y) => {
      if (x.at !== y.at) return x.at > y.at ? x : y;
      return { at: x.at, answers: [...new Set([...x.answers, ...y.answers])].sort(), source: x.source < y.source ? x.source : y.source };
    });
    joinInto(this.interests, other.interests, actOf, joinAct);
    joinInto(this.locations, other.locations, locOf, (x, y) => {
      const yLabels = !(x.lastSeenAt > y.lastSeenAt || (x.lastSeenAt === y.lastSeenAt && x.labelEventId > y.labelEventId));
      joinAct(x, y);
      if (yLabels) {
        x.country = y.country;
        x.region = y.region;
        x.city = y.city;
        x.labelEventId = y.labelEventId;
      }
      return x;
    });
    joinInto(this.channels, other.channels, actOf, joinAct);
    absorbOrders(this.orders, other.orders);
    for (const g of other.groups) this.addGroup(g);
    this.joinTimeline(other.timeline);
  }

  /** The view so far. The builder can go on adding afterwards. */
  build(): Customer360 {
    if (this.made !== undefined) return this.made;
    const v = { ...this.shape } as Mutable<Customer360>;
    v.eventCount = this.eventCount;
    if (this.seen) {
      v.firstSeenAt = this.firstSeenAt;
      v.lastSeenAt = this.lastSeenAt;
    }
    v.identifiers = this.identifiers;
    v.unlinked = this.unlinked;
    v.traits = this.traits;
    v.consents = this.consents;
    v.interests = this.interests;
    v.locations = this.locations;
    v.channels = this.channels;
    v.orders = this.orders;
    v.groups = this.groups;
    const t = this.timeline;
    const timeline: TimelineEntry[] = new Array(t.length);
    for (let i = 0; i < t.length; i++) timeline[i] = t[t.length - 1 - i]!;
    v.timeline = timeline;
    // the view has the records now: the next write to one copies it first
    this.owned = 0;
    return (this.made = v);
  }

  /** About to change a record: the first write after a view was made copies it (copy on write). */
  private write(part: number): void {
    if (this.owned & part) return;
    this.owned |= part;
    switch (part) {
      case IDENTIFIERS:
        this.identifiers = copyOf(this.identifiers, identOf);
        return;
      case UNLINKED:
        this.unlinked = copyOf(this.unlinked, same);
        return;
      case TRAITS:
        this.traits = copyOf(this.traits, same);
        return;
      case CONSENTS:
        this.consents = copyOf(this.consents, same);
        return;
      case INTERESTS:
        this.interests = copyOf(this.interests, actOf);
        return;
      case LOCATIONS:
        this.locations = copyOf(this.locations, locOf);
        return;
      case CHANNELS:
        this.channels = copyOf(this.channels, actOf);
        return;
      case ORDERS: {
        // evolveView's literal: an order spells out every key
        this.orders = copyOrders(this.orders);
        return;
      }
      case GROUPS:
        this.groups = [...this.groups];
        return;
      default:
        throw new Error(`no such part ${part}`);
    }
  }

  /** What evolveView does for every activity event: count, first/last seen, timeline, channel. */
  private activity(r: EventMeta, e: CustomerEvent, channel: boolean): void {
    const at = r.observedAt;
    this.made = undefined;
    if (!this.seen) {
      // evolveView's `{ ...view, eventCount, firstSeenAt, lastSeenAt }` adds the two keys last
      this.shape = { ...this.shape, eventCount: 0, firstSeenAt: undefined, lastSeenAt: undefined };
      this.seen = true;
    }
    this.eventCount++;
    if (this.firstSeenAt === undefined || at < this.firstSeenAt) this.firstSeenAt = at;
    if (this.lastSeenAt === undefined || at > this.lastSeenAt) this.lastSeenAt = at;
    this.addToTimeline(r, e);
    if (!channel) return;
    this.write(CHANNELS);
    // a Channel (an enum) is never a key of Object.prototype: no own-key check needed
    const a = this.channels[r.channel];
    if (a === undefined) this.channels[r.channel] = { count: 1, firstSeenAt: at, lastSeenAt: at };
    else {
      a.count++;
      if (at < a.firstSeenAt) a.firstSeenAt = at;
      if (at > a.lastSeenAt) a.lastSeenAt = at;
    }
  }

  /** the newest stamp again, after the timeline changed other than by addToTimeline */
  private noteTimeline(): void {
    const t = this.timeline;
    const newest = t[t.length - 1];
    if (newest === undefined) return;
    this.newestAt = newest.observedAt;
    this.newestId = newest.eventId;
  }

  private addToTimeline(r: EventMeta, e: CustomerEvent): void {
    const t = this.timeline;
    if (t.length === 0 || r.observedAt > this.newestAt || (r.observedAt === this.newestAt && r.eventId > this.newestId)) {
      // newer than every entry: first in the view's order
      const title = timelineTitle(e);
      if (title === undefined) return;
      t.push({ eventId: r.eventId, type: e.type, observedAt: r.observedAt, channel: r.channel, title });
      this.newestAt = r.observedAt;
      this.newestId = r.eventId;
      if (t.length > TIMELINE_SIZE) {
        t.shift();
      }
      return;
    }
    // i: how many entries come before this one in the view's order (as in evolveView), found by
    // bisection: entries are sorted, and out-of-order events are common in a rebuild
    const n = t.length;
    const at = r.observedAt;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const x = t[mid]!.observedAt;
      // entry mid is newer than r: by time, or at the same time by event id
      if (x > at || (x === at && t[mid]!.eventId > r.eventId)) hi = mid;
      else lo = mid + 1;
    }
    const i = n - lo;
    if (i >= TIMELINE_SIZE || (i < n && t[n - 1 - i]!.eventId === r.eventId)) return;
    // the title only for an entry that makes it in (an IdentifierRejected or -Unlinked has none)
    const title = timelineTitle(e);
    if (title === undefined) return;
    const entry: TimelineEntry = { eventId: r.eventId, type: e.type, observedAt: r.observedAt, channel: r.channel, title };
    t.splice(n - i, 0, entry);
    if (t.length > TIMELINE_SIZE) {
      t.shift();
    }
    // i is at least 1 here (r is not newer than the newest entry, nor that entry): the newest stays
  }

  /** mergeViews' mergeTimelines on the two oldest-first lists: the newest TIMELINE_SIZE, adjacent repeats once. */
  private joinTimeline(other: readonly TimelineEntry[]): void {
    const a = this.timeline;
    const newestFirst: TimelineEntry[] = [];
    let i = a.length - 1;
    let j = other.length - 1;
    while (newestFirst.length < TIMELINE_SIZE && (i >= 0 || j >= 0)) {
      // a first on a tie (timelineOrder(a, b) <= 0)
      const next = j < 0 || (i >= 0 && !newer(other[j]!, a[i]!)) ? a[i--]! : other[j--]!;
      if (newestFirst.length === 0 || newestFirst[newestFirst.length - 1]!.eventId !== next.eventId) newestFirst.push(next);
    }
    a.length = 0;
    for (let k = newestFirst.length - 1; k >= 0; k--) a.push(newestFirst[k]!);
    this.noteTimeline();
  }

  private addConsent(purpose: string, answer: 'granted' | 'withdrawn', at: number, source: string): void {
    const prev = own(this.consents, purpose);
    let next: ConsentFact;
    if (!prev || at > prev.at) next = { at, answers: [answer], source };
    else if (at === prev.at && (!prev.answers.includes(answer) || source < prev.source)) {
      // equal times: keep every answer (differing answers mean "not granted") and the smallest source
      const answers = prev.answers.includes(answer) ? prev.answers : [...prev.answers, answer].sort();
      next = { at, answers, source: prev.source < source ? prev.source : source };
    } else return;
    this.write(CONSENTS);
    setOwn(this.consents, purpose, next);
  }

  private addLocation(country: string | undefined, region: string | undefined, city: string | undefined, at: number, eventId: string): void {
    if (!country && !region && !city) return;
    this.write(LOCATIONS);
    const key = `${country ?? ''}|${region ?? ''}|${city ?? ''}`.toLowerCase();
    const prev = own(this.locations, key);
    if (prev === undefined) {
      setOwn(this.locations, key, { count: 1, firstSeenAt: at, lastSeenAt: at, country, region, city, labelEventId: eventId });
      return;
    }
    // the label follows the latest sighting, judged before this one is counted
    const relabel = at > prev.lastSeenAt || (at === prev.lastSeenAt && eventId > prev.labelEventId);
    prev.count++;
    if (at < prev.firstSeenAt) prev.firstSeenAt = at;
    if (at > prev.lastSeenAt) prev.lastSeenAt = at;
    if (relabel) {
      prev.country = country;
      prev.region = region;
      prev.city = city;
      prev.labelEventId = eventId;
    }
  }

  /** sorted, each once (insertSortedUnique) */
  private addGroup(g: string): void {
    let i = this.groups.length;
    while (i > 0 && this.groups[i - 1]! > g) i--;
    if (i > 0 && this.groups[i - 1] === g) return;
    this.write(GROUPS);
    this.groups.splice(i, 0, g);
  }
}
