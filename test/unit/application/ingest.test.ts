import { describe, expect, it, vi } from 'vitest';
import { makeHarness } from '../../support/harness.js';
import { accepted, asView, domainError, iso, quarantined, TENANT, view360 } from './ingest-support.js';

const DAY = 86_400_000;

const identify = (over: Record<string, unknown> = {}) => ({
  type: 'identify',
  messageId: 'm-identify-1',
  userId: 'u-1',
  anonymousId: 'anon-1',
  traits: { email: ' Ada@Example.com ', firstName: 'Ada' },
  ...over,
});

describe('ingest: a first call', () => {
  it('creates a customer whose 360 view shows its identifiers and traits', async () => {
    const h = makeHarness();
    const out = accepted(await h.core.ingest.ingest(TENANT, h.web, identify()));
    expect(out.created).toBe(true);
    const v = await view360(h, out.customerId);
    expect(v.customerId).toBe(out.customerId);
    expect(v.identifiers.map((i) => [i.type, i.value])).toEqual([
      ['anonymous_id', 'anon-1'],
      ['email', 'ada@example.com'],
      ['user_id', 'u-1'],
    ]);
    expect(v.traits.firstName).toMatchObject({ value: 'Ada', source: 'web', observedAt: iso(h.clock.now()) });
    expect(v.channels.web?.count).toBeGreaterThan(0);
  });
});

describe('ingest: idempotency', () => {
  it('answers duplicate to the same messageId and changes nothing', async () => {
    const h = makeHarness();
    accepted(await h.core.ingest.ingest(TENANT, h.web, identify()));
    const [log, views] = [h.ports.store.dump(), h.ports.readModels.dump()];
    h.clock.advance(60_000);
    expect(await h.core.ingest.ingest(TENANT, h.web, { ...identify(), sentAt: iso(h.clock.now()) })).toEqual({
      status: 'duplicate',
      messageId: 'm-identify-1',
    });
    expect(h.ports.store.dump()).toEqual(log);
    expect(h.ports.readModels.dump()).toEqual(views);
  });

  it('quarantines a reused messageId with a different payload as an idempotency conflict', async () => {
    const h = makeHarness();
    accepted(await h.core.ingest.ingest(TENANT, h.web, identify()));
    const log = h.ports.store.dump();
    const changed = identify({ traits: { email: 'ada@example.com', firstName: 'Augusta' } });
    const q = quarantined(await h.core.ingest.ingest(TENANT, h.web, changed));
    expect(q.error.code).toBe('IDEMPOTENCY_CONFLICT');
    expect(q.error.issues).toEqual([{ path: 'messageId', message: expect.any(String) }]);
    expect((await h.ports.quarantine.get(TENANT, q.quarantineId))?.payload).toEqual(changed);
    expect(h.ports.store.dump()).toEqual(log);
  });

  it('derives the key from the content when a call has no messageId but a timestamp: sent again later, it is a duplicate', async () => {
    const h = makeHarness();
    const call = { type: 'track', anonymousId: 'anon-9', event: 'Coupon Applied', properties: { code: 'X1' }, timestamp: iso(h.clock.now() - 1_000) };
    accepted(await h.core.ingest.ingest(TENANT, h.web, call));
    const log = h.ports.store.dump();
    h.clock.advance(60_000);
    // same content, keys in another order
    const again = await h.core.ingest.ingest(TENANT, h.web, {
      properties: { code: 'X1' },
      timestamp: call.timestamp,
      event: 'Coupon Applied',
      anonymousId: 'anon-9',
      type: 'track',
    });
    expect(again.status).toBe('duplicate');
    expect(h.ports.store.dump()).toEqual(log);
    accepted(await h.core.ingest.ingest(TENANT, h.web, { ...call, properties: { code: 'X2' } }));
  });

  it('takes a call with neither messageId nor timestamp sent again later as a new call: a genuine repeat is never dropped', async () => {
    const h = makeHarness();
    const order = { type: 'track', userId: 'cart-2', event: 'Order Completed', properties: { revenue: 20 } };
    const first = accepted(await h.core.ingest.ingest(TENANT, h.web, order));
    h.clock.advance(5_000);
    const second = accepted(await h.core.ingest.ingest(TENANT, h.web, order));
    expect(second.messageId).not.toBe(first.messageId);
    expect((await view360(h, first.customerId)).orders).toMatchObject({ count: 2 });
  });

  it('takes two equal calls without messageId or timestamp in one batch as two calls', async () => {
    const h = makeHarness();
    const added = { type: 'track', userId: 'cart-3', event: 'Product Added', properties: { product_id: 'p-1' } };
    const out = await h.core.ingest.ingestBatch(TENANT, h.web, { batch: [added, added] });
    expect(out.map((o) => o.status)).toEqual(['accepted', 'accepted']);
    const [a, b] = out.map((o) => accepted(o));
    expect(a!.messageId).not.toBe(b!.messageId);
    expect(a!.customerId).toBe(b!.customerId);
  });

  it('answers a redelivery of such a call (the same time of receipt, as a stream record keeps it) as a duplicate', async () => {
    const h = makeHarness();
    const added = { type: 'track', userId: 'cart-4', event: 'Product Added', properties: { product_id: 'p-1' } };
    const receivedAt = h.clock.now() - 2_000;
    accepted(await h.core.ingest.ingest(TENANT, h.web, added, receivedAt));
    const log = h.ports.store.dump();
    h.clock.advance(60_000);
    expect((await h.core.ingest.ingest(TENANT, h.web, added, receivedAt)).status).toBe('duplicate');
    expect(h.ports.store.dump()).toEqual(log);
  });
});

