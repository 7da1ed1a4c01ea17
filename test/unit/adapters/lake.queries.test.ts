import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { querySql } from '../../../src/adapters/lake/duckdb.analytics.js';
import { ANALYTICS_QUERIES, NOW_RANGE, queryParamNames } from '../../../src/application/lake/analytics.params.js';
import { emptyLakeBatch, type LakeBatch } from '../../../src/application/ports/lake.port.js';
import { DomainError } from '../../../src/domain/shared/errors.js';
import { tempLake } from '../../support/lake-fixture.js';

// The ten queries on a small hand-built lake, every answer worked out by hand in the comments.
// Customers: c1 (with c4 merged into it), c2, c3, and c5 who never ordered. Now is 2025-04-01.

const T = 't';
const at = (m: number, d: number): number => Date.UTC(2025, m - 1, d, 12);
const NOW = String(Date.UTC(2025, 3, 1));
const DAY = 86_400_000;

const handBuilt = (repeats = false): LakeBatch => {
  const b = emptyLakeBatch();
  const order = (
    id: string,
    customerId: string,
    when: number,
    revenueMinor: number,
    channel: string,
    lines: [string, string, number, number][],
    currency = 'USD',
  ) => {
    b.orders.push({ eventId: `e-${id}`, orderId: id, customerId, channel, currency, revenueMinor, observedAt: when });
    lines.forEach(([productId, category, quantity, priceMinor], lineNo) =>
      b.orderLines.push({ eventId: `e-${id}`, lineNo, orderId: id, customerId, productId, category, quantity, priceMinor, currency, observedAt: when }),
    );
    b.customers.push({ kind: 'seen', customerId, firstSeenAt: when, lastSeenAt: when });
  };
  order('o1', 'c1', at(1, 10), 10_000, 'web', [
    ['p1', 'books', 2, 2_000],
    ['p2', 'home', 1, 6_000],
  ]);
  order('o2', 'c4', at(2, 10), 30_000, 'mobile', [
    ['p1', 'books', 1, 2_000],
    ['p2', 'home', 1, 6_000],
    ['p3', 'electronics', 1, 22_000],
  ]);
  order('o3', 'c2', at(1, 20), 5_000, 'web', [['p2', 'home', 1, 5_000]]);
  order('o4', 'c2', at(3, 5), 7_000, 'web', [['p3', 'electronics', 1, 7_000]], 'EUR');
  order('o5', 'c3', at(2, 1), 120_000, 'web', [
    ['p1', 'books', 1, 2_000],
    ['p3', 'electronics', 2, 59_000],
  ]);
  if (repeats) {
    // the same orders sent again under other event ids, each where its customer was already active
    // that day on that channel (so sessions and activity stay as they were): c1's o1 an hour later,
    // o1 again from c4 (merged into c1) on the day of its own order, and c3's o5 with its lines
    const again = (eventId: string, of: string, customerId: string, when: number, channel: string) => {
      const o = b.orders.find((x) => x.orderId === of)!;
      b.orders.push({ ...o, eventId, customerId, channel, observedAt: when });
      for (const l of b.orderLines.filter((x) => x.orderId === of)) b.orderLines.push({ ...l, eventId, customerId, observedAt: when });
      b.customers.push({ kind: 'seen', customerId, firstSeenAt: when, lastSeenAt: when });
    };
    again('r-o1', 'o1', 'c1', at(1, 10) + 3_600_000, 'web');
    again('r-o1-c4', 'o1', 'c4', at(2, 10), 'mobile');
    again('r-o5', 'o5', 'c3', at(2, 1) + 60_000, 'web');
  }
  b.customers.push({ kind: 'merged', customerId: 'c4', into: 'c1' });
  b.customers.push({ kind: 'seen', customerId: 'c5', firstSeenAt: at(3, 20), lastSeenAt: at(3, 20) });
  const pe = (id: string, customerId: string, productId: string, action: string, channel: string, when: number) =>
    b.productEvents.push({ eventId: id, customerId, productId, action, channel, observedAt: when });
  pe('v1', 'c1', 'p1', 'viewed', 'web', at(1, 10));
  pe('v2', 'c2', 'p1', 'viewed', 'web', at(1, 20));
  pe('v3', 'c3', 'p1', 'viewed', 'web', at(2, 1));
  pe('v4', 'c5', 'p1', 'viewed', 'mobile', at(3, 20));
  pe('v5', 'c1', 'p2', 'viewed', 'web', at(1, 10));
  pe('v6', 'c2', 'p2', 'viewed', 'mobile', at(1, 19));
  pe('a1', 'c2', 'p1', 'added', 'web', at(1, 20));
  pe('a2', 'c3', 'p3', 'added', 'web', at(2, 1));
  b.views.push({ eventId: 'pv1', customerId: 'c1', kind: 'page', name: 'Home', channel: 'web', observedAt: at(1, 10) });
  b.views.push({ eventId: 'pv2', customerId: 'c5', kind: 'screen', name: 'Home', channel: 'mobile', observedAt: at(3, 20) });
  b.locations.push({ eventId: 'l1', customerId: 'c1', country: 'ZA', region: 'WC', city: 'Cape Town', observedAt: at(1, 1) });
  b.locations.push({ eventId: 'l2', customerId: 'c1', country: 'GB', region: 'ENG', city: 'London', observedAt: at(3, 1) });
  b.locations.push({ eventId: 'l3', customerId: 'c4', country: 'DE', region: 'BE', city: 'Berlin', observedAt: at(2, 9) });
  b.locations.push({ eventId: 'l4', customerId: 'c2', country: 'ZA', region: 'WC', city: 'Cape Town', observedAt: at(1, 2) });
  for (const [productId, category] of [
    ['p1', 'books'],
    ['p2', 'home'],
    ['p3', 'electronics'],
  ] as const)
    b.products.push({ productId, category, observedAt: at(1, 1) });
  return b;
};

