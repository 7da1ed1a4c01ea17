import type { CustomerEvent, RecordedEvent } from '../customer/customer.events.js';
import { compareStamps, compareStrings, type LwwStamp } from '../shared/compare.js';
import {
  TIMELINE_SIZE,
  timelineOrder,
  timelineTitle,
  type ConsentFact,
  type Customer360,
  type IdentifierFact,
  type TimelineEntry,
  type TraitFact,
} from './customer360.js';

// evolveView makes a new view per event and copies every record it touches: right for one event,
// wasteful for a rebuild folding a whole log. The builder folds into mutable maps and makes the
// view once, and gives exactly what folding the same events with evolveView gives (a law test
// holds it to that). It takes only the activity facts below: any other type is the caller's.

/** The event types the builder folds; everything else goes through evolveView or the projector. */
export const BUILDER_TYPES: ReadonlySet<string> = new Set<CustomerEvent['type']>([
  'CustomerRegistered',
  'IdentifierLinked',
  'IdentifierRejected',
  'IdentifierUnlinked',
  'TraitsUpdated',
  'ConsentGranted',
  'ConsentWithdrawn',
  'InterestExpressed',
  'ProductInteracted',
  'LocationObserved',
  'OrderPlaced',
  'GroupJoined',
  'PageViewed',
  'ScreenViewed',
  'EventTracked',
]);

type Act = { count: number; firstSeenAt: number; lastSeenAt: number };
type Loc = Act & { country?: string | undefined; region?: string | undefined; city?: string | undefined; labelEventId: string };

const bump = (m: Map<string, Act>, key: string, at: number): void => {
  const a = m.get(key);
  if (!a) m.set(key, { count: 1, firstSeenAt: at, lastSeenAt: at });
  else {
    a.count++;
    if (at < a.firstSeenAt) a.firstSeenAt = at;
    if (at > a.lastSeenAt) a.lastSeenAt = at;
  }
};

const mapOf = <T, U>(record: Readonly<Record<string, T>>, copy: (x: T) => U): Map<string, U> => {
  const m = new Map<string, U>();
  for (const k of Object.keys(record)) m.set(k, copy(record[k]!));
  return m;
};
const same = <T>(x: T): T => x;
const copyAct = (a: Act): Act => ({ count: a.count, firstSeenAt: a.firstSeenAt, lastSeenAt: a.lastSeenAt });
const copyLoc = (l: Loc): Loc => ({ count: l.count, firstSeenAt: l.firstSeenAt, lastSeenAt: l.lastSeenAt, country: l.country, region: l.region, city: l.city, labelEventId: l.labelEventId });

/** A plain record from a map; defineProperty only where an assignment would set the prototype. */
const recordOf = <T, U>(m: ReadonlyMap<string, T>, out: (x: T) => U): Record<string, U> => {
  const r: Record<string, U> = {};
  for (const [k, v] of m) {
    if (k === '__proto__') Object.defineProperty(r, k, { value: out(v), enumerable: true, writable: true, configurable: true });
    else r[k] = out(v);
  }
  return r;
};

export class Customer360Builder {
  private base: Customer360;
  private dirty = false;
  private eventCount: number;
  private firstSeenAt: number | undefined;
  private lastSeenAt: number | undefined;
  /** oldest first (the view's order reversed): a rebuild's next entry is usually the newest, a push */
  private timeline: TimelineEntry[] | undefined;
  private channels: Map<string, Act> | undefined;
  private identifiers: Map<string, IdentifierFact> | undefined;
  private unlinked: Map<string, number> | undefined;
  private traits: Map<string, TraitFact> | undefined;
  private consents: Map<string, ConsentFact> | undefined;
  private interests: Map<string, Act> | undefined;
  private locations: Map<string, Loc> | undefined;
  private orders: { count: number; revenue: Map<string, number>; counts: Map<string, number>; first: number | undefined; last: number | undefined } | undefined;
  private groups: string[] | undefined;