describe('ingest: Unicode in identifiers', () => {
  it('matches a fullwidth or zero-width-spliced spelling of an email to the same customer', async () => {
    const h = makeHarness();
    const a = accepted(await h.core.ingest.ingest(TENANT, h.web, identify({ traits: { email: 'ada@example.com' } })));
    for (const [k, email] of ['ａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ', 'ad\u200Ba@example.com\u2060'].entries()) {
      const b = accepted(await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: `m-u${k}`, anonymousId: `anon-u${k}`, traits: { email } }));
      expect(b).toMatchObject({ customerId: a.customerId, created: false, rejected: [] });
    }
  });

  it('refuses a call holding a lone surrogate (an email, a name, a property name) as BODY_NOT_UTF8 naming its path, as the HTTP API refuses such a body', async () => {
    const h = makeHarness();
    for (const [call, path] of [
      [identify({ traits: { email: 'ada\uD800@example.com' } }), 'traits.email'],
      [identify({ traits: { name: '\udc00' } }), 'traits.name'],
      [identify({ traits: { 'k\ud800': 1 } }), 'traits'],
    ] as const) {
      const q = quarantined(await h.core.ingest.ingest(TENANT, h.web, call));
      expect(q.error).toMatchObject({ code: 'BODY_NOT_UTF8', issues: [{ path }] });
      expect(await h.ports.quarantine.get(TENANT, q.quarantineId)).toMatchObject({ status: 'pending', reason: q.error });
    }
    expect(h.ports.store.dump()).toEqual({});
    // a surrogate pair is one well-formed character
    accepted(await h.core.ingest.ingest(TENANT, h.web, identify({ traits: { name: 'u-\ud83d\ude00' } })));
  });
});

