import { afterEach, describe, expect, it } from 'vitest';
import { createCore } from '../../src/application/core.js';
import { LakeProjector } from '../../src/application/lake/lake.projector.js';
import { lit, parquetFiles, tenantDir } from '../../src/adapters/lake/lake.files.js';
import { closeHarnesses, listViews, makeHarness, type Harness } from '../support/harness.js';
import { lakeForTest } from '../support/lake-fixture.js';

// An unmerge in the lake, as the 360 view counts it: the events it gives back count once, for the
// customer they went back to (the copies in that customer's stream; the survivor's originals are
// skipped, as every view skips them), live and after a rebuild; and when that customer is erased
// before the lake has read the unmerge, none of those rows stays in the lake under the survivor.

const T = 'acme';
type Lake = Awaited<ReturnType<typeof lakeForTest>>;
afterEach(() => {
  closeHarnesses();
});

const newLake = (h: Harness): Promise<Lake> => lakeForTest(h.clock.now);

/** C and D merged (forced), then an order and a product view sent with D's user id: the survivor's events */
const mergedWithOrder = async (h: Harness, lake: Lake) => {
  const core = createCore({ ...h.ports, lake: lake.lake.writer }, { inlineProjection: true, sourceOf: () => h.web });
  const send = async (call: Record<string, unknown>): Promise<string> => {
    const out = await core.ingest.ingest(T, h.web, call);
    h.clock.advance(60_000);
    if (out.status !== 'accepted') throw new Error(`setup call refused: ${JSON.stringify(out)}`);
    return out.customerId;
  };
  const c = await send({ type: 'identify', messageId: 'm-c', userId: 'carl', traits: { email: 'carl@example.com' } });
  const d = await send({ type: 'identify', messageId: 'm-d', userId: 'dana', traits: { email: 'dana@example.com' } });
  const merged = await core.identity.merge(T, c, d, { actor: 'ops', force: true });
  expect(merged.survivorId).toBe(c);
  await send({
    type: 'track',
    messageId: 'm-o',
    userId: 'dana',
    event: 'Order Completed',
    properties: { orderId: 'dana-1', revenue: 99, currency: 'USD', products: [{ product_id: 'p-1', price: 99, quantity: 1 }] },
  });
  await send({ type: 'track', messageId: 'm-p', userId: 'dana', event: 'Product Viewed', properties: { product_id: 'p-1' } });
  return { core, c, d, mergeId: merged.mergeId };
};

const count = async (lake: Lake, table: string, where: string): Promise<number> => {
  const files = parquetFiles(tenantDir(lake.root, table, T));
  if (files.length === 0) return 0;
  const conn = await lake.lake.instance.connect();
  try {
    const r = await conn.runAndReadAll(`SELECT count(*) AS n FROM read_parquet([${files.map(lit).join(', ')}], hive_partitioning = false) WHERE ${where}`);
    return Number((r.getRowObjectsJS()[0] as { n: bigint }).n);
  } finally {
    conn.closeSync();
  }
};

/** each customer's orders and revenue as the lake's CLV query counts them, and as the 360 view does */
const lakeAndViews = async (h: Harness, lake: Lake) => {
  const now = String(h.clock.now() + 86_400_000);
  const clv = await lake.lake.analytics.run(T, 'customer-lifetime-value', { now });
  const fromLake = Object.fromEntries(clv.map((r) => [String(r.customer_id), [Number(r.orders), Number(r.revenue_minor)]]));
  const views = (await listViews(h, T)).flatMap((d) => (d.kind === 'view' ? [d] : []));
  const fromViews = Object.fromEntries(views.map((d) => [d.customerId, [d.view.orders.count, d.view.orders.count === 0 ? 0 : 9_900]]));
  return { fromLake, fromViews };
};

describe('an unmerge in the lake', () => {
  it('counts the events it gives back once, for their customer, as the 360 view does: live and rebuilt', async () => {
    const h = makeHarness({}, { store: 'sqlite' });
    const live = await newLake(h);
    const { core, c, d, mergeId } = await mergedWithOrder(h, live);
    const projector = new LakeProjector(h.ports.store, live.lake.writer);
    await projector.catchUp(T);
    await core.identity.unmerge(T, c, mergeId, { actor: 'ops' });
    await projector.catchUp(T);
    const { fromLake, fromViews } = await lakeAndViews(h, live);
    expect(fromViews).toEqual({ [c]: [0, 0], [d]: [1, 9_900] });
    expect(fromLake).toEqual(fromViews);
    expect(await count(live, 'fact_order', "order_id = 'dana-1'")).toBe(1);
    expect(await count(live, 'fact_order_line', "order_id = 'dana-1'")).toBe(1);
    expect(await count(live, 'fact_product_event', "product_id = 'p-1'")).toBe(1);

    const rebuilt = await newLake(h);
    await new LakeProjector(h.ports.store, rebuilt.lake.writer).rebuild(T);
    expect((await lakeAndViews(h, rebuilt)).fromLake).toEqual(fromViews);
    expect(await count(rebuilt, 'fact_order', "order_id = 'dana-1'")).toBe(1);
    expect(await count(rebuilt, 'fact_product_event', "product_id = 'p-1'")).toBe(1);
  });

  it('erased before the lake reads the unmerge: no row of the events given back stays under the survivor, live or rebuilt', async () => {
    const h = makeHarness({}, { store: 'sqlite' });
    const lake = await newLake(h);
    const { core, c, d, mergeId } = await mergedWithOrder(h, lake);
    const projector = new LakeProjector(h.ports.store, lake.lake.writer);
    await projector.catchUp(T);
    expect(await count(lake, 'fact_order', `order_id = 'dana-1' AND customer_id = ${lit(c)}`)).toBe(1);
    await core.identity.unmerge(T, c, mergeId, { actor: 'ops' });
    // the erasure reaches the lake at once (this process writes it); the unmerge is read after
    const receipt = await core.gdpr.erase(T, d, { actor: 'dpo' });
    expect(receipt.customers).toEqual([d]);
    await projector.catchUp(T);
    const gone = async (l: Lake) => {
      for (const t of ['fact_order', 'fact_order_line']) expect(await count(l, t, "order_id = 'dana-1'"), t).toBe(0);
      expect(await count(l, 'fact_product_event', "product_id = 'p-1'")).toBe(0);
      expect(await l.lake.writer.holds(T, [d])).toBe(false);
      const { fromLake, fromViews } = await lakeAndViews(h, l);
      expect(fromViews).toEqual({ [c]: [0, 0] });
      expect(fromLake).toEqual(fromViews);
    };
    await gone(lake);
    // lake-rebuild: the same lake, reset and read from the whole log again
    await projector.rebuild(T);
    await gone(lake);
  });
});