  constructor(from: Customer360) {
    this.base = from;
    this.eventCount = from.eventCount;
    this.firstSeenAt = from.firstSeenAt;
    this.lastSeenAt = from.lastSeenAt;
  }

  /** Same as `view = evolveView(view, r)`, for a type in BUILDER_TYPES. */
  add(r: RecordedEvent): void {
    const e = r.event;
    if (!BUILDER_TYPES.has(e.type)) throw new Error(`Customer360Builder does not fold ${e.type}; use evolveView`);
    const at = r.observedAt;
    this.dirty = true;
    this.eventCount++;
    if (this.firstSeenAt === undefined || at < this.firstSeenAt) this.firstSeenAt = at;
    if (this.lastSeenAt === undefined || at > this.lastSeenAt) this.lastSeenAt = at;
    const title = timelineTitle(e);
    if (title !== undefined) this.addToTimeline({ eventId: r.eventId, type: e.type, observedAt: at, channel: r.channel, title });
    if (e.type !== 'IdentifierRejected') bump((this.channels ??= mapOf(this.base.channels, copyAct)), r.channel, at);
    switch (e.type) {
      case 'IdentifierLinked': {
        const ids = (this.identifiers ??= mapOf(this.base.identifiers, same));
        const prev = ids.get(e.data.key);
        const keepPrev = prev && (prev.firstSeenAt < at || (prev.firstSeenAt === at && prev.eventId <= r.eventId));
        const base: IdentifierFact = keepPrev ? prev : { type: e.data.type, value: e.pii?.value, firstSeenAt: at, lastLinkedAt: at, source: r.source, eventId: r.eventId };
        ids.set(e.data.key, { ...base, lastLinkedAt: Math.max(prev?.lastLinkedAt ?? at, at) });
        return;
      }
      case 'IdentifierUnlinked': {
        const m = (this.unlinked ??= mapOf(this.base.unlinked, same));
        m.set(e.data.key, Math.max(m.get(e.data.key) ?? at, at));
        return;
      }
      case 'TraitsUpdated': {
        const values = e.pii?.traits;
        if (!values) return;
        const m = (this.traits ??= mapOf(this.base.traits, same));
        const stamp: LwwStamp = { observedAt: at, sourcePriority: r.sourcePriority, eventId: r.eventId };
        for (const name of e.data.names) {
          const prev = m.get(name);
          if (prev && compareStamps(prev, stamp) >= 0) continue;
          // spelled out, in the key order of evolveView's `{ ...stamp, value, source }`
          m.set(name, { observedAt: at, sourcePriority: r.sourcePriority, eventId: r.eventId, value: values[name] ?? null, source: r.source });
        }
        return;
      }
      case 'ConsentGranted':
      case 'ConsentWithdrawn':
        return this.addConsent(e.data.purpose, e.type === 'ConsentGranted' ? 'granted' : 'withdrawn', at, r.source);
      case 'InterestExpressed':
        bump((this.interests ??= mapOf(this.base.interests, copyAct)), e.data.interest, at);
        return;
      case 'ProductInteracted': {
        const cat = e.data.product.category?.toLowerCase();
        if (cat) bump((this.interests ??= mapOf(this.base.interests, copyAct)), cat, at);
        return;
      }
      case 'LocationObserved':
        return this.addLocation(e.data.country, e.data.region, e.data.city, at, r.eventId);
      case 'OrderPlaced': {
        const b = this.base.orders;
        const o = (this.orders ??= { count: b.count, revenue: mapOf(b.revenueMinor, same), counts: mapOf(b.countByCurrency, same), first: b.firstOrderAt, last: b.lastOrderAt });
        const c = e.data.currency;
        o.count++;
        o.revenue.set(c, (o.revenue.get(c) ?? 0) + e.data.revenueMinor);
        o.counts.set(c, (o.counts.get(c) ?? 0) + 1);
        if (o.first === undefined || at < o.first) o.first = at;
        if (o.last === undefined || at > o.last) o.last = at;
        return;
      }
      case 'GroupJoined': {
        const g = (this.groups ??= [...this.base.groups]);
        if (!g.includes(e.data.groupId)) g.push(e.data.groupId);
        return;
      }
      default:
        return;
    }
  }

