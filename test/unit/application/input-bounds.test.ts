import { describe, expect, it } from 'vitest';
import { syncIntake } from '../../../src/application/ingest/intake.js';
import { quarantinePayloadJson } from '../../../src/application/ports/quarantine.port.js';
import { StaticAuthenticator } from '../../../src/adapters/config/static-credentials.js';
import { createHttpApp } from '../../../src/adapters/http/app.js';
import { makeHarness, type Harness } from '../../support/harness.js';
import { accepted, iso, quarantined, TENANT, view360 } from './ingest-support.js';

// Numbers and times a call may carry: out of bounds is refused naming the field and kept in the
// quarantine with the reason; in bounds is stored exactly.

const HOUR = 3_600_000;
const order = (properties: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
  type: 'track',
  messageId: `m-${JSON.stringify(properties)}-${JSON.stringify(over)}`,
  userId: 'u-1',
  event: 'Order Completed',
  properties: { order_id: 'o-1', ...properties },
  ...over,
});

const refused = async (h: Harness, call: Record<string, unknown>) => {
  const q = quarantined(await h.core.ingest.ingest(TENANT, h.web, call));
  expect(q.error.code).toBe('VALIDATION_FAILED');
  const entry = await h.ports.quarantine.get(TENANT, q.quarantineId);
  // as the quarantine keeps it: a number that overflowed (1e400, read as Infinity) as {"$nonFinite": "Infinity"}
  expect(entry).toMatchObject({ status: 'pending', reason: q.error, payload: JSON.parse(quarantinePayloadJson(call)!) });
  return q.error;
};
const pathsOf = (error: { issues: readonly { path: string }[] }) => error.issues.map((i) => i.path);

describe('money', () => {
  it.each([
    ['1e308, which overflows once in minor units', { revenue: 1e308 }, 'properties.revenue'],
    // JSON.parse reads 1e400 as Infinity
    ['1e400', JSON.parse('{"revenue": 1e400}'), 'properties.revenue'],
    ['a negative revenue', { revenue: -5 }, 'properties.revenue'],
    ['a revenue that is not a number', { revenue: 'lots' }, 'properties.revenue'],
    ['a total past the bound', { total: 1_000_000_001 }, 'properties.total'],
    [
      'a negative product price',
      {
        products: [
          { sku: 'a', price: 2 },
          { sku: 'b', price: -1 },
        ],
      },
      'properties.products[1].price',
    ],
    ['a product quantity past the bound', { products: [{ sku: 'a', price: 1, quantity: 1e9 }] }, 'properties.products[0].quantity'],
    ['products that total past the bound', { products: [{ sku: 'a', price: 1e9, quantity: 2 }] }, 'properties.products'],
    ['a currency that is not ISO 4217', { revenue: 5, currency: '<script>' }, 'properties.currency'],
    ['a three-letter currency that does not exist', { revenue: 5, currency: 'ABC' }, 'properties.currency'],
    // nothing rounded: a quantity is whole, an amount has at most its currency's decimals
    ['a fractional quantity', { products: [{ sku: 'a', price: 1, quantity: 1.5 }] }, 'properties.products[0].quantity'],
    ['a quantity of 0.4', { revenue: 1, products: [{ sku: 'a', price: 1, quantity: 0.4 }] }, 'properties.products[0].quantity'],
    ['a fraction of a yen', { revenue: 100.5, currency: 'jpy' }, 'properties.revenue'],
    ['a price of more decimals than the currency has', { currency: 'USD', products: [{ sku: 'a', price: 0.125 }] }, 'properties.products[0].price'],
    ['a fourth decimal of a dinar', { revenue: 1.2345, currency: 'KWD' }, 'properties.revenue'],
    ['products sent as an object', { revenue: 5, products: { a: 1 } }, 'properties.products'],
  ])('refuses %s, naming the field', async (_name, properties, path) => {
    const h = makeHarness();
    expect(pathsOf(await refused(h, order(properties)))).toEqual([path]);
    expect(h.ports.store.dump()).toEqual({});
  });

  // Segment's spec types these ids and names as strings; a number is kept as its text (as it was),
  // anything else is refused naming the field, never dropped from the stored order
  it.each([
    ['an object as order_id', { order_id: { a: 1 } }, 'properties.order_id'],
    ['an object as orderId', { order_id: undefined, orderId: { a: 1 } }, 'properties.orderId'],
    ['a list as checkout_id', { order_id: undefined, checkout_id: ['c'] }, 'properties.checkout_id'],
    ['true as order_id', { order_id: true }, 'properties.order_id'],
    ['an object as a product id', { products: [{ product_id: { id: 1 }, price: 1 }] }, 'properties.products[0].product_id'],
    ['a list as a product sku', { products: [{ sku: ['a'], price: 1 }] }, 'properties.products[0].sku'],
    ['an object as a product name', { products: [{ sku: 'a', name: { en: 'x' } }] }, 'properties.products[0].name'],
    ['false as a product category', { products: [{ sku: 'a', category: false }] }, 'properties.products[0].category'],
  ])('refuses %s, naming the field', async (_name, properties, path) => {
    const h = makeHarness();
    const error = await refused(h, order({ revenue: 10, ...properties }));
    expect(pathsOf(error)).toEqual([path]);
    expect(error.message).toContain('must be a string');
    expect(h.ports.store.dump()).toEqual({});
  });

  it('refuses an object as the product id of a product event, naming the field', async () => {
    const h = makeHarness();
    const call = { type: 'track', userId: 'u-1', event: 'Product Viewed', properties: { product_id: { a: 1 }, price: 3 } };
    expect(pathsOf(await refused(h, call))).toEqual(['properties.product_id']);
  });

  it('keeps a number sent as an order or product id as its text, and takes the first id present', async () => {
    const h = makeHarness();
    const a = accepted(await h.core.ingest.ingest(TENANT, h.web, order({ order_id: 1234, revenue: 10, products: [{ product_id: 77, sku: 5, price: 10 }] })));
    // an empty order_id is absent: the orderId beside it is the order's id
    accepted(await h.core.ingest.ingest(TENANT, h.web, order({ order_id: '', orderId: 'o-9', revenue: 1 })));
    const v = await view360(h, a.customerId);
    expect(
      v.timeline
        .map((t) => t.title)
        .filter((t) => t?.startsWith('Order'))
        .sort(),
    ).toEqual(['Order 1234 10.00 USD', 'Order o-9 1.00 USD']);
  });

  it('refuses a negative price on a product event too', async () => {
    const h = makeHarness();
    const call = { type: 'track', userId: 'u-1', event: 'Product Viewed', properties: { product_id: 'p', price: -3 } };
    expect(pathsOf(await refused(h, call))).toEqual(['properties.price']);
  });

  it('stores amounts up to the bound exactly, numeric strings included, and the ISO code as written in any case', async () => {
    const h = makeHarness();
    const a = accepted(await h.core.ingest.ingest(TENANT, h.web, order({ revenue: 1_000_000_000, currency: ' eur ' })));
    accepted(await h.core.ingest.ingest(TENANT, h.web, order({ order_id: 'o-2', revenue: '12.50', currency: 'EUR' })));
    accepted(await h.core.ingest.ingest(TENANT, h.web, order({ order_id: 'o-3', revenue: 0, currency: 'jpy' })));
    const v = await view360(h, a.customerId);
    expect(v.orders).toMatchObject({ count: 3, revenue: { EUR: 1_000_000_012.5, JPY: 0 } });
  });
});

