import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticAuthenticator } from '../../../src/adapters/config/static-credentials.js';
import { createHttpApp, type HttpApp } from '../../../src/adapters/http/app.js';
import { ANALYTICS_QUERIES } from '../../../src/application/lake/analytics.params.js';
import { syncIntake } from '../../../src/application/ingest/intake.js';
import { emptyLakeBatch, type LakeBatch } from '../../../src/application/ports/lake.port.js';
import { makeHarness } from '../../support/harness.js';
import { tempLake } from '../../support/lake-fixture.js';

// The console's analytics pages (app.request, no socket): each of the ten queries drawn for the
// signed-in credential's tenant only, the charts carrying the values worked out by hand below,
// another tenant's rows never on a page, and a process without a lake saying so (no 5xx).
//
// acme, now 2025-04-01:
//   o1 c1 2025-01-10 web    100.00 USD  p1 books 2 x 20.00, p2 home 1 x 60.00
//   o2 c2 2025-01-20 web     50.00 USD  p2 home 1 x 50.00
//   o3 c1 2025-02-10 mobile 300.00 USD  p1 1 x 20.00, p2 1 x 60.00, p3 electronics 1 x 220.00
//   c1 viewed p1 (web, Jan 10); c2 viewed p2 and added it (web, Jan 20)
//   c1 last seen in Cape Town (ZA), c2 in London (GB)
// globex: one customer gx-cust, one 9,999.00 USD order of gx-prod, seen in Gxville (FR).

const at = (m: number, d: number): number => Date.UTC(2025, m - 1, d, 12);
const NOW = '2025-04-01';
const ACME = 'tok-acme-reader-0123456789';
const GLOBEX = 'tok-globex-reader-012345678';

const acme = (): LakeBatch => {
  const b = emptyLakeBatch();
  const order = (id: string, customerId: string, when: number, revenueMinor: number, channel: string, lines: [string, string, number, number][]) => {
    b.orders.push({ eventId: `e-${id}`, orderId: id, customerId, channel, currency: 'USD', revenueMinor, observedAt: when });
    lines.forEach(([productId, category, quantity, priceMinor], lineNo) => {
      b.orderLines.push({ eventId: `e-${id}`, lineNo, orderId: id, customerId, productId, category, quantity, priceMinor, currency: 'USD', observedAt: when });
      b.products.push({ productId, category, observedAt: when });
    });
    b.customers.push({ kind: 'seen', customerId, firstSeenAt: when, lastSeenAt: when });
  };
  order('o1', 'c1', at(1, 10), 10_000, 'web', [
    ['p1', 'books', 2, 2_000],
    ['p2', 'home', 1, 6_000],
  ]);
  order('o2', 'c2', at(1, 20), 5_000, 'web', [['p2', 'home', 1, 5_000]]);
  order('o3', 'c1', at(2, 10), 30_000, 'mobile', [
    ['p1', 'books', 1, 2_000],
    ['p2', 'home', 1, 6_000],
    ['p3', 'electronics', 1, 22_000],
  ]);
  b.productEvents.push({ eventId: 'v1', customerId: 'c1', productId: 'p1', action: 'viewed', channel: 'web', observedAt: at(1, 10) });
  b.productEvents.push({ eventId: 'v2', customerId: 'c2', productId: 'p2', action: 'viewed', channel: 'web', observedAt: at(1, 20) });
  b.productEvents.push({ eventId: 'a1', customerId: 'c2', productId: 'p2', action: 'added', channel: 'web', observedAt: at(1, 20) });
  b.locations.push({ eventId: 'l1', customerId: 'c1', country: 'ZA', region: 'WC', city: 'Cape Town', observedAt: at(1, 1) });
  b.locations.push({ eventId: 'l2', customerId: 'c2', country: 'GB', region: 'ENG', city: 'London', observedAt: at(1, 2) });
  return b;
};

