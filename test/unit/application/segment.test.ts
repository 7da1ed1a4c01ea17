import { describe, expect, it, vi } from 'vitest';
import type { Channel } from '../../../src/domain/customer/customer.events.js';
import { DomainError } from '../../../src/domain/shared/errors.js';
import { MAX_ORDER_ID_LENGTH, mapSegmentCall, type Observation } from '../../../src/application/segment/segment.mapper.js';
import { SegmentBatch, SegmentCall, zodIssues } from '../../../src/application/segment/segment.schema.js';

const RECEIVED = Date.UTC(2026, 0, 2, 10, 0, 0);
const map = (raw: Record<string, unknown>, fallback: Channel = 'server'): Observation => mapSegmentCall(SegmentCall.parse(raw), RECEIVED, fallback);
const track = (event: string, properties: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  map({ type: 'track', anonymousId: 'a-1', event, properties, ...extra });
const factTypes = (o: Observation) => o.facts.map((f) => f.type);
const order = (properties: Record<string, unknown>) => {
  const f = track('Order Completed', properties).facts[0];
  if (f?.type !== 'OrderPlaced') throw new Error(`expected OrderPlaced, got ${f?.type}`);
  return f.data;
};
const pathsOf = (raw: unknown) => {
  const parsed = SegmentCall.safeParse(raw);
  return parsed.success ? [] : zodIssues(parsed.error).map((i) => i.path);
};

describe('Segment call types', () => {
  it('maps identify to its identifiers and a TraitsUpdated fact', () => {
    const o = map({ type: 'identify', userId: 'u-1', anonymousId: 'a-1', traits: { email: 'Ada@Example.com', phone: '+1 415 555 2671', plan: 'pro' } });
    expect(o.identifiers).toEqual([
      { type: 'user_id', raw: 'u-1', path: ['userId'] },
      { type: 'anonymous_id', raw: 'a-1', path: ['anonymousId'] },
      { type: 'email', raw: 'Ada@Example.com', path: ['traits', 'email'] },
      { type: 'phone', raw: '+1 415 555 2671', path: ['traits', 'phone'] },
    ]);
    expect(o.facts).toEqual([
      {
        type: 'TraitsUpdated',
        v: 1,
        data: { names: ['email', 'phone', 'plan'], context: 'identify' },
        pii: { traits: { email: 'Ada@Example.com', phone: '+1 415 555 2671', plan: 'pro' } },
      },
    ]);
  });

  it('maps page and screen to views', () => {
    const p = map({ type: 'page', anonymousId: 'a-1', name: 'Home', category: 'Docs', properties: { path: '/', url: 'https://shop.example.com/' } });
    expect(p.facts).toEqual([
      {
        type: 'PageViewed',
        v: 1,
        data: { name: 'Home', category: 'Docs', path: '/' },
        pii: { url: 'https://shop.example.com/', referrer: undefined, title: undefined, ip: undefined, userAgent: undefined },
      },
    ]);
    expect(factTypes(map({ type: 'screen', anonymousId: 'a-1', name: 'Cart' }))).toEqual(['ScreenViewed']);
  });

  it('maps alias to the user id plus the previous id, with no facts', () => {
    const o = map({ type: 'alias', userId: 'u-1', previousId: 'a-old' });
    expect(o.identifiers.map((i) => [i.type, i.raw, i.path])).toEqual([
      ['user_id', 'u-1', ['userId']],
      ['anonymous_id', 'a-old', ['previousId']],
    ]);
    expect(o.facts).toEqual([]);
  });

  it('maps group to GroupJoined and group traits', () => {
    const o = map({ type: 'group', userId: 'u-1', groupId: 'acme', traits: { name: 'Acme' } });
    expect(o.facts).toEqual([
      { type: 'GroupJoined', v: 1, data: { groupId: 'acme' } },
      { type: 'TraitsUpdated', v: 1, data: { names: ['group["acme"]'], context: 'group' }, pii: { traits: { 'group["acme"]': { name: 'Acme' } } } },
    ]);
  });
});

describe('e-commerce events', () => {
  it('records Order Completed revenue in integer minor units', () => {
    expect(order({ order_id: 'o-1', revenue: 19.99, currency: 'USD' })).toMatchObject({ orderId: 'o-1', revenueMinor: 1999, currency: 'USD' });
    expect(order({ revenue: 0.1 + 0.2 }).revenueMinor).toBe(30);
  });

  it(`refuses an order id over ${MAX_ORDER_ID_LENGTH} characters, naming the field it came in`, () => {
    expect(order({ order_id: 'o'.repeat(MAX_ORDER_ID_LENGTH) }).orderId).toHaveLength(MAX_ORDER_ID_LENGTH);
    for (const field of ['order_id', 'orderId', 'checkout_id'])
      try {
        order({ [field]: 'o'.repeat(MAX_ORDER_ID_LENGTH + 1) });
        expect.unreachable(field);
      } catch (e) {
        expect(e).toBeInstanceOf(DomainError);
        expect((e as DomainError).path).toEqual(['properties', field]);
        expect((e as DomainError).message).toMatch(/must be at most 256 characters/);
      }
  });

  it('falls back to total, then to the products’ price times quantity', () => {
    expect(order({ total: 42.5 }).revenueMinor).toBe(4250);
    const fromProducts = order({
      products: [
        { product_id: 'p1', price: 10.5, quantity: 2 },
        { sku: 's2', price: 3 },
      ],
    });
    expect(fromProducts.revenueMinor).toBe(2400);
    expect(fromProducts.products).toEqual([
      { productId: 'p1', sku: undefined, name: undefined, category: undefined, priceMinor: 1050, quantity: 2 },
      { productId: undefined, sku: 's2', name: undefined, category: undefined, priceMinor: 300, quantity: undefined },
    ]);
  });

  it('uppercases the currency and defaults it to USD', () => {
    expect(order({ revenue: 5, currency: 'eur' }).currency).toBe('EUR');
    expect(order({ revenue: 5 }).currency).toBe('USD');
  });

  it('maps Product Viewed and Product Added to ProductInteracted', () => {
    const viewed = track('Product Viewed', { product_id: 'p1', name: 'Kettle', category: 'Home', price: 19.99 }).facts;
    expect(viewed).toEqual([
      {
        type: 'ProductInteracted',
        v: 1,
        data: {
          action: 'viewed',
          product: { productId: 'p1', sku: undefined, name: 'Kettle', category: 'Home', priceMinor: 1999, quantity: undefined },
          currency: 'USD',
          minorDigits: 2,
        },
      },
    ]);
    expect(track('product added', { sku: 'k' }).facts[0]).toMatchObject({ data: { action: 'added', product: { sku: 'k' } } });
  });

  it('keeps a product price with its currency and digits, and checks the currency only when there is a price', () => {
    expect(track('Product Viewed', { product_id: 'p1', price: 1500, currency: 'jpy' }).facts[0]).toMatchObject({
      data: { product: { priceMinor: 1500 }, currency: 'JPY', minorDigits: 0 },
    });
    // no price: a currency that is not ISO 4217 is not the call's to answer for
    const noPrice = track('Product Viewed', { product_id: 'p1', currency: 'RMB' }).facts[0];
    expect(noPrice).toMatchObject({ data: { action: 'viewed', product: { productId: 'p1' } } });
    expect((noPrice as { data: object }).data).not.toHaveProperty('currency');
    expect(() => track('Product Viewed', { price: 3, currency: 'RMB' })).toThrow(/properties\.currency must be an ISO 4217 currency code/);
  });

  it('keeps every other track call as EventTracked with its properties', () => {
    expect(track('Coupon Applied', { code: 'X1' }).facts).toEqual([
      { type: 'EventTracked', v: 1, data: { event: 'Coupon Applied' }, pii: { properties: { code: 'X1' } } },
    ]);
  });
});

/** the field a call is refused for (VALIDATION_FAILED), and the reason */
const refusal = (properties: Record<string, unknown>, event = 'Order Completed') => {
  try {
    track(event, properties);
  } catch (e) {
    if (e instanceof DomainError) return { code: e.code, path: e.path, message: e.message };
    throw e;
  }
  throw new Error('expected the call to be refused');
};

describe('amounts in the currency’s minor units, quantities whole, nothing rounded', () => {
  it('counts amounts in the ISO 4217 minor units of the currency', () => {
    expect(order({ revenue: 100, currency: 'jpy' })).toMatchObject({ revenueMinor: 100, currency: 'JPY', minorDigits: 0 });
    expect(order({ revenue: 1.234, currency: 'BHD' })).toMatchObject({ revenueMinor: 1234, currency: 'BHD', minorDigits: 3 });
    expect(order({ revenue: '12.5', currency: 'KWD' })).toMatchObject({ revenueMinor: 12_500, minorDigits: 3 });
    expect(order({ revenue: 19.99 })).toMatchObject({ revenueMinor: 1999, currency: 'USD', minorDigits: 2 });
    const yen = order({ currency: 'JPY', products: [{ sku: 'a', price: 1500, quantity: 2 }] });
    expect(yen.revenueMinor).toBe(3000);
    expect(yen.products[0]).toMatchObject({ priceMinor: 1500, quantity: 2 });
    expect(track('Product Viewed', { product_id: 'p', price: 1500, currency: 'JPY' }).facts[0]).toMatchObject({
      data: { product: { priceMinor: 1500 } },
    });
  });

  it('keeps whole quantities as sent, numeric strings and 0 included', () => {
    expect(
      order({
        products: [
          { sku: 'a', price: 1, quantity: '3' },
          { sku: 'b', price: 1, quantity: 0 },
        ],
      }).products.map((p) => p.quantity),
    ).toEqual([3, 0]);
  });

  it.each([
    ['a fractional quantity', { products: [{ price: 1, quantity: 1.5 }] }, ['properties', 'products', 0, 'quantity'], 'must be a whole number'],
    [
      'a quantity below 1 but above 0',
      {
        products: [
          { sku: 'a', price: 1 },
          { price: 1, quantity: 0.4 },
        ],
      },
      ['properties', 'products', 1, 'quantity'],
      'must be a whole number',
    ],
    ['a fraction of a yen', { revenue: 100.5, currency: 'jpy' }, ['properties', 'revenue'], 'must be a whole number in JPY'],
    ['a fraction of a yen as a total', { total: '0.5', currency: 'JPY' }, ['properties', 'total'], 'must be a whole number in JPY'],
    [
      'a price in a fraction of a yen',
      { currency: 'JPY', products: [{ price: 1.5, quantity: 1 }] },
      ['properties', 'products', 0, 'price'],
      'whole number in JPY',
    ],
    ['a thousandth of a dollar', { revenue: 19.999 }, ['properties', 'revenue'], 'must have at most 2 decimals in USD'],
    ['four decimals of a dinar', { value: 1.2345, currency: 'BHD' }, ['properties', 'value'], 'must have at most 3 decimals in BHD'],
    ['products sent as an object', { products: { a: 1 } }, ['properties', 'products'], 'must be an array'],
    ['products sent as a string', { revenue: 5, products: 'p1' }, ['properties', 'products'], 'must be an array'],
    ['a product that is not an object', { products: [{ sku: 'a', price: 1 }, 7] }, ['properties', 'products', 1], 'must be a product object'],
  ])('refuses %s, naming the field', (_name, properties, path, message) => {
    const r = refusal(properties);
    expect(r).toMatchObject({ code: 'VALIDATION_FAILED', path });
    expect(r.message).toContain(message);
  });

  it('refuses a product event whose price has more decimals than its currency', () => {
    expect(refusal({ product_id: 'p', price: 9.5, currency: 'JPY' }, 'Product Viewed')).toMatchObject({ path: ['properties', 'price'] });
    expect(refusal({ product_id: 'p', price: 1, quantity: 1.5 }, 'Product Added')).toMatchObject({ path: ['properties', 'quantity'] });
  });
});

describe('context', () => {
  it('turns externalIds into custom identifier types with their paths', () => {
    const o = track('Signed Up', {}, { context: { externalIds: [{ id: '0035g0', type: 'Salesforce-ID', collection: 'users', encoding: 'none' }] } });
    expect(o.identifiers).toContainEqual({ type: 'Salesforce-ID', raw: '0035g0', path: ['context', 'externalIds', 0, 'id'] });
  });

  it('turns consent category preferences into grants and withdrawals by lowercase purpose', () => {
    const o = track('Signed Up', {}, { context: { consent: { categoryPreferences: { Marketing: true, Analytics: false } } } });
    expect(o.facts.filter((f) => f.type.startsWith('Consent'))).toEqual([
      { type: 'ConsentGranted', v: 1, data: { purpose: 'marketing' } },
      { type: 'ConsentWithdrawn', v: 1, data: { purpose: 'analytics' } },
    ]);
  });

  it('refuses a consent category that is free text (it would be stored readable and outlive an erasure), naming the field but not echoing the key', () => {
    const ok = track('x', {}, { context: { consent: { categoryPreferences: { 'Functional Cookies': true, C0001: false, 'email:newsletter': true } } } });
    expect(ok.facts.filter((f) => f.type.startsWith('Consent')).map((f) => (f.data as { purpose: string }).purpose)).toEqual([
      'functional cookies',
      'c0001',
      'email:newsletter',
    ]);
    for (const bad of [
      'notes about m7.secret@example.org',
      'call +44 20 7946 0958',
      'x'.repeat(65),
      '  ',
      'newsletter; opted in by phone',
      '555-123-4567',
      '06 12 34 56 78',
      'ssn 123-45-6789',
      'https://x',
      '2024',
    ])
      try {
        track('x', {}, { context: { consent: { categoryPreferences: { marketing: true, [bad]: true } } } });
        expect.unreachable(bad);
      } catch (e) {
        expect(e, bad).toBeInstanceOf(DomainError);
        expect((e as DomainError).code).toBe('VALIDATION_FAILED');
        expect((e as DomainError).path).toEqual(['context', 'consent', 'categoryPreferences']);
        if (bad.trim()) expect((e as DomainError).message).not.toContain(bad);
      }
  });

  it('turns context.location into LocationObserved, precise coordinates kept personal', () => {
    const precise = track(
      'Signed Up',
      {},
      { context: { ip: '203.0.113.9', location: { city: 'Cape Town', country: 'ZA', latitude: -33.9, longitude: 18.4 } } },
    );
    expect(precise.facts.find((f) => f.type === 'LocationObserved')).toMatchObject({
      type: 'LocationObserved',
      data: { city: 'Cape Town', country: 'ZA' },
      pii: { latitude: -33.9, longitude: 18.4 },
    });
    const coarse = track('Signed Up', {}, { context: { location: { country: 'GB', region: 'ENG' } } });
    expect(coarse.facts.find((f) => f.type === 'LocationObserved')).toMatchObject({ data: { country: 'GB', region: 'ENG' } });
    expect(factTypes(track('Signed Up', {}, { context: { location: {} } }))).not.toContain('LocationObserved');
  });

  it('maps the channel from the call, then the library, then the source', () => {
    expect(track('x', {}, { channel: 'browser' }).channel).toBe('web');
    expect(track('x', {}, { channel: 'mobile' }).channel).toBe('mobile');
    expect(track('x', {}, { context: { library: { name: 'analytics-ios' } } }).channel).toBe('mobile');
    expect(track('x', {}, { context: { library: { name: 'analytics-android' } } }).channel).toBe('mobile');
    expect(track('x', {}, { context: { library: { name: 'analytics.js' } } }).channel).toBe('web');
    expect(map({ type: 'track', anonymousId: 'a', event: 'x' }, 'crm').channel).toBe('crm');
    expect(map({ type: 'track', anonymousId: 'a', event: 'x', channel: 'server' }, 'crm').channel).toBe('crm');
  });

  it('observes at the call’s timestamp, else when it was received', () => {
    expect(track('x', {}, { timestamp: '2025-06-01T12:00:00.000Z' }).observedAt).toBe(Date.UTC(2025, 5, 1, 12));
    expect(track('x').observedAt).toBe(RECEIVED);
  });

  it('reads a timestamp without an offset as UTC, not in the time zone of the process that maps it', () => {
    try {
      vi.stubEnv('TZ', 'America/New_York');
      expect(track('x', {}, { timestamp: '2025-06-01T12:00:00' }).observedAt).toBe(Date.UTC(2025, 5, 1, 12));
      vi.stubEnv('TZ', 'Asia/Tokyo');
      expect(track('x', {}, { timestamp: '2025-06-01 12:00' }).observedAt).toBe(Date.UTC(2025, 5, 1, 12));
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('schema errors name the field', () => {
  it('a track call without an event', () => {
    expect(pathsOf({ type: 'track', anonymousId: 'a' })).toEqual(['event']);
  });

  it('a call with neither userId nor anonymousId', () => {
    expect(pathsOf({ type: 'identify', traits: { email: 'a@b.co' } })).toEqual(['userId']);
  });

  it('every missing field at once, the ids among them, whatever else failed', () => {
    expect(pathsOf({ type: 'track' })).toEqual(['event', 'userId']);
    expect(pathsOf({ type: 'page', timestamp: 'yesterday' })).toEqual(['timestamp', 'userId']);
    expect(pathsOf({ type: 'alias' })).toEqual(['userId', 'previousId']);
    // an id that is there but invalid is named as such, not as missing
    expect(pathsOf({ type: 'track', userId: 1.5 })).toEqual(['userId', 'event']);
    // a call of no known type is told only that
    expect(pathsOf({ type: 'purchase' })).toEqual(['type']);
  });

  it('says a required field is required, absent or null, the same for every call type; one of the wrong kind says what it must be', () => {
    const issuesOf = (raw: unknown, batch = false) => {
      const parsed = (batch ? SegmentBatch : SegmentCall).safeParse(raw);
      return parsed.success ? [] : zodIssues(parsed.error);
    };
    expect(issuesOf({ type: 'group', userId: 'u' })).toEqual([{ path: 'groupId', message: 'groupId is required' }]);
    expect(issuesOf({ type: 'group', userId: 'u', groupId: null })).toEqual([{ path: 'groupId', message: 'groupId is required' }]);
    expect(issuesOf({ type: 'alias', userId: 'u', previousId: null })).toEqual([{ path: 'previousId', message: 'previousId is required' }]);
    expect(issuesOf({ type: 'alias', previousId: 'p' })).toEqual([{ path: 'userId', message: 'userId is required' }]);
    expect(issuesOf({ type: 'track', userId: 'u' })).toEqual([{ path: 'event', message: 'event is required' }]);
    expect(issuesOf({ type: 'track', userId: 'u', event: null })).toEqual([{ path: 'event', message: 'event is required' }]);
    expect(issuesOf({ type: 'identify' })).toEqual([{ path: 'userId', message: 'either userId or anonymousId is required' }]);
    expect(issuesOf({ userId: 'u' })).toEqual([{ path: 'type', message: 'type is required: one of identify, track, page, screen, alias, group' }]);
    expect(issuesOf({ type: 'track', userId: 'u', event: 'x', context: { externalIds: [{ id: null }] } })).toEqual([
      { path: 'context.externalIds[0].id', message: 'id is required' },
      { path: 'context.externalIds[0].type', message: 'type is required' },
    ]);
    expect(issuesOf({}, true)).toEqual([{ path: 'batch', message: 'batch is required' }]);
    // there, but of the wrong kind
    expect(issuesOf({ type: 'group', userId: 'u', groupId: {} })).toEqual([{ path: 'groupId', message: 'must be a string or a whole number' }]);
    expect(issuesOf({ type: 'identify', userId: true })).toEqual([{ path: 'userId', message: 'must be a string or a whole number' }]);
    expect(issuesOf({ type: 'track', userId: 'u', event: 5 })).toEqual([{ path: 'event', message: 'must be a string' }]);
    expect(issuesOf({ type: 'track', userId: 'u', event: '' })).toEqual([{ path: 'event', message: 'must not be empty' }]);
    expect(issuesOf({ type: 'purchase', userId: 'u' })).toEqual([{ path: 'type', message: 'must be one of identify, track, page, screen, alias, group' }]);
    expect(issuesOf('a call')).toEqual([{ path: '(root)', message: 'must be a JSON object (a Segment call)' }]);
    // an optional id sent as null is of the wrong kind, not missing
    expect(issuesOf({ type: 'track', userId: 'u', event: 'x', context: { device: { id: null } } })).toEqual([
      { path: 'context.device.id', message: 'must be a string or a whole number' },
    ]);
  });

  it('one issue per field: a value of the wrong kind that has a length is not also measured', () => {
    const issuesOf = (raw: unknown, batch = false) => {
      const parsed = (batch ? SegmentBatch : SegmentCall).safeParse(raw);
      return parsed.success ? [] : zodIssues(parsed.error);
    };
    const call = { type: 'track', userId: 'u', event: 'x' };
    expect(issuesOf({ ...call, event: [] })).toEqual([{ path: 'event', message: 'must be a string' }]);
    expect(issuesOf({ ...call, event: Array(201).fill('x') })).toEqual([{ path: 'event', message: 'must be a string' }]);
    expect(issuesOf({ ...call, event: { length: 0 } })).toEqual([{ path: 'event', message: 'must be a string' }]);
    expect(issuesOf({ ...call, context: { externalIds: [{ id: 'x', type: [] }] } })).toEqual([
      { path: 'context.externalIds[0].type', message: 'must be a string' },
    ]);
    expect(issuesOf({ ...call, context: { externalIds: 'x'.repeat(51) } }).map((i) => i.path)).toEqual(['context.externalIds']);
    expect(issuesOf({ ...call, context: { ip: Array(65).fill(1) } }).map((i) => i.path)).toEqual(['context.ip']);
    expect(issuesOf({ ...call, messageId: [] }).map((i) => i.path)).toEqual(['messageId']);
    expect(issuesOf({ batch: '' }, true)).toEqual([{ path: 'batch', message: 'must be an array of calls' }]);
    // the length checks still apply to a value of the right kind, each with its own words
    expect(issuesOf({ ...call, event: 'x'.repeat(201) })).toEqual([{ path: 'event', message: 'at most 200 characters' }]);
    expect(issuesOf({ ...call, context: { externalIds: [{ id: 'x', type: 't'.repeat(65) }] } })).toEqual([
      { path: 'context.externalIds[0].type', message: 'at most 64 characters' },
    ]);
    expect(issuesOf({ ...call, context: { externalIds: Array(51).fill({ id: 'x', type: 't' }) } }).map((i) => i.path)).toEqual(['context.externalIds']);
    expect(issuesOf({ batch: [] }, true)).toEqual([{ path: 'batch', message: 'batch must hold at least one call' }]);
  });

  it('a timestamp that is not a date', () => {
    expect(pathsOf({ type: 'page', userId: 'u', timestamp: 'yesterday' })).toEqual(['timestamp']);
  });

  it('nested fields by their full path', () => {
    expect(pathsOf({ type: 'track', userId: 'u', event: 'x', context: { externalIds: [{ id: 'x' }] } })).toEqual(['context.externalIds[0].type']);
    expect(pathsOf({ type: 'track', userId: 'u', event: 'x', context: { location: { latitude: 91 } } })).toEqual(['context.location.latitude']);
  });
});

describe('Segment ids sent as numbers', () => {
  it('takes a whole number up to 2^53 - 1 as its decimal string', () => {
    expect(map({ type: 'identify', userId: 12345, anonymousId: 9_007_199_254_740_991 }).identifiers.map((i) => i.raw)).toEqual(['12345', '9007199254740991']);
  });

  it('refuses, naming the field, a number that JSON cannot carry exactly (past 2^53, or with a fraction): two users must never become one', () => {
    // JSON.parse rounds both of these to 12345678901234567000
    const [a, b] = [JSON.parse('{"userId":12345678901234567891}'), JSON.parse('{"userId":12345678901234567892}')];
    expect(a.userId).toBe(b.userId);
    expect(pathsOf({ type: 'track', event: 'x', ...a })).toEqual(['userId']);
    expect(pathsOf({ type: 'track', event: 'x', userId: 'u-1', anonymousId: 1.5 })).toEqual(['anonymousId']);
    expect(pathsOf({ type: 'alias', userId: 'u-1', previousId: 2 ** 60 })).toEqual(['previousId']);
    expect(pathsOf({ type: 'track', event: 'x', userId: 'u-1', context: { device: { id: -(2 ** 54) } } })).toEqual(['context.device.id']);
  });
});

describe('identifier traits', () => {
  it('refuses, naming the field, an email or phone sent as a list, an object or a boolean; null or empty is no value', () => {
    const refused = (traits: Record<string, unknown>, where: 'traits' | 'context' = 'traits') => {
      const call = where === 'traits' ? { type: 'identify', userId: 'ea1', traits } : { type: 'track', userId: 'ea1', event: 'x', context: { traits } };
      try {
        map(call);
        return undefined;
      } catch (e) {
        return (e as { code?: string; message: string }).code === 'VALIDATION_FAILED' ? (e as Error).message : `unexpected: ${String(e)}`;
      }
    };
    expect(refused({ email: ['a@x.com', 'b@x.com'] })).toBe('traits.email must be a string (one email per call), not a list');
    expect(refused({ phone: { number: '+441234' } })).toBe('traits.phone must be a string (one phone per call), not an object');
    expect(refused({ email: true }, 'context')).toBe('context.traits.email must be a string (one email per call), not a boolean');
    expect(refused({ email: null, phone: '' })).toBeUndefined();
    expect(map({ type: 'identify', userId: 'ea1', traits: { email: null } }).identifiers.map((i) => i.type)).toEqual(['user_id']);
  });
});
