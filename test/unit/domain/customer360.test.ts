import { describe, expect, it } from 'vitest';
import { present } from '../../../src/application/customers/customer360.presenter.js';
import type { CustomerEvent, EventMeta, RecordedEvent } from '../../../src/domain/customer/customer.events.js';
import { Customer360Builder } from '../../../src/domain/projection/customer360.builder.js';
import { emptyView, evolveView, foldCluster, mergeViews, ORDER_IDS_KEPT, TIMELINE_SIZE, type Customer360 } from '../../../src/domain/projection/customer360.js';
import { DEFAULT_SCORE_CONFIG } from '../../../src/domain/projection/scores.js';
import { MINUTE, recorded, T0 } from '../../support/decider-spec.js';

let seq = 0;
const fact = (event: CustomerEvent, meta: Partial<EventMeta> = {}): RecordedEvent => {
  seq++;
  return recorded('c', seq, event, { eventId: `e-${String(seq).padStart(4, '0')}`, observedAt: T0 + seq * MINUTE, ...meta });
};
const foldAll = (events: readonly RecordedEvent[]): Customer360 => events.reduce(evolveView, emptyView('c'));
/** Folds in the given order and reversed, asserting the view does not depend on it. */
const foldBothWays = (events: readonly RecordedEvent[]): Customer360 => {
  const view = foldAll(events);
  expect(foldAll([...events].reverse())).toEqual(view);
  return view;
};

const traits = (values: Record<string, unknown>): CustomerEvent => ({
  type: 'TraitsUpdated',
  v: 1,
  data: { names: Object.keys(values), context: 'identify' },
  pii: { traits: values },
});
const consent = (purpose: string, granted: boolean): CustomerEvent => ({ type: granted ? 'ConsentGranted' : 'ConsentWithdrawn', v: 1, data: { purpose } });
const interest = (name: string): CustomerEvent => ({ type: 'InterestExpressed', v: 1, data: { interest: name } });
const order = (revenueMinor: number, currency = 'USD', orderId?: string): CustomerEvent => ({
  type: 'OrderPlaced',
  v: 1,
  data: { ...(orderId === undefined ? {} : { orderId }), revenueMinor, currency, products: [] },
});
const page = (name: string): CustomerEvent => ({ type: 'PageViewed', v: 1, data: { name } });

describe('traits: last writer wins by (observedAt, source priority, event id)', () => {
  it('a later write wins on time even from a lower-priority source', () => {
    const view = foldBothWays([
      fact(traits({ plan: 'pro' }), { observedAt: T0 + 2, sourcePriority: 10, source: 'web' }),
      fact(traits({ plan: 'free' }), { observedAt: T0 + 1, sourcePriority: 90, source: 'crm' }),
    ]);
    expect(view.traits.plan).toMatchObject({ value: 'pro', source: 'web', observedAt: T0 + 2 });
  });

  it('at equal times the higher source priority wins', () => {
    const view = foldBothWays([
      fact(traits({ plan: 'pro' }), { observedAt: T0, sourcePriority: 10, source: 'web' }),
      fact(traits({ plan: 'free' }), { observedAt: T0, sourcePriority: 90, source: 'crm' }),
    ]);
    expect(view.traits.plan).toMatchObject({ value: 'free', source: 'crm' });
  });

  it('at equal time and priority the higher event id wins', () => {
    const view = foldBothWays([
      fact(traits({ plan: 'b' }), { observedAt: T0, eventId: 'id-b' }),
      fact(traits({ plan: 'a' }), { observedAt: T0, eventId: 'id-a' }),
    ]);
    expect(view.traits.plan?.value).toBe('b');
  });

  it('decides each trait on its own', () => {
    const view = foldBothWays([
      fact(traits({ plan: 'pro', city: 'Cape Town' }), { observedAt: T0 + 1 }),
      fact(traits({ plan: 'free' }), { observedAt: T0 + 2 }),
    ]);
    expect([view.traits.plan?.value, view.traits.city?.value]).toEqual(['free', 'Cape Town']);
  });
});

