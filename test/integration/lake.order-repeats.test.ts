import { afterEach, describe, expect, it } from 'vitest';
import { createCore } from '../../src/application/core.js';
import { LakeProjector } from '../../src/application/lake/lake.projector.js';
import { closeHarnesses, listViews, makeHarness, type Harness } from '../support/harness.js';
import { lakeForTest } from '../support/lake-fixture.js';

// The same order sent again under another messageId is one order in the lake's queries as in the
// 360 view: for one customer, for two customers that both recorded it once merged, and for each of
// them again after the unmerge, live and rebuilt.

const T = 'acme';
type Lake = Awaited<ReturnType<typeof lakeForTest>>;
afterEach(() => {
  closeHarnesses();
});

/** each customer's orders and USD revenue as the lake's CLV query counts them, and as the 360 view does */
const lakeAndViews = async (h: Harness, lake: Lake) => {
  const now = String(h.clock.now() + 86_400_000);
  const clv = await lake.lake.analytics.run(T, 'customer-lifetime-value', { now });
  const fromLake = Object.fromEntries(clv.map((r) => [String(r.customer_id), [Number(r.orders), Number(r.revenue_minor)]]));
  const views = (await listViews(h, T)).flatMap((d) => (d.kind === 'view' ? [d] : []));
  const fromViews = Object.fromEntries(views.map((d) => [d.customerId, [d.view.orders.count, d.view.orders.revenueMinor.USD ?? 0]]));
  return { fromLake, fromViews };
};

describe('a repeated order in the lake', () => {
  it('is counted once, as the 360 view counts it: one customer, a merge of two that both recorded it, the unmerge; live and rebuilt', async () => {
    const h = makeHarness({}, { store: 'sqlite' });
    const lake = await lakeForTest(h.clock.now);
    const core = createCore({ ...h.ports, lake: lake.lake.writer }, { inlineProjection: true, sourceOf: () => h.web });
    const projector = new LakeProjector(h.ports.store, lake.lake.writer);
    const send = async (call: Record<string, unknown>): Promise<string> => {
      const out = await core.ingest.ingest(T, h.web, call);
      h.clock.advance(60_000);
      if (out.status !== 'accepted') throw new Error(`setup call refused: ${JSON.stringify(out)}`);
      return out.customerId;
    };
    const order = (messageId: string, userId: string, orderId: string, revenue: number) => ({
      type: 'track',
      messageId,
      userId,
      event: 'Order Completed',
      properties: { order_id: orderId, revenue, currency: 'USD', products: [{ product_id: 'p-1', price: revenue, quantity: 1 }] },
    });
    const c = await send(order('m-1', 'carl', 'x-1', 40));
    await send(order('m-2', 'carl', 'x-1', 40)); // a retry under a new messageId
    await send(order('m-3', 'carl', 'x-2', 10));
    const d = await send(order('m-4', 'dana', 'x-1', 40)); // the same order id from another customer
    await projector.catchUp(T);
    let seen = await lakeAndViews(h, lake);
    expect(seen.fromViews).toEqual({ [c]: [2, 5_000], [d]: [1, 4_000] });
    expect(seen.fromLake).toEqual(seen.fromViews);

    const merged = await core.identity.merge(T, c, d, { actor: 'ops', force: true });
    await projector.catchUp(T);
    seen = await lakeAndViews(h, lake);
    expect(seen.fromViews).toEqual({ [c]: [2, 5_000] });
    expect(seen.fromLake).toEqual(seen.fromViews);
    // product lines of the repeats are not sales either
    const perf = await lake.lake.analytics.run(T, 'product-performance', { now: String(h.clock.now() + 86_400_000) });
    expect(perf.find((r) => r.product_id === 'p-1')).toMatchObject({ units: 2, revenue_minor: 5_000 });

    await core.identity.unmerge(T, c, merged.mergeId, { actor: 'ops' });
    await projector.catchUp(T);
    seen = await lakeAndViews(h, lake);
    expect(seen.fromViews).toEqual({ [c]: [2, 5_000], [d]: [1, 4_000] });
    expect(seen.fromLake).toEqual(seen.fromViews);

    const rebuilt = await lakeForTest(h.clock.now);
    await new LakeProjector(h.ports.store, rebuilt.lake.writer).rebuild(T);
    expect((await lakeAndViews(h, rebuilt)).fromLake).toEqual(seen.fromViews);
  });
});
