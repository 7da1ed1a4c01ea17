import { describe, expect, it } from 'vitest';
import { SegmentCall } from '../../src/application/segment/segment.schema.js';
import { generateDataset, generateSeed, SEED_SOURCES, type SeedCall } from '../../src/infrastructure/demo/dataset.js';

const all = (options: Parameters<typeof generateSeed>[0]) => {
  const plan = generateSeed(options);
  const people = [...plan.people];
  return { plan, people, calls: people.flat() };
};
const kind = (c: SeedCall): 'identify' | 'order' | 'event' =>
  c.call.type === 'identify' ? 'identify' : c.call.event === 'Order Completed' ? 'order' : 'event';

describe('seed data set', () => {
  it('has exactly the asked numbers of people, products, orders and clickstream events', () => {
    const { plan, people, calls } = all({ customers: 37, products: 11, orders: 123, events: 456, seed: 5 });
    expect(people).toHaveLength(37);
    expect(plan.products).toHaveLength(11);
    expect(calls.filter((c) => kind(c) === 'order')).toHaveLength(123);
    expect(calls.filter((c) => kind(c) === 'event')).toHaveLength(456);
    expect(calls).toHaveLength(plan.stats.calls);
    // every order refers to catalogue products
    const skus = new Set(plan.products.map((p) => p.product_id));
    for (const c of calls.filter((x) => kind(x) === 'order')) {
      const items = (c.call.properties as { products: { product_id: string }[] }).products;
      expect(items.length).toBeGreaterThan(0);
      for (const item of items) expect(skus.has(item.product_id)).toBe(true);
    }
  });

  it('sends valid Segment calls from all four sources with unique message ids', () => {
    const { calls } = all({ customers: 60, products: 20, orders: 200, events: 600, seed: 9 });
    expect(new Set(calls.map((c) => c.source))).toEqual(new Set(SEED_SOURCES));
    for (const c of calls) expect(SegmentCall.safeParse(c.call).success, JSON.stringify(c.call)).toBe(true);
    expect(new Set(calls.map((c) => c.call.messageId)).size).toBe(calls.length);
  });

  it('is reproducible by seed, and another seed gives other people', () => {
    const a = all({ customers: 10, products: 5, orders: 20, events: 40, seed: 1 }).calls;
    const b = all({ customers: 10, products: 5, orders: 20, events: 40, seed: 1 }).calls;
    const c = all({ customers: 10, products: 5, orders: 20, events: 40, seed: 2 }).calls;
    expect(b).toEqual(a);
    const ids = (calls: SeedCall[]) => new Set(calls.map((x) => x.call.userId).filter(Boolean));
    expect([...ids(a)].some((id) => ids(c).has(id))).toBe(false);
  });

  it('copes with no orders and no events: identify calls only', () => {
    const { calls } = all({ customers: 4, products: 1, orders: 0, events: 0, seed: 3 });
    expect(calls.length).toBeGreaterThanOrEqual(4);
    expect(calls.every((c) => kind(c) === 'identify')).toBe(true);
  });

  it('keeps the older generator as it was (tests and the benchmark use it)', () => {
    const { calls, stats } = generateDataset({ customers: 6, ordersPerCustomer: 2, eventsPerCustomer: 4, seed: 7 });
    expect(stats.people).toBe(6);
    expect(calls.length).toBeGreaterThan(20);
    expect(generateDataset({ customers: 6, ordersPerCustomer: 2, eventsPerCustomer: 4, seed: 7 }).calls).toEqual(calls);
  });
});