describe('consent', () => {
  const shown = (view: Customer360) => present({ kind: 'view', customerId: 'c', version: 1, applied: { c: 1 }, view }, T0, DEFAULT_SCORE_CONFIG).consents;

  it('the latest decision wins', () => {
    const view = foldBothWays([fact(consent('marketing', true), { observedAt: T0 + 1 }), fact(consent('marketing', false), { observedAt: T0 + 2 })]);
    expect(shown(view).marketing).toMatchObject({ granted: false, status: 'withdrawn' });
  });

  it('keeps both answers given at the same time, shown as conflicting and not granted', () => {
    const view = foldBothWays([fact(consent('marketing', true), { observedAt: T0 }), fact(consent('marketing', false), { observedAt: T0 })]);
    expect(view.consents.marketing?.answers).toEqual(['granted', 'withdrawn']);
    expect(shown(view).marketing).toMatchObject({ granted: false, status: 'conflicting' });
  });

  it('a later grant settles a conflict', () => {
    const view = foldBothWays([
      fact(consent('marketing', true), { observedAt: T0 }),
      fact(consent('marketing', false), { observedAt: T0 }),
      fact(consent('marketing', true), { observedAt: T0 + 1 }),
    ]);
    expect(shown(view).marketing).toMatchObject({ granted: true, status: 'granted' });
  });
});

describe('facts', () => {
  it('counts interests with their first and last time, product categories included', () => {
    const view = foldBothWays([
      fact(interest('books'), { observedAt: T0 + 5 }),
      fact(interest('books'), { observedAt: T0 + 1 }),
      fact({ type: 'ProductInteracted', v: 1, data: { action: 'viewed', product: { category: 'Books' } } }, { observedAt: T0 + 9 }),
      fact(interest('toys'), { observedAt: T0 + 3 }),
    ]);
    expect(view.interests).toEqual({
      books: { count: 3, firstSeenAt: T0 + 1, lastSeenAt: T0 + 9 },
      toys: { count: 1, firstSeenAt: T0 + 3, lastSeenAt: T0 + 3 },
    });
  });

  it('sums orders in integer minor units per currency', () => {
    const view = foldBothWays([
      fact(order(1999), { observedAt: T0 + 2 }),
      fact(order(1), { observedAt: T0 + 3 }),
      fact(order(1000, 'EUR'), { observedAt: T0 + 1 }),
    ]);
    expect(view.orders).toEqual({
      count: 3,
      revenueMinor: { USD: 2000, EUR: 1000 },
      countByCurrency: { USD: 2, EUR: 1 },
      firstOrderAt: T0 + 1,
      lastOrderAt: T0 + 3,
      // none has an orderId: each counts, and none is kept by id
      byId: {},
      repeated: 0,
      lastUnkeyedAt: T0 + 3,
    });
    expect(Number.isInteger(view.orders.revenueMinor.USD)).toBe(true);
  });

  it('tracks activity per channel', () => {
    const view = foldBothWays([
      fact(page('Home'), { channel: 'web', observedAt: T0 + 1 }),
      fact(page('Deals'), { channel: 'web', observedAt: T0 + 4 }),
      fact({ type: 'ScreenViewed', v: 1, data: { name: 'Cart' } }, { channel: 'mobile', observedAt: T0 + 2 }),
    ]);
    expect(view.channels).toEqual({
      web: { count: 2, firstSeenAt: T0 + 1, lastSeenAt: T0 + 4 },
      mobile: { count: 1, firstSeenAt: T0 + 2, lastSeenAt: T0 + 2 },
    });
    expect([view.firstSeenAt, view.lastSeenAt, view.eventCount]).toEqual([T0 + 1, T0 + 4, 3]);
  });
});