describe('money in the currency’s minor units', () => {
  it('stores and shows each amount in its currency’s ISO 4217 digits, exactly as sent', async () => {
    const h = makeHarness();
    const a = accepted(await h.core.ingest.ingest(TENANT, h.web, order({ order_id: 'o-j', revenue: 100, currency: 'jpy' })));
    accepted(await h.core.ingest.ingest(TENANT, h.web, order({ order_id: 'o-b', revenue: 1.234, currency: 'BHD' })));
    accepted(await h.core.ingest.ingest(TENANT, h.web, order({ order_id: 'o-u', products: [{ sku: 'a', price: 19.99, quantity: 3 }] })));
    const v = await view360(h, a.customerId);
    expect(v.orders.revenue).toEqual({ JPY: 100, BHD: 1.234, USD: 59.97 });
    expect(
      v.timeline
        .map((t) => t.title)
        .filter((t) => t?.startsWith('Order'))
        .sort(),
    ).toEqual(['Order o-b 1.234 BHD', 'Order o-j 100 JPY', 'Order o-u 59.97 USD']);
  });
});

describe('times', () => {
  it.each([
    ['in year 0', '0000-01-01T00:00:00Z', 'must not be before'],
    ['before 2000', '1999-12-31T23:59:59.999Z', 'must not be before'],
    ['more than a day ahead of the time received', '9999-01-01T00:00:00Z', 'after the time received'],
  ])('refuses a timestamp %s, naming the field', async (_name, timestamp, message) => {
    const h = makeHarness();
    const call = { type: 'identify', messageId: 'm-t', userId: 'u-1', timestamp, traits: { plan: 'pro' } };
    const error = await refused(h, call);
    expect(pathsOf(error)).toEqual(['timestamp']);
    expect(error.message).toContain(message);
  });

  it.each(['2024-02-30T10:00:00Z', '2023-02-29', '2024-04-31T00:00:00Z', '2024-01-01T24:00:00Z', 'Dec 5 2026'])(
    'refuses %s: not an ISO 8601 time on a day that exists',
    async (timestamp) => {
      const h = makeHarness();
      expect(pathsOf(await refused(h, { type: 'page', messageId: 'm-d', userId: 'u-1', timestamp }))).toEqual(['timestamp']);
    },
  );

  it('keeps the times inside the bounds: 2000-01-01 itself, a leap day, up to a day ahead', async () => {
    const h = makeHarness();
    for (const [k, timestamp] of ['2000-01-01T00:00:00Z', '2024-02-29T12:00:00+02:00', iso(h.clock.now() + 23 * HOUR)].entries()) {
      accepted(await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: `m-${k}`, userId: 'u-1', timestamp, traits: { plan: `p${k}` } }));
    }
  });

  it('lets no sender pick the survivor of a merge by claiming a first observation in year 0', async () => {
    const h = makeHarness();
    const early = accepted(await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'm-1', anonymousId: 'a-1', traits: { plan: 'x' } }));
    const back = { type: 'identify', messageId: 'm-2', anonymousId: 'a-2', timestamp: '0001-01-01T00:00:00Z', traits: { plan: 'y' } };
    quarantined(await h.core.ingest.ingest(TENANT, h.web, back));
    accepted(await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'm-3', anonymousId: 'a-3', traits: { plan: 'z' } }));
    const merged = accepted(
      await h.core.ingest.ingest(TENANT, h.web, { type: 'alias', messageId: 'm-4', userId: 'u-9', previousId: 'a-1', anonymousId: 'a-3' }),
    );
    expect(merged.customerId).toBe(early.customerId);
  });
});