  /** The view so far. The builder can go on adding afterwards. */
  build(): Customer360 {
    if (!this.dirty) return this.base;
    const b = this.base;
    const o = this.orders;
    // same keys in the same order as evolveView's `{ ...view, eventCount, firstSeenAt, lastSeenAt }`
    const view: Customer360 = {
      ...b,
      eventCount: this.eventCount,
      firstSeenAt: this.firstSeenAt,
      lastSeenAt: this.lastSeenAt,
      identifiers: this.identifiers ? recordOf(this.identifiers, same) : b.identifiers,
      unlinked: this.unlinked ? recordOf(this.unlinked, same) : b.unlinked,
      traits: this.traits ? recordOf(this.traits, same) : b.traits,
      consents: this.consents ? recordOf(this.consents, same) : b.consents,
      interests: this.interests ? recordOf(this.interests, copyAct) : b.interests,
      locations: this.locations ? recordOf(this.locations, copyLoc) : b.locations,
      channels: this.channels ? recordOf(this.channels, copyAct) : b.channels,
      orders: o ? { count: o.count, revenueMinor: recordOf(o.revenue, same), countByCurrency: recordOf(o.counts, same), firstOrderAt: o.first, lastOrderAt: o.last } : b.orders,
      groups: this.groups ? [...this.groups].sort(compareStrings) : b.groups,
      timeline: this.timeline ? [...this.timeline].reverse() : b.timeline,
    };
    // start again from the view made: later adds copy only the records they touch
    this.base = view;
    this.dirty = false;
    this.timeline = this.channels = this.identifiers = this.unlinked = this.traits = this.consents = this.interests = this.locations = this.orders = this.groups = undefined;
    return view;
  }

  private addToTimeline(entry: TimelineEntry): void {
    const t = (this.timeline ??= [...this.base.timeline].reverse());
    // i: how many entries come before this one in the view's order (as in evolveView)
    const n = t.length;
    let i = 0;
    while (i < n && timelineOrder(t[n - 1 - i]!, entry) < 0) i++;
    if (i >= TIMELINE_SIZE || (i < n && t[n - 1 - i]!.eventId === entry.eventId)) return;
    if (i === 0) t.push(entry);
    else t.splice(n - i, 0, entry);
    while (t.length > TIMELINE_SIZE) t.shift();
  }

  private addConsent(purpose: string, answer: 'granted' | 'withdrawn', at: number, source: string): void {
    const m = (this.consents ??= mapOf(this.base.consents, same));
    const prev = m.get(purpose);
    if (!prev || at > prev.at) m.set(purpose, { at, answers: [answer], source });
    else if (at === prev.at && (!prev.answers.includes(answer) || source < prev.source)) {
      // equal times: keep every answer (differing answers mean "not granted") and the smallest source
      const answers = prev.answers.includes(answer) ? prev.answers : [...prev.answers, answer].sort();
      m.set(purpose, { at, answers, source: prev.source < source ? prev.source : source });
    }
  }

  private addLocation(country: string | undefined, region: string | undefined, city: string | undefined, at: number, eventId: string): void {
    if (!country && !region && !city) return;
    const m = (this.locations ??= mapOf(this.base.locations, copyLoc));
    const key = [country ?? '', region ?? '', city ?? ''].join('|').toLowerCase();
    const prev = m.get(key);
    if (!prev) {
      m.set(key, { count: 1, firstSeenAt: at, lastSeenAt: at, country, region, city, labelEventId: eventId });
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
}