describe('orders: one per orderId', () => {
  const counted = (v: Customer360) => {
    const { count, revenueMinor, countByCurrency, firstOrderAt, lastOrderAt, repeated } = v.orders;
    return { count, revenueMinor, countByCurrency, firstOrderAt, lastOrderAt, repeated };
  };

  it('counts an orderId sent twice once: the earlier sending, its amount and time; the other is a repeat', () => {
    const view = foldBothWays([
      fact(order(1000, 'USD', 'o-1'), { observedAt: T0 + 1, eventId: 'e-b' }),
      fact(order(1000, 'USD', 'o-1'), { observedAt: T0 + 5, eventId: 'e-a' }),
    ]);
    expect(counted(view)).toEqual({
      count: 1,
      revenueMinor: { USD: 1000 },
      countByCurrency: { USD: 1 },
      firstOrderAt: T0 + 1,
      lastOrderAt: T0 + 1,
      repeated: 1,
    });
    expect(view.orders.byId).toEqual({ 'o-1': { at: T0 + 1, eventId: 'e-b', currency: 'USD', revenueMinor: 1000, repeats: 1 } });
    // the call is kept: activity and timeline count both
    expect(view.eventCount).toBe(2);
    expect(view.timeline.map((t) => t.eventId)).toEqual(['e-a', 'e-b']);
  });

  it('whatever the order they arrive in, the earlier sending counts, with its own currency, and the last order time goes back', () => {
    const view = foldBothWays([
      fact(order(500, 'EUR', 'o-1'), { observedAt: T0 + 9 }),
      fact(order(700, 'USD', 'o-1'), { observedAt: T0 + 2 }),
      fact(order(100, 'USD', 'o-2'), { observedAt: T0 + 4 }),
    ]);
    expect(counted(view)).toEqual({
      count: 2,
      revenueMinor: { USD: 800 },
      countByCurrency: { USD: 2 },
      firstOrderAt: T0 + 2,
      lastOrderAt: T0 + 4,
      repeated: 1,
    });
  });

  it('at the same time the lower event id counts', () => {
    const view = foldBothWays([
      fact(order(1, 'USD', 'o-1'), { observedAt: T0, eventId: 'e-2' }),
      fact(order(2, 'USD', 'o-1'), { observedAt: T0, eventId: 'e-1' }),
    ]);
    expect(view.orders.revenueMinor).toEqual({ USD: 2 });
  });

  it('counts every order without an orderId, and each orderId once beside them', () => {
    const view = foldBothWays([
      fact(order(10), { observedAt: T0 + 1 }),
      fact(order(10), { observedAt: T0 + 8 }),
      fact(order(20, 'USD', 'o-1'), { observedAt: T0 + 3 }),
      fact(order(20, 'USD', 'o-1'), { observedAt: T0 + 9 }),
      fact(order(30, 'USD', 'o-2'), { observedAt: T0 + 5 }),
    ]);
    expect(counted(view)).toEqual({ count: 4, revenueMinor: { USD: 70 }, countByCurrency: { USD: 4 }, firstOrderAt: T0 + 1, lastOrderAt: T0 + 8, repeated: 1 });
  });

  it('a merge of two customers that both recorded an order counts it once, as folding both histories does', () => {
    const s = [fact(order(100, 'USD', 'x'), { observedAt: T0 + 7, streamId: 's' }), fact(order(5, 'USD', 'y'), { observedAt: T0 + 2, streamId: 's' })];
    const a = [fact(order(100, 'USD', 'x'), { observedAt: T0 + 3, streamId: 'a' })];
    const merged = mergeViews(foldAll(s), a.reduce(evolveView, emptyView('a')));
    expect(counted(merged)).toEqual({
      count: 2,
      revenueMinor: { USD: 105 },
      countByCurrency: { USD: 2 },
      firstOrderAt: T0 + 2,
      lastOrderAt: T0 + 3,
      repeated: 1,
    });
    expect(merged.orders).toEqual(foldCluster('c', ['a'], [...s, ...a]).orders);
    // the rebuild's builder agrees
    const b = Customer360Builder.empty('c');
    for (const r of s) b.add(r);
    const other = Customer360Builder.empty('a');
    for (const r of a) other.add(r);
    b.absorb(other);
    expect(b.build().orders).toEqual(merged.orders);
  });

  it(`keeps the latest ${ORDER_IDS_KEPT} order ids: a repeat of a recent order is recognised, one of an order older than those counts again`, () => {
    const orders = Array.from({ length: ORDER_IDS_KEPT + 20 }, (_, i) => fact(order(10, 'USD', `o-${i}`), { observedAt: T0 + i * MINUTE }));
    const recentRepeat = fact(order(10, 'USD', `o-${ORDER_IDS_KEPT + 19}`), { observedAt: T0 + 1_000 * MINUTE });
    const view = foldAll([...orders, recentRepeat]);
    expect(Object.keys(view.orders.byId!).sort()).toEqual(
      orders
        .slice(20)
        .map((r) => (r.event as { data: { orderId: string } }).data.orderId)
        .sort(),
    );
    expect(counted(view)).toMatchObject({ count: ORDER_IDS_KEPT + 20, revenueMinor: { USD: (ORDER_IDS_KEPT + 20) * 10 }, repeated: 1 });
    // the rebuild's builder keeps the same ids
    const b = Customer360Builder.empty('c');
    for (const r of [...orders, recentRepeat]) b.add(r);
    expect(b.build().orders).toEqual(view.orders);
    // o-0 is no longer kept: sent again, it counts as an order
    const oldRepeat = fact(order(10, 'USD', 'o-0'), { observedAt: T0 + 1_001 * MINUTE });
    expect(counted(evolveView(view, oldRepeat))).toMatchObject({ count: ORDER_IDS_KEPT + 21, repeated: 1 });
    // a merge keeps the latest ids of both
    const other = [fact(order(10, 'USD', 'p-1'), { observedAt: T0 + 2_000 * MINUTE, streamId: 'a' })].reduce(evolveView, emptyView('a'));
    const merged = mergeViews(view, other);
    expect(Object.keys(merged.orders.byId!)).toHaveLength(ORDER_IDS_KEPT);
    expect(merged.orders.byId!['p-1']).toBeDefined();
    expect(merged.orders.byId!['o-20']).toBeUndefined();
  });

  it('reads a view stored before orders were kept by id: its orders stay counted, new ones are counted by id', () => {
    const stored: Customer360 = {
      ...emptyView('c'),
      orders: { count: 2, revenueMinor: { USD: 30 }, countByCurrency: { USD: 2 }, firstOrderAt: T0, lastOrderAt: T0 + 6 },
    };
    const r1 = fact(order(10, 'USD', 'o-1'), { observedAt: T0 + 1 });
    const r2 = fact(order(10, 'USD', 'o-1'), { observedAt: T0 + 2 });
    const view = [r1, r2].reduce(evolveView, stored);
    expect(counted(view)).toEqual({ count: 3, revenueMinor: { USD: 40 }, countByCurrency: { USD: 3 }, firstOrderAt: T0, lastOrderAt: T0 + 6, repeated: 1 });
    expect(view.orders.lastUnkeyedAt).toBe(T0 + 6);
  });
});