describe('over HTTP', () => {
  const app = () => {
    const h = makeHarness();
    const auth = new StaticAuthenticator([{ id: 'w', tenant: TENANT, kind: 'writeKey', secret: 'wk', scopes: ['ingest'], source: 'web' }]);
    return createHttpApp({ core: h.core, intake: syncIntake(h.core.ingest), sourceOf: () => h.web, metrics: h.ports.metrics, auth, now: () => 0 });
  };
  const post = (a: ReturnType<typeof app>, path: string, body: unknown) =>
    a.request(path, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('wk:').toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('answers 400 naming the field, with the quarantine id', async () => {
    const res = await post(app(), '/v1/track', order({ revenue: -5 }));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; issues: { path: string }[]; quarantineId: string } };
    expect(body.error).toMatchObject({ code: 'VALIDATION_FAILED', issues: [{ path: 'properties.revenue' }], quarantineId: expect.any(String) });
  });

  it.each([
    ['a fractional quantity', { products: [{ price: 1, quantity: 1.5 }] }, 'properties.products[0].quantity'],
    ['a fraction of a yen', { revenue: 100.5, currency: 'jpy' }, 'properties.revenue'],
    ['products sent as an object', { products: { a: 1 } }, 'properties.products'],
  ])('answers 400 to %s naming the field, where it was stored changed before', async (_name, properties, path) => {
    const res = await post(app(), '/v1/track', order(properties));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; issues: { path: string }[] } };
    expect(body.error).toMatchObject({ code: 'VALIDATION_FAILED', issues: [{ path }] });
  });

  it('answers 400 to an orderId of the wrong type, naming it, with the quarantine id', async () => {
    const res = await post(app(), '/v1/track', { userId: 'o1', event: 'Order Completed', properties: { orderId: { a: 1 }, revenue: 10 } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; issues: { path: string }[]; quarantineId: string } };
    expect(body.error).toMatchObject({ code: 'VALIDATION_FAILED', issues: [{ path: 'properties.orderId' }], quarantineId: expect.any(String) });
  });

  it('answers 200 to a call whose email is mistyped: only the email is rejected', async () => {
    const res = await post(app(), '/v1/identify', { userId: 'u-7', traits: { email: 'jamesd75collins.biz' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ success: true, customerId: expect.any(String), viewVersion: expect.any(Number) });
  });

  it('lists an out-of-bounds call of a batch by index, naming the field', async () => {
    const res = await post(app(), '/v1/batch', { batch: [order({ revenue: 5 }), order({ revenue: 5, currency: '<script>' }, { messageId: 'm-2' })] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { invalid: { index: number; issues: { path: string }[] }[] };
    expect(body.invalid).toEqual([
      expect.objectContaining({ index: 1, code: 'VALIDATION_FAILED', issues: [expect.objectContaining({ path: 'properties.currency' })] }),
    ]);
  });
});
