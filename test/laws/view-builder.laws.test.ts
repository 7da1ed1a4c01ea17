import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { CustomerEvent, RecordedEvent } from '../../src/domain/customer/customer.events.js';
import { BUILDER_TYPES, Customer360Builder } from '../../src/domain/projection/customer360.builder.js';
import { emptyView, evolveView, mergeViews, type Customer360 } from '../../src/domain/projection/customer360.js';
import { T0 } from '../support/decider-spec.js';

// Rebuilds fold activity with Customer360Builder instead of evolveView (one view per cluster
// instead of one per event). That is only allowed if both give the same view, key for key, from
// any starting view and however often the builder is asked for the view along the way.

const RUNS = Number(process.env['LAW_RUNS'] ?? 300);

const ev = (type: string, data: unknown, pii?: unknown): CustomerEvent => (pii === undefined ? { type, v: 1, data } : { type, v: 1, data, pii }) as CustomerEvent;
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const arbEvent: fc.Arbitrary<CustomerEvent> = fc.oneof(
  fc.constant(ev('CustomerRegistered', { customerId: 'c', firstObservedAt: T0 })),
  // pii absent: the customer's key was destroyed
  fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.boolean()).map(([k, erased]) => ev('IdentifierLinked', { type: 'email', key: k, observedAt: T0 }, erased ? undefined : { value: `${k}@x.io` })),
  fc.constantFrom('a', 'd').map((k) => ev('IdentifierRejected', { type: 'email', key: k, reason: 'IDENTIFIER_BLOCKED', detail: 'blocked', rulesVersion: 1 }, { value: `${k}@x.io` })),
  fc.constantFrom('a', 'b').map((k) => ev('IdentifierUnlinked', { type: 'email', key: k, reason: 'unmerge' })),
  fc
    .tuple(fc.record({ plan: fc.constantFrom('free', 'pro'), city: fc.constantFrom('Cape Town', 'cape town') }, { requiredKeys: [] }), fc.boolean())
    // a name without a value (sent as undefined) is stored as null
    .map(([t, erased]) => ev('TraitsUpdated', { names: [...Object.keys(t), 'nickname'], context: 'identify' }, erased ? undefined : { traits: t })),
  fc.tuple(fc.constantFrom('marketing', 'analytics'), fc.boolean()).map(([purpose, g]) => ev(g ? 'ConsentGranted' : 'ConsentWithdrawn', { purpose })),
  fc.constantFrom('electronics', 'books').map((interest) => ev('InterestExpressed', { interest })),
  fc.tuple(fc.constantFrom('viewed', 'added'), maybe(fc.constantFrom('Books', 'books', 'toys'))).map(([action, category]) => ev('ProductInteracted', { action, product: { productId: 'p1', category } })),
  fc.tuple(fc.integer({ min: 1, max: 50_000 }), fc.constantFrom('USD', 'EUR')).map(([m, c]) => ev('OrderPlaced', { orderId: 'o', revenueMinor: m, currency: c, products: [] })),
  fc.tuple(maybe(fc.constantFrom('ZA', 'za')), maybe(fc.constant('WC')), maybe(fc.constantFrom('Cape Town', 'CAPE TOWN', 'London'))).map(([country, region, city]) => ev('LocationObserved', { country, region, city })),
  fc.constantFrom('Home', 'Cart').map((name) => ev('PageViewed', { name })),
  fc.constantFrom('Home', 'Settings').map((name) => ev('ScreenViewed', { name })),
  fc.constantFrom('Signed Up', 'Logged In').map((event) => ev('EventTracked', { event })),
  fc.constantFrom('g2', 'g1', 'g3').map((groupId) => ev('GroupJoined', { groupId })),
);

const arbStream = (streamId: string, maxLength: number) =>
  fc.array(fc.tuple(arbEvent, fc.integer({ min: 0, max: 30 }), fc.constantFrom('web', 'crm'), fc.constantFrom('web', 'mobile')), { maxLength, size: 'max' }).map((xs) =>
    xs.map(([event, t, source, channel], i): RecordedEvent => ({
      // equal times and out-of-order event ids both occur: ties must break the same way
      eventId: `${streamId}-${String((i * 7) % 100).padStart(3, '0')}-${i}`,
      streamId,
      version: i + 1,
      observedAt: T0 + t * 1000,
      source,
      sourcePriority: source === 'crm' ? 50 : 10,
      channel,
      event,
    })),
  );

/** A starting view as the projector can hand one over: empty, folded, or joined from two. */
const arbBase: fc.Arbitrary<Customer360> = fc.oneof(
  fc.constant(emptyView('s')),
  arbStream('s0', 30).map((xs) => xs.reduce(evolveView, emptyView('s'))),
  fc.tuple(arbStream('s0', 30), arbStream('a0', 30)).map(([s, a]) => mergeViews(s.reduce(evolveView, emptyView('s')), a.reduce(evolveView, emptyView('a')))),
);

describe('Customer360Builder', () => {
  test.prop([arbBase, arbStream('s', 120), fc.array(fc.nat(120), { maxLength: 3 })], { numRuns: RUNS })(
    'folding with the builder gives exactly what evolveView gives, wherever the view is taken',
    (base, events, takeAt) => {
      const builder = new Customer360Builder(base);
      events.forEach((r, i) => {
        if (takeAt.includes(i)) expect(builder.build()).toStrictEqual(events.slice(0, i).reduce(evolveView, base));
        builder.add(r);
      });
      const expected = events.reduce(evolveView, base);
      const built = builder.build();
      expect(built).toStrictEqual(expected);
      // the same keys in the same order, so stored JSON is byte for byte the same
      expect(JSON.stringify(built)).toBe(JSON.stringify(expected));
      expect(builder.build()).toBe(built);
    },
  );

  it('refuses what only evolveView or the projector may fold', () => {
    const restricted: RecordedEvent = { eventId: 'e1', streamId: 's', version: 1, observedAt: T0, source: 'web', sourcePriority: 10, channel: 'web', event: ev('ProcessingRestricted', { actor: 'ops' }) };
    expect(BUILDER_TYPES.has('CustomerMerged')).toBe(false);
    expect(() => new Customer360Builder(emptyView('s')).add(restricted)).toThrow(/does not fold ProcessingRestricted/);
  });
});