describe('timeline', () => {
  // 80 page views, some sharing a time so the event-id tie-break matters
  const events = Array.from({ length: 80 }, (_, i) =>
    fact(page(`p${i}`), { observedAt: T0 + Math.floor(i / 2) * MINUTE, eventId: `t-${String(i).padStart(3, '0')}` }),
  );
  const shuffled = (seed: number) => {
    const out = [...events];
    let s = seed;
    for (let i = out.length - 1; i > 0; i--) {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      const j = s % (i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };

  it('keeps the newest 50 events, newest first', () => {
    const view = foldCluster('c', [], events);
    expect(view.timeline).toHaveLength(TIMELINE_SIZE);
    expect(view.timeline.map((t) => t.eventId)).toEqual(
      events
        .slice(30)
        .map((e) => e.eventId)
        .reverse(),
    );
    expect(view.timeline[0]).toMatchObject({ type: 'PageViewed', title: 'Viewed page p79', channel: 'web' });
  });

  it('is the same whatever order the events are applied in', () => {
    const expected = foldCluster('c', [], events);
    for (const seed of [1, 7, 42, 2026]) expect(foldCluster('c', [], shuffled(seed))).toEqual(expected);
  });
});

describe('foldCluster', () => {
  it('leaves out events an unmerge gave back to the other customer', () => {
    const kept = fact(order(500));
    const givenBack = fact(order(700));
    const unmerged = fact({
      type: 'CustomerUnmerged',
      v: 1,
      data: { mergeId: 'm', absorbedId: 'b', reassignedEventIds: [givenBack.eventId], transferredKeys: [] },
    });
    const view = foldCluster('c', ['z', 'b'], [kept, givenBack, unmerged]);
    expect(view.orders.revenueMinor).toEqual({ USD: 500 });
    expect(view.eventCount).toBe(1);
    expect(view.aliases).toEqual(['b', 'z']);
  });
});

describe('order independence of labels and sources (regressions)', () => {
  const place = (city: string, country: string): CustomerEvent => ({ type: 'LocationObserved', v: 1, data: { city, country } });

  it('shows the spelling of a place from its latest sighting, whatever the fold order', () => {
    const view = foldBothWays([
      fact(place('Cape Town', 'ZA'), { observedAt: T0 + 1 }),
      fact(place('cape town', 'za'), { observedAt: T0 + 3 }),
      fact(place('CAPE TOWN', 'ZA'), { observedAt: T0 + 2 }),
    ]);
    expect(Object.values(view.locations)).toEqual([expect.objectContaining({ city: 'cape town', country: 'za', count: 3 })]);
  });

  it('keeps the smallest source for equal-time consents with the same answer, whatever the fold order', () => {
    const view = foldBothWays([
      fact(consent('marketing', true), { observedAt: T0, source: 'web' }),
      fact(consent('marketing', true), { observedAt: T0, source: 'crm' }),
    ]);
    expect(view.consents.marketing).toEqual({ at: T0, answers: ['granted'], source: 'crm' });
  });
});