const globex = (): LakeBatch => {
  const b = emptyLakeBatch();
  b.orders.push({ eventId: 'e-gx', orderId: 'gx-order', customerId: 'gx-cust', channel: 'web', currency: 'USD', revenueMinor: 999_900, observedAt: at(1, 5) });
  b.orderLines.push({
    eventId: 'e-gx',
    lineNo: 0,
    orderId: 'gx-order',
    customerId: 'gx-cust',
    productId: 'gx-prod',
    category: 'gx-cat',
    quantity: 1,
    priceMinor: 999_900,
    currency: 'USD',
    observedAt: at(1, 5),
  });
  b.products.push({ productId: 'gx-prod', category: 'gx-cat', observedAt: at(1, 5) });
  b.customers.push({ kind: 'seen', customerId: 'gx-cust', firstSeenAt: at(1, 5), lastSeenAt: at(1, 5) });
  b.locations.push({ eventId: 'gl', customerId: 'gx-cust', country: 'FR', region: 'IDF', city: 'Gxville', observedAt: at(1, 5) });
  return b;
};
// nippon: one customer ny-cust, a 1,500 JPY order in January and a 1.234 BHD order in February,
// in their currencies' minor units (yen have none, dinars three decimals)
const NIPPON = 'tok-nippon-reader-0123456789';
const nippon = (): LakeBatch => {
  const b = emptyLakeBatch();
  for (const [id, when, currency, revenueMinor] of [
    ['ny-1', at(1, 7), 'JPY', 1_500],
    ['ny-2', at(2, 7), 'BHD', 1_234],
  ] as const) {
    b.orders.push({ eventId: `e-${id}`, orderId: id, customerId: 'ny-cust', channel: 'web', currency, revenueMinor, observedAt: when });
    b.customers.push({ kind: 'seen', customerId: 'ny-cust', firstSeenAt: when, lastSeenAt: when });
  }
  return b;
};

/** every value of globex's that could show on a page */
const GLOBEX_VALUES = ['gx-cust', 'gx-prod', 'gx-cat', 'gx-order', 'Gxville', 'IDF', '9999', '9,999'];

let lake: Awaited<ReturnType<typeof tempLake>>;
let withLake: HttpApp;
let noLake: HttpApp;

const appOf = (analytics: typeof lake.lake.analytics | undefined): HttpApp => {
  const h = makeHarness();
  return createHttpApp({
    core: h.core,
    intake: syncIntake(h.core.ingest),
    auth: new StaticAuthenticator([
      { id: 'acme-reader', tenant: 'acme', kind: 'token', secret: ACME, scopes: ['read'] },
      { id: 'globex-reader', tenant: 'globex', kind: 'token', secret: GLOBEX, scopes: ['read'] },
      { id: 'nippon-reader', tenant: 'nippon', kind: 'token', secret: NIPPON, scopes: ['read'] },
    ]),
    sourceOf: () => h.web,
    metrics: h.ports.metrics,
    now: h.clock.now,
    analytics,
    console: { sessionKey: 'k'.repeat(40) },
  });
};

beforeAll(async () => {
  lake = await tempLake();
  for (const [tenant, batch] of [
    ['acme', acme()],
    ['globex', globex()],
    ['nippon', nippon()],
  ] as const) {
    await lake.lake.writer.write(tenant, batch, '0000000000000001');
    await lake.lake.writer.flush(tenant);
  }
  withLake = appOf(lake.lake.analytics);
  noLake = appOf(undefined);
});
afterAll(() => lake?.cleanup());

