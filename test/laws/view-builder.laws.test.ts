import { fc, test } from '@fast-check/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import type { CustomerEvent, RecordedEvent } from '../../src/domain/customer/customer.events.js';
import { BUILDER_TYPES, Customer360Builder } from '../../src/domain/projection/customer360.builder.js';
import { emptyView, evolveView, mergeViews, TIMELINE_SIZE, timelineTitle, type Customer360 } from '../../src/domain/projection/customer360.js';
import { T0 } from '../support/decider-spec.js';

// Rebuilds fold activity with Customer360Builder instead of evolveView (one view per cluster
// instead of one per event). That is only allowed if both give the same view, key for key, from
// any starting view and however often the builder is asked for the view along the way.

const RUNS = Number(process.env.LAW_RUNS ?? 300);

const ev = (type: string, data: unknown, pii?: unknown): CustomerEvent =>
  (pii === undefined ? { type, v: 1, data } : { type, v: 1, data, pii }) as CustomerEvent;
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const arbEvent: fc.Arbitrary<CustomerEvent> = fc.oneof(
  fc.constant(ev('CustomerRegistered', { customerId: 'c', firstObservedAt: T0 })),
  // pii absent: the customer's key was destroyed
  fc
    .tuple(fc.constantFrom('a', 'b', 'c'), fc.boolean())
    .map(([k, erased]) => ev('IdentifierLinked', { type: 'email', key: k, observedAt: T0 }, erased ? undefined : { value: `${k}@x.io` })),
  fc
    .constantFrom('a', 'd')
    .map((k) => ev('IdentifierRejected', { type: 'email', key: k, reason: 'IDENTIFIER_BLOCKED', detail: 'blocked', rulesVersion: 1 }, { value: `${k}@x.io` })),
  fc.constantFrom('a', 'b').map((k) => ev('IdentifierUnlinked', { type: 'email', key: k, reason: 'unmerge' })),
  fc
    .tuple(fc.record({ plan: fc.constantFrom('free', 'pro'), city: fc.constantFrom('Cape Town', 'cape town') }, { requiredKeys: [] }), fc.boolean())
    // a name without a value (sent as undefined) is stored as null
    .map(([t, erased]) => ev('TraitsUpdated', { names: [...Object.keys(t), 'nickname'], context: 'identify' }, erased ? undefined : { traits: t })),
  fc.tuple(fc.constantFrom('marketing', 'analytics'), fc.boolean()).map(([purpose, g]) => ev(g ? 'ConsentGranted' : 'ConsentWithdrawn', { purpose })),
  // interests are free text: keys Object.prototype also has must stay plain keys ('constructor'
  // too, below: toStrictEqual reads an own 'constructor' as the object's type)
  fc.constantFrom('electronics', 'books', '__proto__', 'toString').map((interest) => ev('InterestExpressed', { interest })),
  fc
    .tuple(fc.constantFrom('viewed', 'added'), maybe(fc.constantFrom('Books', 'books', 'toys')))
    .map(([action, category]) => ev('ProductInteracted', { action, product: { productId: 'p1', category } })),
  fc
    // a few order ids, and none: repeats of an order are counted once, orders without an id each time
    .tuple(fc.integer({ min: 1, max: 50_000 }), fc.constantFrom('USD', 'EUR'), maybe(fc.constantFrom('o', 'p', '__proto__')))
    .map(([m, c, orderId]) => ev('OrderPlaced', { orderId, revenueMinor: m, currency: c, products: [] })),
  fc
    .tuple(maybe(fc.constantFrom('ZA', 'za')), maybe(fc.constant('WC')), maybe(fc.constantFrom('Cape Town', 'CAPE TOWN', 'London')))
    .map(([country, region, city]) => ev('LocationObserved', { country, region, city })),
  fc.constantFrom('Home', 'Cart').map((name) => ev('PageViewed', { name })),
  fc.constantFrom('Home', 'Settings').map((name) => ev('ScreenViewed', { name })),
  fc.constantFrom('Signed Up', 'Logged In').map((event) => ev('EventTracked', { event })),
  fc.constantFrom('g2', 'g1', 'g3').map((groupId) => ev('GroupJoined', { groupId })),
  // not activity: the restriction flag and engagement history only
  fc.boolean().map((on) => ev(on ? 'ProcessingRestricted' : 'ProcessingRestrictionLifted', { actor: 'ops' })),
  fc
    .record({ n: fc.nat(3), sent: fc.boolean(), channel: fc.constantFrom('email', 'sms'), offer: fc.constantFrom('o1', 'o2') })
    .map(({ n, sent, channel, offer }) =>
      ev('EngagementDecided', {
        decisionId: `d${n}`,
        triggerEventId: `t${n}`,
        trigger: 'InterestExpressed',
        ...(sent ? { outcome: 'sent', offerId: offer, channel } : { outcome: 'suppressed', reason: 'NO_CONSENT' }),
      }),
    ),
);

