import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { CustomerEvent, RecordedEvent } from '../../../src/domain/customer/customer.events.js';
import { emptyView, evolveView, foldCluster, mergeViews } from '../../../src/domain/projection/customer360.js';
import { T0 } from '../../support/decider-spec.js';

// mergeViews replaces folding the absorbed customer's history again on every merge; it is only
// right if joining two views equals folding the union of their events.

const RUNS = Number(process.env.LAW_RUNS ?? 500);

const arbEvent: fc.Arbitrary<CustomerEvent> = fc.oneof(
  fc
    .record({ plan: fc.constantFrom('free', 'pro'), city: fc.constantFrom('Cape Town', 'cape town') })
    .map((t) => ({ type: 'TraitsUpdated', v: 1, data: { names: Object.keys(t), context: 'identify' }, pii: { traits: t } }) as CustomerEvent),
  fc
    .tuple(fc.constantFrom('marketing', 'analytics'), fc.boolean())
    .map(([purpose, g]) => ({ type: g ? 'ConsentGranted' : 'ConsentWithdrawn', v: 1, data: { purpose } }) as CustomerEvent),
  fc.constantFrom('electronics', 'books').map((interest) => ({ type: 'InterestExpressed', v: 1, data: { interest } }) as CustomerEvent),
  fc
    // order ids both customers may have recorded (a repeat of the same order): counted once across the two
    .tuple(fc.integer({ min: 1, max: 50_000 }), fc.constantFrom('USD', 'EUR'), fc.option(fc.constantFrom('o1', 'o2', 'o3'), { nil: undefined }))
    .map(([m, c, orderId]) => ({ type: 'OrderPlaced', v: 1, data: { orderId, revenueMinor: m, currency: c, products: [] } }) as CustomerEvent),
  fc.constantFrom('Cape Town', 'CAPE TOWN', 'London').map((city) => ({ type: 'LocationObserved', v: 1, data: { city, country: 'ZA' } }) as CustomerEvent),
  fc
    .constantFrom('a', 'b', 'c')
    .map((k) => ({ type: 'IdentifierLinked', v: 1, data: { type: 'email', key: k, observedAt: T0 }, pii: { value: `${k}@x.io` } }) as CustomerEvent),
  fc.constantFrom('Home', 'Cart').map((name) => ({ type: 'PageViewed', v: 1, data: { name } }) as CustomerEvent),
  fc.constantFrom('g1', 'g2').map((groupId) => ({ type: 'GroupJoined', v: 1, data: { groupId } }) as CustomerEvent),
);

const arbStream = (streamId: string) =>
  fc.array(fc.tuple(arbEvent, fc.integer({ min: 0, max: 20 }), fc.constantFrom('web', 'crm'), fc.constantFrom('web', 'mobile')), { maxLength: 70 }).map((xs) =>
    xs.map(
      ([event, t, source, channel], i): RecordedEvent => ({
        eventId: `${streamId}-${String(i).padStart(3, '0')}`,
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

describe('mergeViews', () => {
  test.prop([arbStream('s'), arbStream('a')], { numRuns: RUNS })('joining two views equals folding the union of their events', (s, a) => {
    const sView = s.reduce(evolveView, emptyView('s'));
    const aView = a.reduce(evolveView, emptyView('a'));
    expect(JSON.parse(JSON.stringify(mergeViews(sView, aView)))).toEqual(JSON.parse(JSON.stringify(foldCluster('s', ['a'], [...a, ...s]))));
  });
});