const signIn = async (app: HttpApp, token: string): Promise<string> => {
  const res = await app.request('/console/sign-in', { method: 'POST', body: new URLSearchParams({ token, next: '/console' }) });
  expect(res.status).toBe(303);
  return res.headers.get('set-cookie')!.split(';')[0]!;
};
const page = async (app: HttpApp, path: string, token = ACME): Promise<{ status: number; html: string }> => {
  const res = await app.request(path, { headers: { cookie: await signIn(app, token) } });
  return { status: res.status, html: await res.text() };
};
/** the accessible names of the page's charts */
const chartLabels = (html: string): string[] =>
  [...html.matchAll(/<svg class="chart[^"]*"[^>]*aria-label="([^"]*)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));

describe('the console analytics pages', () => {
  it('lists the ten queries, linked from the navigation', async () => {
    const { status, html } = await page(withLake, '/console/analytics');
    expect(status).toBe(200);
    expect(html).toContain('<a href="/console/analytics">Analytics</a>');
    for (const q of ANALYTICS_QUERIES) expect(html).toContain(`href="/console/analytics/${q}"`);
  });

  it('draws monthly revenue as bars: 150.00 USD in January (o1 + o2), 300.00 in February, growth 100%', async () => {
    const { status, html } = await page(withLake, `/console/analytics/monthly-revenue?now=${NOW}`);
    expect(status).toBe(200);
    expect(chartLabels(html)).toContain('revenue per month in USD: 2025-01 150, 2025-02 300');
    expect(chartLabels(html)).toContain('orders per month: 2025-01 2, 2025-02 1');
    // the table under it: year, month, revenue_minor, orders, customers, growth_pct
    expect(html).toMatch(
      /<td class="num">2025<\/td><td class="num">2<\/td><td class="num">30000<\/td><td class="num">1<\/td><td class="num">1<\/td><td class="num">100<\/td>/,
    );
  });

  it("draws amounts in their currency's minor units: 1,500 JPY, 1.234 BHD", async () => {
    const yen = chartLabels((await page(withLake, `/console/analytics/monthly-revenue?now=${NOW}&currency=JPY`, NIPPON)).html);
    expect(yen).toContain('revenue per month in JPY: 2025-01 1500, 2025-02 0');
    const dinars = chartLabels((await page(withLake, `/console/analytics/customer-lifetime-value?now=${NOW}&currency=BHD`, NIPPON)).html);
    expect(dinars).toContain('the ten customers of highest lifetime value, in BHD: ny-cust 1.234 BHD');
    expect(dinars.find((l) => l.startsWith('revenue per CLV segment in BHD'))).toContain('1.234 BHD');
  });

  it('draws CLV segments: c1 400.00 (Medium), c2 50.00 (Low)', async () => {
    const { html } = await page(withLake, `/console/analytics/customer-lifetime-value?now=${NOW}`);
    const labels = chartLabels(html);
    expect(labels).toContain('customers per CLV segment: High 0, Medium 1, Low 1, Prospect 0');
    expect(labels).toContain('revenue per CLV segment in USD: High 0 USD, Medium 400 USD, Low 50 USD, Prospect 0 USD');
    expect(labels).toContain('the ten customers of highest lifetime value, in USD: c1 400 USD, c2 50 USD');
  });

  it('draws cohort retention as a grid: the January cohort 2 of 2 in month 0, 1 of 2 (c1) in month 1', async () => {
    const { html } = await page(withLake, `/console/analytics/cohort-retention?now=${NOW}`);
    expect(html).toMatch(/<svg class="chart heatmap"/);
    expect(html).toContain('<title>2025-01, 0: 100% (2 of 2)</title>');
    expect(html).toContain('<title>2025-01, 1: 50% (1 of 2)</title>');
  });

  it('draws a funnel per channel: web 2 sessions, 2 product views, 1 cart add, 2 orders; mobile 1 session, 1 order', async () => {
    const { html } = await page(withLake, `/console/analytics/channel-funnel?now=${NOW}`);
    const labels = chartLabels(html);
    expect(labels).toContain('conversion funnel of channel web: sessions 2, product views 2, cart adds 1, orders 2');
    expect(labels).toContain('conversion funnel of channel mobile: sessions 1, product views 0, cart adds 0, orders 1');
  });

  it('draws geographic revenue, product revenue, affinity, churn, RFM and demand from the same rows', async () => {
    const geo = chartLabels((await page(withLake, `/console/analytics/geographic-revenue?now=${NOW}`)).html);
    expect(geo).toContain('revenue per country in USD: GB 50 USD, ZA 400 USD');
    const products = chartLabels((await page(withLake, `/console/analytics/product-performance?now=${NOW}`)).html);
    // p3 220.00, p2 60 + 50 + 60 = 170.00, p1 2 x 20 + 20 = 60.00
    expect(products).toContain('revenue per product in USD, the fifteen highest: p3 220 USD, p2 170 USD, p1 60 USD');
    const affinity = chartLabels((await page(withLake, `/console/analytics/product-affinity?now=${NOW}`)).html);
    // p1 and p2 together in o1 and o3: 2 of 3 orders, p1 in 2, p2 in 3: lift 2 x 3 / (2 x 3) = 1
    expect(affinity).toContain('lift of product pairs bought in the same order, the fifteen highest: p1 + p2 1');
    const churn = chartLabels((await page(withLake, `/console/analytics/churn-risk?now=${NOW}`)).html);
    expect(churn.some((l) => /^customers per churn risk band: high \d, medium \d, low \d$/.test(l))).toBe(true);
    const rfm = chartLabels((await page(withLake, `/console/analytics/rfm-segmentation?now=${NOW}`)).html);
    expect(rfm.find((l) => l.startsWith('customers per recency score'))).toMatch(/R1 \d, R2 \d, R3 \d, R4 \d, R5 \d$/);
    const demand = await page(withLake, `/console/analytics/demand-forecast-base?now=${NOW}&from_date=2025-01-01&to_date=2025-03-31`);
    // the busiest first: books 3 units (p1 2 + 1), home 3 (p2 1 + 1 + 1), electronics 1
    expect(chartLabels(demand.html)).toContain('units sold per day, 28-day moving average, books, home, electronics; the numbers are in the table');
    expect(demand.html).toMatch(/<polyline fill="none" points="[\d., ]+"/);
  });

  it("shows the signed-in tenant's rows only: no page of acme's holds a value of globex's, and globex sees its own", async () => {
    for (const q of ANALYTICS_QUERIES) {
      const { status, html } = await page(withLake, `/console/analytics/${q}?now=${NOW}`);
      expect(status, q).toBe(200);
      for (const v of GLOBEX_VALUES) expect(html, `${q} holds ${v}`).not.toContain(v);
    }
    const theirs = await page(withLake, `/console/analytics/customer-lifetime-value?now=${NOW}`, GLOBEX);
    expect(chartLabels(theirs.html)).toContain('the ten customers of highest lifetime value, in USD: gx-cust 9999 USD');
    expect(theirs.html).not.toMatch(/>c1</);
  });

  it('names a bad parameter (400) and an unknown query (404), and says so where no lake is written, never a 5xx', async () => {
    const bad = await page(withLake, '/console/analytics/churn-risk?churn_high=2');
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('churn_high');
    const unknown = await page(withLake, '/console/analytics/nothing-such');
    expect(unknown.status).toBe(404);
    expect(unknown.html).toContain('No analytics query');
    const index = await page(noLake, '/console/analytics');
    expect(index.status).toBe(200);
    expect(index.html).toContain('No analytics lake is written here');
    const one = await page(noLake, '/console/analytics/monthly-revenue');
    expect(one.status).toBe(404);
    expect(one.html).toContain('No analytics lake is written here');
  });

  it('answers 400 naming now, never a 5xx, for a now out of range, and the same parameter refusals as the API', async () => {
    for (const path of ['/console/analytics/churn-risk?now=8640000000000001', '/console/analytics/monthly-revenue?now=99999999999999999']) {
      const r = await page(withLake, path);
      expect(r.status, path).toBe(400);
      expect(r.html).toContain('analytics parameter now: must be between 0 and 253402300799999');
    }
    const other = await page(withLake, '/console/analytics/churn-risk?level=product');
    expect(other.status).toBe(400);
    expect(other.html).toContain('unknown analytics parameter &quot;level&quot; for churn-risk');
    const twice = await page(withLake, `/console/analytics/churn-risk?now=${NOW}&now=${NOW}`);
    expect(twice.status).toBe(400);
    expect(twice.html).toContain('analytics parameter now: given 2 times; give it once');
    const limited = await page(withLake, '/console/analytics/churn-risk?limit=0');
    expect(limited.status).toBe(400);
    expect(limited.html).toContain('analytics parameter limit: must be an integer from 1 to 1000');
  });

  it("pages rfm-segmentation with the API's limit and cursor, linking the next page", async () => {
    const first = await page(withLake, `/console/analytics/rfm-segmentation?now=${NOW}&limit=1`);
    expect(first.status).toBe(200);
    expect(first.html).toContain('<td>c1</td>');
    expect(first.html).not.toContain('<td>c2</td>');
    const next = /<a href="([^"]+)" rel="next">/.exec(first.html)?.[1]?.replaceAll('&amp;', '&');
    expect(next).toMatch(/^\/console\/analytics\/rfm-segmentation\?now=2025-04-01&limit=1&cursor=/);
    const second = await page(withLake, next!);
    expect(second.status).toBe(200);
    expect(second.html).toContain('<td>c2</td>');
    expect(second.html).not.toContain('<td>c1</td>');
    expect(second.html).not.toContain('rel="next"');
    const bad = await page(withLake, '/console/analytics/rfm-segmentation?limit=0');
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('analytics parameter limit: must be an integer from 1 to 1000');
  });
});