const arbStream = (streamId: string, maxLength: number) =>
  fc
    .array(fc.tuple(arbEvent, fc.integer({ min: 0, max: 30 }), fc.constantFrom('web', 'crm'), fc.constantFrom('web', 'mobile')), { maxLength, size: 'max' })
    .map((xs) =>
      xs.map(
        ([event, t, source, channel], i): RecordedEvent => ({
          // equal times and out-of-order event ids both occur: ties must break the same way
          eventId: `${streamId}-${String((i * 7) % 100).padStart(3, '0')}-${i}`,
          streamId,
          version: i + 1,
          observedAt: T0 + t * 1000,
          source,
          sourcePriority: source === 'crm' ? 50 : 10,
          channel,
          event,
        }),
      ),
    );

const QUIET: ReadonlySet<string> = new Set(['ProcessingRestricted', 'ProcessingRestrictionLifted', 'EngagementDecided', 'MatchRejected']);
/** A stream, or one without activity (restrictions and engagement decisions only): a view with no first or last seen. */
const arbMaybeQuiet = (streamId: string, maxLength: number) =>
  fc.oneof(
    { arbitrary: arbStream(streamId, maxLength), weight: 3 },
    { arbitrary: arbStream(streamId, maxLength).map((xs) => xs.filter((r) => QUIET.has(r.event.type))), weight: 1 },
  );

/** A starting view as the projector can hand one over: empty, folded, or joined from two. */
const arbBase: fc.Arbitrary<Customer360> = fc.oneof(
  fc.constant(emptyView('s')),
  arbStream('s0', 30).map((xs) => xs.reduce(evolveView, emptyView('s'))),
  fc.tuple(arbStream('s0', 30), arbStream('a0', 30)).map(([s, a]) => mergeViews(s.reduce(evolveView, emptyView('s')), a.reduce(evolveView, emptyView('a')))),
);

/** Histories the laws below must have met for their verdict to mean anything (checked once they ran). */
const seen = {
  freshBuilders: 0,
  timelineOverflows: 0,
  outOfOrderEntries: 0,
  noActivity: 0,
  identifierLinkedAgain: 0,
  unlinked: 0,
  absorbedWithoutActivity: 0,
  survivorWithoutActivity: 0,
  bothActive: 0,
};
const titled = (events: readonly RecordedEvent[]): RecordedEvent[] => events.filter((r) => timelineTitle(r.event) !== undefined);
const noteStream = (events: readonly RecordedEvent[]): void => {
  const entries = titled(events);
  if (entries.length > TIMELINE_SIZE) seen.timelineOverflows++;
  let newest = Number.NEGATIVE_INFINITY;
  for (const r of entries) {
    if (r.observedAt < newest) seen.outOfOrderEntries++;
    newest = Math.max(newest, r.observedAt);
  }
  const links = events.flatMap((r) => (r.event.type === 'IdentifierLinked' ? [r.event.data.key] : []));
  if (new Set(links).size < links.length) seen.identifierLinkedAgain++;
  if (events.some((r) => r.event.type === 'IdentifierUnlinked')) seen.unlinked++;
};