describe('the ten analytics queries count an order once per customer', () => {
  let plain: Awaited<ReturnType<typeof tempLake>>;
  let repeated: Awaited<ReturnType<typeof tempLake>>;
  beforeAll(async () => {
    plain = await tempLake();
    repeated = await tempLake();
    await plain.lake.writer.write(T, handBuilt(), '0000000000000001');
    await plain.lake.writer.flush(T);
    await repeated.lake.writer.write(T, handBuilt(true), '0000000000000001');
    await repeated.lake.writer.flush(T);
  });
  afterAll(() => {
    plain?.cleanup();
    repeated?.cleanup();
  });

  it('answer with repeats of an order_id (a retry, a reloaded thank-you page, the same order from a merged id) as without them', async () => {
    for (const q of ANALYTICS_QUERIES) {
      const params = q === 'demand-forecast-base' ? { now: NOW, from_date: '2025-01-01', to_date: '2025-03-31' } : { now: NOW };
      const [a, b] = await Promise.all([plain.lake.analytics.run(T, q, params), repeated.lake.analytics.run(T, q, params)]);
      expect(b, q).toEqual(a);
    }
    // the repeats are in the lake: kept, not counted
    const rows = await repeated.lake.analytics.run(T, 'customer-lifetime-value', { now: NOW });
    expect(rows.find((r) => r.customer_id === 'c1')).toMatchObject({ orders: 2, clv_minor: 40_000 });
  });
});

