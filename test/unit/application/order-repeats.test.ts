import { describe, expect, it } from 'vitest';
import { decisionEvents, makeEngagementHarness } from '../../support/engagement-harness.js';
import { makeHarness, type Harness } from '../../support/harness.js';
import { accepted, domainError, iso, TENANT, view360 } from './ingest-support.js';

// The same order (same properties.order_id) sent again under another messageId (a client's retry,
// a reloaded thank-you page) is one order: the call is kept, the order counted once, and the view
// says it was repeated. Orders without an orderId each count.

const DAY = 86_400_000;

const order = (h: Harness, messageId: string, who: Record<string, string>, props: Record<string, unknown>, daysAgo = 0) => ({
  type: 'track',
  messageId,
  ...who,
  event: 'Order Completed',
  timestamp: iso(h.clock.now() - daysAgo * DAY),
  properties: { currency: 'USD', ...props },
});

const send = async (h: Harness, call: Record<string, unknown>) => accepted(await h.core.ingest.ingest(TENANT, h.web, call));

describe('orders: one order per orderId', () => {
  it('counts an order sent twice under two messageIds once: count, revenue, first and last order, scores', async () => {
    const h = makeHarness();
    const u = { userId: 'u-1' };
    const first = await send(h, order(h, 'm-1', u, { order_id: 'o-1', revenue: 120.5 }, 10));
    // the thank-you page reloaded two days later: the same order again, under a new messageId
    const again = await send(h, order(h, 'm-2', u, { order_id: 'o-1', revenue: 120.5 }, 8));
    expect(again.customerId).toBe(first.customerId);
    const v = await view360(h, first.customerId);
    expect(v.orders).toMatchObject({
      count: 1,
      revenue: { USD: 120.5 },
      averageOrderValue: { USD: 120.5 },
      firstOrderAt: iso(h.clock.now() - 10 * DAY),
      lastOrderAt: iso(h.clock.now() - 10 * DAY),
      repeated: 1,
      repeatsByOrderId: { 'o-1': 1 },
    });
    // CLV and RFM as if the order had been sent once (the repeat is still activity: last seen moves)
    const once = makeHarness();
    const alone = await send(once, order(once, 'm-1', u, { order_id: 'o-1', revenue: 120.5 }, 10));
    const orderScores = ({ clv, rfm, daysSinceLastOrder }: typeof v.scores) => ({ clv, rfm, daysSinceLastOrder });
    expect(orderScores(v.scores)).toEqual(orderScores((await view360(once, alone.customerId)).scores));
    expect(v.scores).toMatchObject({ clv: 120.5, daysSinceLastOrder: 10 });
    // nothing dropped: both calls are on the timeline
    expect(v.timeline.filter((t) => t.type === 'OrderPlaced')).toHaveLength(2);
  });

  it('counts orders with different orderIds, and every order without one', async () => {
    const h = makeHarness();
    const u = { userId: 'u-1' };
    const c = await send(h, order(h, 'm-1', u, { order_id: 'o-1', revenue: 10 }, 3));
    await send(h, order(h, 'm-2', u, { order_id: 'o-2', revenue: 20 }, 2));
    await send(h, order(h, 'm-3', u, { revenue: 5 }, 1));
    await send(h, order(h, 'm-4', u, { revenue: 5 }, 1));
    const v = await view360(h, c.customerId);
    expect(v.orders).toMatchObject({ count: 4, revenue: { USD: 40 }, repeated: 0, repeatsByOrderId: {} });
  });

  it('takes orderId and checkout_id as the order id too', async () => {
    const h = makeHarness();
    const u = { userId: 'u-1' };
    const c = await send(h, order(h, 'm-1', u, { orderId: 'o-1', revenue: 10 }));
    await send(h, order(h, 'm-2', u, { order_id: 'o-1', revenue: 10 }));
    await send(h, order(h, 'm-3', u, { checkout_id: 'o-1', revenue: 10 }));
    expect((await view360(h, c.customerId)).orders).toMatchObject({ count: 1, revenue: { USD: 10 }, repeated: 2 });
  });

  it('counts an order both customers recorded once after their merge, and once on each side after the unmerge', async () => {
    const h = makeHarness();
    const a = await send(h, order(h, 'a-1', { anonymousId: 'anon-a' }, { order_id: 'o-1', revenue: 30 }, 5));
    await send(h, order(h, 'a-2', { anonymousId: 'anon-a' }, { order_id: 'o-2', revenue: 7 }, 4));
    // the same order sent again from another device, before anything tied the two together
    const b = await send(h, order(h, 'b-1', { anonymousId: 'anon-b' }, { order_id: 'o-1', revenue: 30 }, 3));
    expect(b.customerId).not.toBe(a.customerId);
    const before = [(await view360(h, a.customerId)).orders, (await view360(h, b.customerId)).orders];
    expect(before.map((o) => o.count)).toEqual([2, 1]);

    const merge = await h.core.identity.merge(TENANT, a.customerId, b.customerId, { actor: 'ops' });
    const merged = (await view360(h, a.customerId)).orders;
    expect(merged).toMatchObject({
      count: 2,
      revenue: { USD: 37 },
      firstOrderAt: iso(h.clock.now() - 5 * DAY),
      // o-1 was first sent 5 days ago: b's sending of it moves no date
      lastOrderAt: iso(h.clock.now() - 4 * DAY),
      repeated: 1,
      repeatsByOrderId: { 'o-1': 1 },
    });

    await h.core.identity.unmerge(TENANT, a.customerId, merge.mergeId, { actor: 'ops' });
    expect([(await view360(h, a.customerId)).orders, (await view360(h, b.customerId)).orders]).toEqual(before);
  });

  it('counts a repeat arriving after a merge once, whichever member it names', async () => {
    const h = makeHarness();
    const a = await send(h, order(h, 'a-1', { anonymousId: 'anon-a' }, { order_id: 'o-1', revenue: 30 }, 5));
    const b = await send(h, { type: 'identify', messageId: 'b-1', anonymousId: 'anon-b', traits: { email: 'b@example.com' } });
    await h.core.identity.merge(TENANT, a.customerId, b.customerId, { actor: 'ops' });
    await send(h, order(h, 'b-2', { anonymousId: 'anon-b' }, { order_id: 'o-1', revenue: 30 }, 1));
    expect((await view360(h, a.customerId)).orders).toMatchObject({ count: 1, revenue: { USD: 30 }, lastOrderAt: iso(h.clock.now() - 5 * DAY), repeated: 1 });
  });

  it('a rebuild counts repeats as the live views do', async () => {
    const h = makeHarness();
    const a = await send(h, order(h, 'a-1', { anonymousId: 'anon-a' }, { order_id: 'o-1', revenue: 30 }, 5));
    await send(h, order(h, 'a-2', { anonymousId: 'anon-a' }, { order_id: 'o-1', revenue: 30 }, 4));
    const b = await send(h, order(h, 'b-1', { anonymousId: 'anon-b' }, { order_id: 'o-1', revenue: 30 }, 3));
    await h.core.identity.merge(TENANT, a.customerId, b.customerId, { actor: 'ops' });
    const live = (await view360(h, a.customerId)).orders;
    await h.core.rebuild.rebuild(TENANT);
    expect((await view360(h, a.customerId)).orders).toEqual(live);
    expect(live).toMatchObject({ count: 1, repeated: 2 });
  });

  it('erasure is unaffected: the erased customer is gone, the other keeps its order', async () => {
    const h = makeHarness();
    const a = await send(h, order(h, 'a-1', { anonymousId: 'anon-a' }, { order_id: 'o-1', revenue: 30 }, 5));
    await send(h, order(h, 'a-2', { anonymousId: 'anon-a' }, { order_id: 'o-1', revenue: 30 }, 4));
    const b = await send(h, order(h, 'b-1', { anonymousId: 'anon-b' }, { order_id: 'o-1', revenue: 30 }, 3));
    await h.core.gdpr.erase(TENANT, a.customerId, { actor: 'dpo' });
    expect((await domainError(h.core.queries.get360(TENANT, a.customerId))).code).toBe('CUSTOMER_ERASED');
    expect((await view360(h, b.customerId)).orders).toMatchObject({ count: 1, revenue: { USD: 30 }, repeated: 0 });
  });
});