describe('ingest: quarantine', () => {
  it('quarantines an invalid call with the reason, the field and the payload as received', async () => {
    const h = makeHarness();
    const raw = { type: 'track', anonymousId: 'anon-1', properties: { coupon: 'X' } };
    const q = quarantined(await h.core.ingest.ingest(TENANT, h.web, raw));
    expect(q.error.code).toBe('VALIDATION_FAILED');
    expect(q.error.issues.map((i) => i.path)).toEqual(['event']);
    const entry = await h.ports.quarantine.get(TENANT, q.quarantineId);
    expect(entry).toMatchObject({ tenant: TENANT, source: 'web', status: 'pending', reason: q.error });
    expect(entry?.payload).toEqual(raw);
    expect(h.ports.store.dump()).toEqual({});
  });

  it.each(['em@aosn@ware.com', 'jamesd75collins.biz'])(
    'keeps a call with a mistyped email (%s): the email is rejected as an identifier, visible in explain',
    async (email) => {
      const h = makeHarness();
      const out = accepted(await h.core.ingest.ingest(TENANT, h.web, identify({ traits: { email, firstName: 'James' } })));
      expect(out.rejected).toEqual([{ type: 'email', reason: 'IDENTIFIER_INVALID' }]);
      const v = await view360(h, out.customerId);
      expect(v.identifiers.map((i) => i.type)).toEqual(['anonymous_id', 'user_id']);
      expect(v.traits.firstName?.value).toBe('James');
      const explained = await h.core.queries.explain(TENANT, out.customerId);
      expect(explained).toMatchObject({ rejections: [{ type: 'email', value: email, reason: 'IDENTIFIER_INVALID', detail: 'email is not a valid address' }] });
      expect((await h.core.quarantine.list(TENANT, {})).entries).toEqual([]);
      // the same mistake again adds no second rejection
      accepted(await h.core.ingest.ingest(TENANT, h.web, identify({ messageId: 'm-again', traits: { email } })));
      expect(await h.core.queries.explain(TENANT, out.customerId)).toMatchObject({ rejections: [expect.anything()] });
    },
  );

  it('quarantines a call with no usable identifier at all, naming the invalid fields', async () => {
    const h = makeHarness();
    const call = { type: 'identify', messageId: 'm-bad', userId: 'u'.repeat(400), traits: { email: 'not-an-email' } };
    const q = quarantined(await h.core.ingest.ingest(TENANT, h.web, call));
    expect(q.error.code).toBe('NO_USABLE_IDENTIFIER');
    expect(q.error.issues.map((i) => i.path)).toEqual(['userId', 'traits.email']);
    expect(h.ports.store.dump()).toEqual({});
  });

  it('quarantines a call whose only identifiers are blocked', async () => {
    const h = makeHarness();
    const q = quarantined(await h.core.ingest.ingest(TENANT, h.web, { type: 'page', userId: 'unknown', name: 'Home' }));
    expect(q.error.code).toBe('NO_USABLE_IDENTIFIER');
  });

  it('says a blank identifier is blank, not on the blocked list', async () => {
    const h = makeHarness();
    const out = accepted(await h.core.ingest.ingest(TENANT, h.web, { type: 'page', userId: '   ', anonymousId: 'anon-blank', name: 'Home' }));
    expect(out.rejected).toEqual([expect.objectContaining({ type: 'user_id', reason: 'IDENTIFIER_BLOCKED' })]);
    const q = quarantined(await h.core.ingest.ingest(TENANT, h.web, { type: 'page', userId: ' ', name: 'Home' }));
    expect(q.error.issues).toEqual([{ path: 'user_id', message: 'IDENTIFIER_BLOCKED: user_id value is blank' }]);
  });

  it('keeps a refused call sent again with its messageId (a retry) in the entry that holds it, and two equal calls without one in two', async () => {
    const h = makeHarness();
    const held = async () => (await h.core.quarantine.list(TENANT, {})).entries;
    const retried = { type: 'track', messageId: 'm-retried', anonymousId: 'anon-1' };
    const first = quarantined(await h.core.ingest.ingest(TENANT, h.web, retried));
    const again = quarantined(await h.core.ingest.ingest(TENANT, h.web, { ...retried }, h.clock.now() + 5_000));
    expect(again.quarantineId).toBe(first.quarantineId);
    expect((await held()).map((e) => e.id)).toEqual([first.quarantineId]);
    // every refusal is still counted
    expect(h.ports.metrics.get('ingest_quarantined')).toBe(2);
    // the same messageId with another payload, or from another source, is another entry
    const changed = quarantined(await h.core.ingest.ingest(TENANT, h.web, { ...retried, properties: { n: 1 } }));
    const elsewhere = quarantined(await h.core.ingest.ingest(TENANT, h.crm, retried));
    expect(new Set([first.quarantineId, changed.quarantineId, elsewhere.quarantineId]).size).toBe(3);
    // a call without messageId or timestamp cannot be told from a genuine repeat: each is kept
    const bare = { type: 'track', anonymousId: 'anon-2' };
    const one = quarantined(await h.core.ingest.ingest(TENANT, h.web, bare));
    const two = quarantined(await h.core.ingest.ingest(TENANT, h.web, { ...bare }));
    expect(two.quarantineId).not.toBe(one.quarantineId);
    expect(await held()).toHaveLength(5);
    // the id is UUID-shaped, as a random entry's
    expect(first.quarantineId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('gives a refused call sent again after its entry was replayed, or erased, an entry of its own', async () => {
    const h = makeHarness();
    const call = { type: 'track', messageId: 'm-later', anonymousId: 'anon-1' };
    const first = quarantined(await h.core.ingest.ingest(TENANT, h.web, call));
    await h.ports.quarantine.markReplayed(TENANT, first.quarantineId, h.clock.now());
    const second = quarantined(await h.core.ingest.ingest(TENANT, h.web, call));
    expect(second.quarantineId).not.toBe(first.quarantineId);
    expect(await h.ports.quarantine.get(TENANT, second.quarantineId)).toMatchObject({ status: 'pending', payload: call });
    await h.ports.quarantine.delete(TENANT, second.quarantineId);
    const third = quarantined(await h.core.ingest.ingest(TENANT, h.web, call));
    expect(await h.ports.quarantine.get(TENANT, third.quarantineId)).toMatchObject({ status: 'pending', payload: call });
  });

  it('keeps a refused call sent again in an entry of its own when the entry holding it cannot be read (its key unreadable or destroyed)', async () => {
    const h = makeHarness();
    const call = { type: 'track', messageId: 'm-unreadable', anonymousId: 'anon-1' };
    const first = quarantined(await h.core.ingest.ingest(TENANT, h.web, call));
    // the key store answers that the entry's key is wrapped by a master key this keyring lacks
    const get = vi.spyOn(h.ports.quarantine, 'get').mockRejectedValueOnce(new Error('MASTER_KEY_UNKNOWN'));
    const second = quarantined(await h.core.ingest.ingest(TENANT, h.web, call));
    expect(second.quarantineId).not.toBe(first.quarantineId);
    // an entry whose key was destroyed holds no readable payload: the call is kept anew
    const held = (await h.ports.quarantine.get(TENANT, first.quarantineId))!;
    get.mockResolvedValueOnce({ ...held, payload: null, payloadUnavailable: 'key-destroyed' });
    const third = quarantined(await h.core.ingest.ingest(TENANT, h.web, call));
    expect(third.quarantineId).not.toBe(first.quarantineId);
    get.mockRestore();
    for (const q of [second, third]) expect(await h.ports.quarantine.get(TENANT, q.quarantineId)).toMatchObject({ status: 'pending', payload: call });
  });

  it('replays an entry that still fails without quarantining it again', async () => {
    const h = makeHarness();
    const q = quarantined(await h.core.ingest.ingest(TENANT, h.web, { type: 'track', anonymousId: 'anon-1' }));
    const replay = await h.core.quarantine.replay(TENANT, q.quarantineId);
    expect(replay).toMatchObject({ status: 'rejected', error: { code: 'VALIDATION_FAILED' } });
    const list = await h.core.quarantine.list(TENANT, {});
    expect(list.entries.map((e) => [e.id, e.status])).toEqual([[q.quarantineId, 'pending']]);
  });

  it('replays a fixed entry into a customer and marks it replayed', async () => {
    const h = makeHarness();
    const receivedAt = h.clock.now() - DAY;
    await h.ports.quarantine.put({
      id: 'q-1',
      tenant: TENANT,
      receivedAt,
      source: 'crm',
      reason: { code: 'VALIDATION_FAILED', message: 'was broken', issues: [] },
      payload: identify({ messageId: 'm-fixed' }),
      status: 'pending',
    });
    const out = accepted(await h.core.quarantine.replay(TENANT, 'q-1'));
    expect(await h.ports.quarantine.get(TENANT, 'q-1')).toMatchObject({ status: 'replayed', replayedAt: h.clock.now() });
    const v = await view360(h, out.customerId);
    // observed when originally received, from the entry's source
    expect(v.traits.firstName).toMatchObject({ value: 'Ada', source: 'crm', observedAt: iso(receivedAt) });
  });
});

describe('ingest: batches', () => {
  it('lets valid calls proceed, quarantines invalid ones by index and applies batch context to each call', async () => {
    const h = makeHarness();
    const out = await h.core.ingest.ingestBatch(TENANT, h.web, {
      context: { library: { name: 'analytics-ios' } },
      batch: [
        { type: 'track', messageId: 'b-1', anonymousId: 'anon-1', event: 'App Opened' },
        { type: 'track', messageId: 'b-2', anonymousId: 'anon-1' },
        { type: 'screen', messageId: 'b-3', anonymousId: 'anon-1', name: 'Cart' },
      ],
    });
    expect(out.map((o) => o.status)).toEqual(['accepted', 'quarantined', 'accepted']);
    const first = accepted(out[0]!);
    expect(accepted(out[2]!).customerId).toBe(first.customerId);
    expect(quarantined(out[1]!).error.issues.map((i) => i.path)).toEqual(['event']);
    const v = await view360(h, first.customerId);
    expect(Object.keys(v.channels)).toEqual(['mobile']);
  });

  it('merges batch context into a call that has a context of its own, the call winning', async () => {
    const h = makeHarness();
    const [out] = await h.core.ingest.ingestBatch(TENANT, h.web, {
      context: { library: { name: 'analytics-ios' }, ip: '198.51.100.1' },
      batch: [{ type: 'track', messageId: 'b-ctx', anonymousId: 'anon-ctx', event: 'App Opened', context: { ip: '203.0.113.1' } }],
    });
    const v = await view360(h, accepted(out!).customerId);
    expect(Object.keys(v.channels)).toEqual(['mobile']);
  });

  it('refuses a body that is not a batch', async () => {
    const h = makeHarness();
    expect((await domainError(h.core.ingest.ingestBatch(TENANT, h.web, { batch: [] }))).code).toBe('VALIDATION_FAILED');
  });
});

describe('ingest: tenants, scores and concurrency', () => {
  it('never links the same email across tenants', async () => {
    const h = makeHarness();
    const a = accepted(await h.core.ingest.ingest('tenant-a', h.web, identify({ userId: 'ua' })));
    const b = accepted(await h.core.ingest.ingest('tenant-b', h.web, identify({ userId: 'ub' })));
    expect(a.customerId).not.toBe(b.customerId);
    expect(b.created).toBe(true);
    expect(asView(await h.core.queries.findByIdentifier('tenant-b', 'email', 'ada@example.com')).customerId).toBe(b.customerId);
    expect(asView(await h.core.queries.findByIdentifier('tenant-a', 'email', 'ADA@example.com')).customerId).toBe(a.customerId);
    expect((await domainError(h.core.queries.findByIdentifier('tenant-c', 'email', 'ada@example.com'))).code).toBe('CUSTOMER_NOT_FOUND');
    expect((await domainError(h.core.queries.get360('tenant-b', a.customerId))).code).toBe('CUSTOMER_NOT_FOUND');
  });

  it('shows CLV and RFM for a customer with orders', async () => {
    const h = makeHarness();
    const order = (id: string, revenue: number, daysAgo: number) => ({
      type: 'track',
      messageId: id,
      userId: 'u-1',
      event: 'Order Completed',
      timestamp: iso(h.clock.now() - daysAgo * DAY),
      properties: { order_id: id, revenue, currency: 'usd' },
    });
    const out = accepted(await h.core.ingest.ingest(TENANT, h.web, order('o-1', 120.5, 40)));
    accepted(await h.core.ingest.ingest(TENANT, h.web, order('o-2', 80, 10)));
    const v = await view360(h, out.customerId);
    expect(v.orders).toMatchObject({ count: 2, revenue: { USD: 200.5 }, averageOrderValue: { USD: 100.25 } });
    expect(v.scores).toMatchObject({
      clv: 200.5,
      currency: 'USD',
      rfm: { recency: 5, frequency: 3, monetary: 3, segment: 'Potential Loyalists' },
      daysSinceLastOrder: 10,
    });
    expect(v.scores).toMatchObject({ ordersCounted: 2, currenciesNotCounted: [] });
  });

  it('shows the average order value per currency and names the orders the scores leave out (another currency than the score currency)', async () => {
    const h = makeHarness();
    const order = (id: string, revenue: number, currency: string) => ({
      type: 'track',
      messageId: id,
      userId: 'u-eur',
      event: 'Order Completed',
      timestamp: iso(h.clock.now() - DAY),
      properties: { order_id: id, revenue, currency },
    });
    const out = accepted(await h.core.ingest.ingest(TENANT, h.web, order('o-eur', 42.5, 'EUR')));
    const v = await view360(h, out.customerId);
    expect(v.orders).toMatchObject({ count: 1, revenue: { EUR: 42.5 }, averageOrderValue: { EUR: 42.5 } });
    // the score currency is USD (the default): the EUR order is not in clv nor in the monetary score, and is named so
    expect(v.scores).toMatchObject({ clv: 0, currency: 'USD', ordersCounted: 0, currenciesNotCounted: ['EUR'], rfm: { monetary: 1 } });
    accepted(await h.core.ingest.ingest(TENANT, h.web, order('o-usd-1', 10, 'USD')));
    accepted(await h.core.ingest.ingest(TENANT, h.web, order('o-usd-2', 20.01, 'USD')));
    accepted(await h.core.ingest.ingest(TENANT, h.web, order('o-jpy', 1000, 'JPY')));
    const w = await view360(h, out.customerId);
    expect(w.orders).toMatchObject({ count: 4, averageOrderValue: { EUR: 42.5, USD: 15.01, JPY: 1000 } });
    expect(w.scores).toMatchObject({ clv: 30.01, currency: 'USD', ordersCounted: 2, currenciesNotCounted: ['EUR', 'JPY'] });
  });

  it('makes one customer from two concurrent first calls carrying the same new email', async () => {
    const h = makeHarness();
    const call = (n: number) => ({ type: 'identify', messageId: `c-${n}`, anonymousId: `anon-${n}`, traits: { email: 'grace@example.com' } });
    const [x, y] = (await Promise.all([h.core.ingest.ingest(TENANT, h.web, call(1)), h.core.ingest.ingest(TENANT, h.web, call(2))])).map(accepted);
    expect(x!.customerId).toBe(y!.customerId);
    expect([x!.created, y!.created].filter(Boolean)).toHaveLength(1);
    const streams = (h.ports.store.dump() as Record<string, { streams: Record<string, unknown> }>)[TENANT]!.streams;
    expect(Object.keys(streams)).toEqual([x!.customerId]);
    const v = asView(await h.core.queries.findByIdentifier(TENANT, 'email', 'grace@example.com'));
    expect(v.identifiers.map((i) => i.value)).toEqual(['anon-1', 'anon-2', 'grace@example.com']);
  });
});

describe('ingest: concurrent calls for one customer', () => {
  it('projects every one of them: no lost update in the 360 view', async () => {
    const h = makeHarness();
    const first = accepted(await h.core.ingest.ingest(TENANT, h.web, identify()));
    const calls = Array.from({ length: 40 }, (_, i) => ({
      type: 'track',
      messageId: `m-order-${i}`,
      userId: 'u-1',
      event: 'Order Completed',
      properties: { order_id: `o-${i}`, revenue: 10, currency: 'USD' },
    }));
    const outcomes = await Promise.all(calls.map((c) => h.core.ingest.ingest(TENANT, h.web, c)));
    expect(outcomes.every((o) => o.status === 'accepted')).toBe(true);
    const v = await view360(h, first.customerId);
    expect(v.orders).toMatchObject({ count: 40, revenue: { USD: 400 } });
    // and the view equals a rebuild from the log
    const { scratch } = await h.core.rebuild.build(TENANT);
    expect(JSON.parse(JSON.stringify(scratch.docs.get(first.customerId)))).toEqual(
      JSON.parse(JSON.stringify(await h.ports.readModels.get(TENANT, first.customerId))),
    );
  });
});

describe('ingest: group calls', () => {
  it("keeps each group's traits with that group: two groups never make one made-up group", async () => {
    const h = makeHarness();
    const group = (messageId: string, groupId: string, traits: Record<string, unknown>) => ({ type: 'group', messageId, userId: 'u-groups', groupId, traits });
    accepted(await h.core.ingest.ingest(TENANT, h.web, group('m-g1', 'bank-1', { name: 'Big Bank', industry: 'finance', plan: 'enterprise' })));
    h.clock.advance(1_000);
    const out = accepted(await h.core.ingest.ingest(TENANT, h.web, group('m-g2', 'club-7', { name: 'Chess Club' })));
    const v = await view360(h, out.customerId);
    expect(v.groups).toEqual(['bank-1', 'club-7']);
    const groupTraits = Object.fromEntries(
      Object.entries(v.traits)
        .filter(([name]) => name.startsWith('group'))
        .map(([name, t]) => [name, t.value]),
    );
    expect(groupTraits).toEqual({
      'group["bank-1"]': { name: 'Big Bank', industry: 'finance', plan: 'enterprise' },
      'group["club-7"]': { name: 'Chess Club' },
    });
    // a bare group call (no traits, or {}) keeps the group's traits; one with traits gives the group its set anew
    h.clock.advance(1_000);
    accepted(await h.core.ingest.ingest(TENANT, h.web, group('m-g3', 'bank-1', {})));
    accepted(await h.core.ingest.ingest(TENANT, h.web, { type: 'group', messageId: 'm-g4', userId: 'u-groups', groupId: 'bank-1' }));
    expect((await view360(h, out.customerId)).traits['group["bank-1"]']?.value).toEqual({ name: 'Big Bank', industry: 'finance', plan: 'enterprise' });
    h.clock.advance(1_000);
    accepted(await h.core.ingest.ingest(TENANT, h.web, group('m-g5', 'bank-1', { plan: 'team' })));
    expect((await view360(h, out.customerId)).traits['group["bank-1"]']?.value).toEqual({ plan: 'team' });
  });

  it('takes a group call within its bounds whatever its group id: the id is in one trait name, not in each trait', async () => {
    const h = makeHarness();
    // a 512-character id and 2,000 traits: within the 32 KB call bound; a name per trait repeating
    // the id made an event of megabytes, refused as COMMIT_TOO_LARGE
    const traits = Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`t${i}`, i]));
    const call = { type: 'group', messageId: 'm-long-group', userId: 'u-long-group', groupId: 'g'.repeat(512), traits };
    expect(JSON.stringify(call).length).toBeLessThan(32 * 1024);
    const out = accepted(await h.core.ingest.ingest(TENANT, h.web, call));
    const v = await view360(h, out.customerId);
    expect(v.traits[`group["${'g'.repeat(512)}"]`]?.value).toEqual(traits);
  });
});