describe('the ten analytics queries on a hand-built lake', () => {
  let lake: Awaited<ReturnType<typeof tempLake>>;
  const run = (q: string, params: Record<string, string> = {}) => lake.lake.analytics.run(T, q, { now: NOW, ...params });
  const by = <R extends Record<string, unknown>>(rows: readonly R[], key: string) => new Map(rows.map((r) => [r[key], r]));

  beforeAll(async () => {
    lake = await tempLake();
    await lake.lake.writer.write(T, handBuilt(), '0000000000000001');
    await lake.lake.writer.flush(T);
  });
  afterAll(() => lake?.cleanup());

  it('1. customer lifetime value: survivors only, revenue in the currency, fixed segments', async () => {
    const rows = await run('customer-lifetime-value');
    expect(rows.map((r) => r.customer_id)).toEqual(['c3', 'c1', 'c2', 'c5']); // by CLV, c4 counted under c1
    const c = by(rows, 'customer_id');
    // c1: o1 10,000 + o2 30,000 (c4's), two USD orders; first order Jan 10 at noon: 80.5 days to Apr 1
    expect(c.get('c1')).toMatchObject({ orders: 2, clv_minor: 40_000, average_order_value_minor: 20_000, tenure_days: 80, segment: 'Medium' });
    // c2: the EUR order counts as an order but not as USD revenue
    expect(c.get('c2')).toMatchObject({ orders: 2, clv_minor: 5_000, average_order_value_minor: 5_000, tenure_days: 70, segment: 'Low' });
    expect(c.get('c3')).toMatchObject({ orders: 1, clv_minor: 120_000, segment: 'High', first_order_date: '2025-02-01' });
    expect(c.get('c5')).toMatchObject({ orders: 0, clv_minor: 0, segment: 'Prospect', tenure_days: null });
    const higher = await run('customer-lifetime-value', { clv_high_minor: '150000', clv_medium_minor: '50000' });
    expect(by(higher, 'customer_id').get('c3')?.segment).toBe('Medium');
  });

  it('2. monthly revenue with month-over-month growth, orders and customers in the currency of the revenue', async () => {
    expect(await run('monthly-revenue')).toEqual([
      { year: 2025, month: 1, revenue_minor: 15_000, orders: 2, customers: 2, growth_pct: null },
      // (150,000 - 15,000) / 15,000
      { year: 2025, month: 2, revenue_minor: 150_000, orders: 2, customers: 2, growth_pct: 900 },
      // c2's EUR order (o4) is no USD order: nothing beside no revenue
      { year: 2025, month: 3, revenue_minor: 0, orders: 0, customers: 0, growth_pct: -100 },
    ]);
    expect(await run('monthly-revenue', { currency: 'EUR' })).toEqual([
      { year: 2025, month: 1, revenue_minor: 0, orders: 0, customers: 0, growth_pct: null },
      { year: 2025, month: 2, revenue_minor: 0, orders: 0, customers: 0, growth_pct: null },
      { year: 2025, month: 3, revenue_minor: 7_000, orders: 1, customers: 1, growth_pct: null },
    ]);
  });

  it('3. cohort retention by month of first order', async () => {
    const rows = await run('cohort-retention');
    expect(rows.map((r) => [r.cohort_year, r.cohort_month, r.cohort_customers, r.months_after, r.active_customers, r.retention])).toEqual([
      [2025, 1, 2, 0, 2, 1], // c1 and c2
      [2025, 1, 2, 1, 1, 0.5], // c1 (through c4) in February
      [2025, 1, 2, 2, 1, 0.5], // c2 in March
      [2025, 2, 1, 0, 1, 1], // c3
    ]);
    expect((await run('cohort-retention', { months: '1' })).length).toBe(3);
  });

  it('4. product performance: units, revenue, buyers, views, view-to-purchase', async () => {
    const rows = await run('product-performance');
    expect(rows.map((r) => r.product_id)).toEqual(['p3', 'p2', 'p1']);
    const p = by(rows, 'product_id');
    // p1: 2 + 1 + 1 units, 4,000 + 2,000 + 2,000; bought by c1 (twice) and c3; in 3 orders over 4 views
    expect(p.get('p1')).toMatchObject({ category: 'books', units: 4, revenue_minor: 8_000, buyers: 2, views: 4, view_to_purchase_rate: 0.75 });
    expect(p.get('p2')).toMatchObject({ units: 3, revenue_minor: 17_000, buyers: 2, views: 2, view_to_purchase_rate: 1.5 });
    // p3: the EUR line adds a unit but no USD revenue; never viewed
    expect(p.get('p3')).toMatchObject({ units: 4, revenue_minor: 140_000, buyers: 3, views: 0, view_to_purchase_rate: null });
  });

  it('5. churn risk against fixed thresholds', async () => {
    const rows = await run('churn-risk');
    expect(rows.map((r) => r.customer_id)).toEqual(['c3', 'c1', 'c5', 'c2']);
    const c = by(rows, 'customer_id');
    // c1: usual interval 31 days, 49.5 days since the last order (at noon)
    expect(c.get('c1')).toMatchObject({
      churn_risk: Math.round((1 - Math.exp(-(49.5 - 31) / 31)) * 1000) / 1000,
      risk_band: 'medium',
      days_since_last_order: 49,
    });
    // c2: 26.5 days since, within the usual 44
    expect(c.get('c2')).toMatchObject({ churn_risk: 0, risk_band: 'low' });
    // c3: one order, last seen Feb 1 at noon: 27.5 + 31 = 58.5 days ago, of 90
    expect(c.get('c3')).toMatchObject({ churn_risk: Math.round((58.5 / 90) * 1000) / 1000, risk_band: 'medium' });
    expect(c.get('c5')).toMatchObject({ churn_risk: Math.round((11.5 / 90) * 1000) / 1000, risk_band: 'low' });
    const strict = by(await run('churn-risk', { churn_inactive_days: '30' }), 'customer_id');
    expect(strict.get('c3')?.churn_risk).toBe(1);
  });

  it('6. channel conversion funnel', async () => {
    expect(await run('channel-funnel')).toEqual([
      // sessions: c1 Jan 10, c2 Jan 20, c3 Feb 1, c2 Mar 5
      { channel: 'web', sessions: 4, product_views: 4, cart_adds: 2, orders: 4, view_rate: 1, cart_rate: 0.5, order_rate: 2, session_conversion: 1 },
      // sessions: c2 Jan 19, c1 (as c4) Feb 10, c5 Mar 20
      {
        channel: 'mobile',
        sessions: 3,
        product_views: 2,
        cart_adds: 0,
        orders: 1,
        view_rate: 0.6667,
        cart_rate: 0,
        order_rate: null,
        session_conversion: 0.3333,
      },
    ]);
  });

  it('7. RFM scores and segments from fixed thresholds', async () => {
    const rows = by(await run('rfm-segmentation'), 'customer_id');
    const rfm = (id: string) => [rows.get(id)?.recency, rows.get(id)?.frequency, rows.get(id)?.monetary, rows.get(id)?.segment];
    expect(rfm('c1')).toEqual([4, 3, 3, 'Potential Loyalists']); // 49.5 days, 2 orders, 40,000
    expect(rfm('c2')).toEqual([5, 3, 2, 'Potential Loyalists']); // 26.5 days, 2 orders, 5,000
    expect(rfm('c3')).toEqual([4, 2, 5, 'New Customers']); // 58.5 days, 1 order, 120,000
    expect(rfm('c5')).toEqual([1, 1, 1, 'Prospect']);
    const tighter = by(await run('rfm-segmentation', { recency_days_1: '60' }), 'customer_id');
    expect(tighter.get('c3')?.recency).toBe(5);
  });

  it('8. product affinity: support, confidence and lift', async () => {
    // baskets {p1,p2} {p1,p2,p3} {p2} {p3} {p1,p3}: each product in 3 of 5 orders
    const lift = Math.round(((2 * 5) / (3 * 3)) * 10_000) / 10_000;
    expect(await run('product-affinity')).toEqual([
      { product_a: 'p1', product_b: 'p2', orders: 2, support: 0.4, confidence_a_to_b: 0.6667, confidence_b_to_a: 0.6667, lift },
      { product_a: 'p1', product_b: 'p3', orders: 2, support: 0.4, confidence_a_to_b: 0.6667, confidence_b_to_a: 0.6667, lift },
    ]);
    const all = await run('product-affinity', { min_orders: '1' });
    expect(all.at(-1)).toMatchObject({ product_a: 'p2', product_b: 'p3', orders: 1, lift: Math.round((5 / 9) * 10_000) / 10_000 });
  });

  it('9. geographic revenue at the latest city of each customer', async () => {
    const rows = await run('geographic-revenue');
    const cities = rows.filter((r) => r.level === 'city').map((r) => [r.country, r.region, r.city, r.revenue_minor, r.orders, r.customers]);
    expect(cities).toEqual([
      ['GB', 'ENG', 'London', 40_000, 2, 1], // c1 moved to London after Cape Town; c4's Berlin is older
      ['ZA', 'WC', 'Cape Town', 5_000, 1, 1], // c2's o3; its EUR o4 is no USD order
      ['unknown', 'unknown', 'unknown', 120_000, 1, 1], // c3 was never located
    ]);
    expect(rows.filter((r) => r.level === 'country').map((r) => r.country)).toEqual(['GB', 'ZA', 'unknown']);
    const eur = await run('geographic-revenue', { currency: 'EUR' });
    expect(eur.filter((r) => r.level === 'country').map((r) => [r.country, r.revenue_minor, r.orders, r.customers])).toEqual([
      ['GB', 0, 0, 0],
      ['ZA', 7_000, 1, 1],
      ['unknown', 0, 0, 0],
    ]);
  });

  it('10. demand base: zero-filled days with 7- and 28-day moving averages', async () => {
    const rows = await run('demand-forecast-base', { from_date: '2025-01-10', to_date: '2025-01-21' });
    expect(rows.length).toBe(3 * 12); // books, electronics, home over 12 days
    const books = rows.filter((r) => r.item === 'books');
    expect(books[0]).toMatchObject({ date_key: '2025-01-10', units: 2, revenue_minor: 4_000, units_ma7: 2, units_ma28: 2 });
    expect(books[6]).toMatchObject({ date_key: '2025-01-16', units: 0, units_ma7: Math.round((2 / 7) * 10_000) / 10_000 });
    expect(books[7]?.units_ma7).toBe(0);
    expect(books[11]?.units_ma28).toBe(Math.round((2 / 12) * 10_000) / 10_000);
    const home = rows.filter((r) => r.item === 'home');
    expect(home[10]).toMatchObject({ date_key: '2025-01-20', units: 1, units_ma7: Math.round((1 / 7) * 10_000) / 10_000 });
    const byProduct = await run('demand-forecast-base', { from_date: '2025-01-10', to_date: '2025-01-10', level: 'product' });
    expect(byProduct.map((r) => [r.item, r.units])).toEqual([
      ['p1', 2],
      ['p2', 1],
      ['p3', 0],
    ]);
  });

  it('answer as of now: a customer first seen after it is left out, one seen again after it was last seen at their activity up to it', async () => {
    const feb15 = String(Date.UTC(2025, 1, 15));
    // c5 was first seen on 20 March: not yet a customer on 15 February (nor c4, merged into c1)
    for (const q of ['customer-lifetime-value', 'churn-risk', 'rfm-segmentation']) {
      const ids = (await run(q, { now: feb15 })).map((r) => r.customer_id).sort();
      expect(ids, q).toEqual(['c1', 'c2', 'c3']);
    }
    expect((await run('customer-lifetime-value', { now: String(Date.UTC(2025, 0, 15)) })).map((r) => [r.customer_id, r.orders, r.clv_minor])).toEqual([
      ['c1', 1, 10_000],
    ]);
    // c2 was last seen on 5 March (o4), but on 15 February their latest activity was o3 on 20 January
    const churn = by(await run('churn-risk', { now: feb15 }), 'customer_id');
    expect(churn.get('c2')).toMatchObject({ orders: 1, days_since_last_order: 25, days_since_last_seen: 25 });
    // c3, last seen on 1 February, keeps their own last seen
    expect(churn.get('c3')).toMatchObject({ days_since_last_seen: 13 });
  });

  it('use no population quantiles, so one customer never moves another', () => {
    for (const q of lake.lake.analytics.names) expect(querySql(q), q).not.toMatch(/ntile|percent_rank|cume_dist|quantile|percentile|median/i);
  });

  it('answers a bad parameter or an unknown query with an error naming it', async () => {
    const fails = async (q: string, params: Record<string, string>, field: string) => {
      const e = await run(q, params).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(DomainError);
      expect((e as DomainError).code).toBe('VALIDATION_FAILED');
      expect((e as DomainError).path).toEqual([field]);
    };
    await fails('monthly-revenue', { currency: 'XYZ' }, 'currency');
    await fails('churn-risk', { churn_high: '0.3', churn_medium: '0.9' }, 'churn_medium');
    await fails('churn-risk', { churn_high: '2' }, 'churn_high');
    await fails('churn-risk', { nonsense: '1' }, 'nonsense');
    await fails('rfm-segmentation', { now: 'yesterday' }, 'now');
    await fails('no-such-query', {}, 'query');
    await fails('churn-risk', { now: '8640000000000001' }, 'now');
    await fails('churn-risk', { level: 'product' }, 'level');
    expect(DAY).toBe(86_400_000);
  });

  it('each take the parameters their SQL uses, and no others', () => {
    for (const q of ANALYTICS_QUERIES) {
      const used = [...new Set([...querySql(q).matchAll(/\$([a-z_0-9]+)/g)].map((m) => m[1]!))].sort();
      const taken = queryParamNames(q).map((p) => (p === 'now' ? 'now_ms' : p));
      expect(used, q).toEqual([...taken].sort());
    }
  });

  it('run at the edges of every parameter they accept', async () => {
    const edges: Record<string, readonly string[]> = {
      now: ['0', String(NOW_RANGE.max)],
      currency: ['zwl'],
      churn_inactive_days: ['0.000001', '100000'],
      months: ['0', '120'],
      min_orders: ['1', String(Number.MAX_SAFE_INTEGER)],
      level: ['product'],
      from_date: ['1970-01-01'],
      to_date: ['1970-01-01'],
    };
    // thresholds that must ascend reach their edges together: the lowest of each, then the highest
    const chains: readonly (readonly string[])[] = [
      ['churn_medium', 'churn_high'],
      ['clv_medium_minor', 'clv_high_minor'],
      ...['recency_days_', 'frequency_orders_', 'monetary_minor_'].map((p) => [1, 2, 3, 4].map((i) => `${p}${i}`)),
    ];
    for (const q of ANALYTICS_QUERIES)
      for (const chain of chains.filter((c) => queryParamNames(q).includes(c[0]!))) {
        const [step, max] = chain[0] === 'churn_medium' ? [0.5, 1] : chain[0]!.startsWith('recency') ? [1, 100_000] : [1, Number.MAX_SAFE_INTEGER];
        for (const at of [(j: number) => j * step, (j: number) => max - (chain.length - 1 - j) * step]) {
          const raw = Object.fromEntries(chain.map((p, j) => [p, String(at(j))]));
          await expect(run(q, raw), `${q} ${JSON.stringify(raw)}`).resolves.toBeInstanceOf(Array);
        }
      }
    for (const q of ANALYTICS_QUERIES)
      for (const p of queryParamNames(q).filter((p) => !chains.some((c) => c.includes(p))))
        for (const v of edges[p] ?? ['0', String(Number.MAX_SAFE_INTEGER)]) {
          // a demand base over 8,000 years of days is not a run for a unit test
          const raw = q === 'demand-forecast-base' && p === 'now' ? { now: v, from_date: new Date(Number(v)).toISOString().slice(0, 10) } : { [p]: v };
          await expect(run(q, raw), `${q} ${p}=${v}`).resolves.toBeInstanceOf(Array);
        }
  });
});