describe('orders: engagement answers an order once', () => {
  const orderCall = (messageId: string, orderId: string) => ({
    type: 'track',
    messageId,
    userId: 'u-1',
    event: 'Order Completed',
    properties: { order_id: orderId, revenue: 50, currency: 'USD', products: [{ product_id: 'p-1', category: 'Electronics', price: 50 }] },
    context: { consent: { categoryPreferences: { Marketing: true } } },
  });

  for (const engagementInCommit of [true, false]) {
    it(`takes no second decision for the same order sent again (${engagementInCommit ? 'in the call commit' : 'after the commit'})`, async () => {
      const h = makeEngagementHarness({ engagementInCommit });
      accepted(await h.core.ingest.ingest(TENANT, h.web, orderCall('m-1', 'o-1')));
      expect(await decisionEvents(h, TENANT)).toHaveLength(1);
      h.clock.advance(60_000);
      accepted(await h.core.ingest.ingest(TENANT, h.web, orderCall('m-2', 'o-1')));
      expect(await decisionEvents(h, TENANT)).toHaveLength(1);
      // another order is answered
      h.clock.advance(60_000);
      accepted(await h.core.ingest.ingest(TENANT, h.web, orderCall('m-3', 'o-2')));
      expect((await decisionEvents(h, TENANT)).map((d) => d.trigger)).toEqual(['OrderPlaced', 'OrderPlaced']);
    });

    it(`takes no second decision for a repeat dated before the first sending, which the view then counts (${engagementInCommit ? 'in the call commit' : 'after the commit'})`, async () => {
      const h = makeEngagementHarness({ engagementInCommit });
      const at = (msAgo: number) => new Date(h.clock.now() - msAgo).toISOString();
      accepted(await h.core.ingest.ingest(TENANT, h.web, { ...orderCall('m-1', 'o-1'), timestamp: at(60_000) }));
      expect(await decisionEvents(h, TENANT)).toHaveLength(1);
      h.clock.advance(1_000);
      accepted(await h.core.ingest.ingest(TENANT, h.web, { ...orderCall('m-2', 'o-1'), timestamp: at(120_000) }));
      expect(await decisionEvents(h, TENANT)).toHaveLength(1);
    });
  }
});