describe('Customer360Builder', () => {
  afterAll(() => {
    // the fast paths and their edges were all taken: a fresh builder's dictionary-mode identifier
    // records, a full timeline dropping its oldest entry, entries put in place by the bisection, a
    // cluster without activity (no first/last seen), and absorbing with either side inactive
    if (RUNS < 100) return;
    for (const [what, n] of Object.entries(seen)) expect(n, what).toBeGreaterThan(RUNS / 50);
  });

  test.prop([arbBase, arbMaybeQuiet('s', 120), fc.array(fc.nat(120), { maxLength: 3 }), fc.boolean()], { numRuns: RUNS })(
    'folding with the builder gives exactly what evolveView gives, wherever the view is taken',
    (base, events, takeAt, fresh) => {
      // Customer360Builder.empty: the same builder, owning its records from the start
      const empty = JSON.stringify(base) === JSON.stringify(emptyView('s'));
      const builder = fresh && empty ? Customer360Builder.empty('s') : new Customer360Builder(base);
      if (fresh && empty) seen.freshBuilders++;
      noteStream(events);
      const taken: [Customer360, string][] = [];
      events.forEach((r, i) => {
        if (takeAt.includes(i)) {
          const view = builder.build();
          expect(view).toStrictEqual(events.slice(0, i).reduce(evolveView, base));
          taken.push([view, JSON.stringify(view)]);
        }
        builder.add(r);
      });
      const expected = events.reduce(evolveView, base);
      if (expected.firstSeenAt === undefined) seen.noActivity++;
      const built = builder.build();
      expect(built).toStrictEqual(expected);
      // the same keys in the same order, so stored JSON is byte for byte the same
      expect(JSON.stringify(built)).toBe(JSON.stringify(expected));
      expect(builder.build()).toBe(built);
      // views made along the way never change afterwards (copy on write)
      for (const [view, json] of taken) expect(JSON.stringify(view)).toBe(json);
    },
  );

  test.prop(
    [
      arbBase,
      arbMaybeQuiet('s', 60),
      arbBase.map((b) => ({ ...b, customerId: 'a' })),
      arbMaybeQuiet('a', 60),
      arbStream('s1', 30),
      fc.array(fc.nat(60), { maxLength: 3 }),
    ],
    { numRuns: RUNS },
  )('absorbing another builder gives exactly what mergeViews gives, and views made before never change', (sBase, sEvents, aBase, aEvents, after, takeAt) => {
    const survivor = new Customer360Builder(sBase);
    const absorbed = new Customer360Builder(aBase);
    // views taken along the way, with their JSON then: copy on write must keep them as they were
    const taken: [Customer360, string][] = [];
    const take = (b: Customer360Builder) => {
      const v = b.build();
      taken.push([v, JSON.stringify(v)]);
    };
    sEvents.forEach((r, i) => {
      if (takeAt.includes(i)) take(survivor);
      survivor.add(r);
    });
    aEvents.forEach((r, i) => {
      if (takeAt.includes(i)) take(absorbed);
      absorbed.add(r);
    });
    if (takeAt.length > 0) take(absorbed);
    const absorbedView = absorbed.build();
    const absorbedJson = JSON.stringify(absorbedView);
    survivor.absorb(absorbed);
    const [sView, aView] = [sEvents.reduce(evolveView, sBase), aEvents.reduce(evolveView, aBase)];
    if (aView.firstSeenAt === undefined) seen.absorbedWithoutActivity++;
    if (sView.firstSeenAt === undefined) seen.survivorWithoutActivity++;
    if (sView.firstSeenAt !== undefined && aView.firstSeenAt !== undefined) seen.bothActive++;
    const merged = mergeViews(sView, aView);
    const built = survivor.build();
    expect(built).toStrictEqual(merged);
    expect(JSON.stringify(built)).toBe(JSON.stringify(merged));
    // and folding on after the merge, as a rebuild does with the survivor's next events
    after.forEach((r, i) => {
      if (takeAt.includes(i)) take(survivor);
      survivor.add(r);
    });
    const expected = after.reduce(evolveView, merged);
    expect(survivor.build()).toStrictEqual(expected);
    expect(JSON.stringify(survivor.build())).toBe(JSON.stringify(expected));
    // the absorbed builder is unchanged, and so is every view made
    expect(JSON.stringify(absorbed.build())).toBe(absorbedJson);
    for (const [v, j] of taken) expect(JSON.stringify(v)).toBe(j);
  });

  it("folds free-text keys such as 'constructor' and '__proto__' as plain keys, as evolveView and mergeViews do", () => {
    const at = (i: number, streamId: string, event: CustomerEvent): RecordedEvent => ({
      eventId: `${streamId}-${i}`,
      streamId,
      version: i,
      observedAt: T0 + i,
      source: 'web',
      sourcePriority: 10,
      channel: 'web',
      event,
    });
    const s = ['constructor', '__proto__', 'constructor'].map((interest, i) => at(i + 1, 's', ev('InterestExpressed', { interest })));
    const a = ['toString', '__proto__'].map((interest, i) => at(i + 1, 'a', ev('InterestExpressed', { interest })));
    const survivor = new Customer360Builder(emptyView('s'));
    s.forEach((r) => survivor.add(r));
    const absorbed = new Customer360Builder(emptyView('a'));
    a.forEach((r) => absorbed.add(r));
    survivor.absorb(absorbed);
    const expected = mergeViews(s.reduce(evolveView, emptyView('s')), a.reduce(evolveView, emptyView('a')));
    expect(JSON.stringify(survivor.build())).toBe(JSON.stringify(expected));
    expect(JSON.parse(JSON.stringify(expected)).interests).toEqual({
      constructor: { count: 2, firstSeenAt: T0 + 1, lastSeenAt: T0 + 3 },
      ['__proto__']: { count: 2, firstSeenAt: T0 + 2, lastSeenAt: T0 + 2 },
      toString: { count: 1, firstSeenAt: T0 + 1, lastSeenAt: T0 + 1 },
    });
  });

  it('refuses what only evolveView or the projector may fold', () => {
    const merged: RecordedEvent = {
      eventId: 'e1',
      streamId: 's',
      version: 1,
      observedAt: T0,
      source: 'web',
      sourcePriority: 10,
      channel: 'web',
      event: ev('CustomerMergedInto', { mergeId: 'm', survivorId: 't' }),
    };
    for (const type of ['CustomerMerged', 'CustomerMergedInto', 'CustomerUnmerged', 'CustomerRestored', 'CustomerErased'])
      expect(BUILDER_TYPES.has(type)).toBe(false);
    expect(() => new Customer360Builder(emptyView('s')).add(merged)).toThrow(/does not fold CustomerMergedInto/);
  });
});
