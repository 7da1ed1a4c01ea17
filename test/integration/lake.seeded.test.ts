import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore } from '../../src/application/core.js';
import { LakeProjector } from '../../src/application/lake/lake.projector.js';
import { qualityReport } from '../../src/adapters/lake/duckdb.quality.js';
import { parquetFiles } from '../../src/adapters/lake/lake.files.js';
import { lit } from '../../src/adapters/lake/lake.files.js';
import { TABLES } from '../../src/adapters/lake/lake.tables.js';
import { computeScores, DEFAULT_SCORE_CONFIG } from '../../src/domain/projection/scores.js';
import { closeHarnesses, listViews, makeHarness, type Harness } from '../support/harness.js';
import { ingestSeed, personalValues, seedCalls, tempLake } from '../support/lake-fixture.js';

// The lake projected from a seeded log: no personal value in any file, a rebuild equal to the
// incremental lake, scores that agree with the 360 view, tenants apart, and erasure that reaches
// every file.

const T = 'acme';
const OTHER = 'globex';
type Lake = Awaited<ReturnType<typeof tempLake>>;

/** every row of every Parquet file under root, as text */
const allText = async (lake: Lake): Promise<string[]> => {
  const conn = await lake.lake.instance.connect();
  try {
    const out: string[] = [];
    for (const file of parquetFiles(lake.root)) {
      const rows = (await conn.runAndReadAll(`SELECT * FROM read_parquet(${lit(file)}, hive_partitioning = false)`)).getRowObjectsJson();
      out.push(`${file}\n${JSON.stringify(rows)}`);
    }
    return out;
  } finally {
    conn.closeSync();
  }
};

const tableContents = async (lake: Lake, tenant: string): Promise<Record<string, unknown[]>> => {
  const conn = await lake.lake.instance.connect();
  try {
    const out: Record<string, unknown[]> = {};
    for (const t of TABLES) {
      const files = parquetFiles(`${lake.root}/${t.name}/tenant=${tenant}`);
      if (files.length === 0) continue;
      const rows = (
        await conn.runAndReadAll(`SELECT * FROM read_parquet([${files.map(lit).join(', ')}], hive_partitioning = false) ORDER BY ALL`)
      ).getRowObjectsJson();
      out[t.name] = rows;
    }
    return out;
  } finally {
    conn.closeSync();
  }
};

describe('the lake projected from the seeded log', () => {
  let h: Harness;
  let incremental: Lake;
  let rebuilt: Lake;
  const calls = seedCalls();
  const half = Math.floor(calls.length / 2);

  beforeAll(async () => {
    h = makeHarness();
    incremental = await tempLake(h.clock.now);
    rebuilt = await tempLake(h.clock.now);
    const projector = new LakeProjector(h.ports.store, incremental.lake.writer, { pageSize: 97 });
    await ingestSeed(h, T, calls.slice(0, half));
    await projector.catchUp(T);
    await ingestSeed(h, T, calls.slice(half));
    await projector.catchUp(T);
    await ingestSeed(h, OTHER, seedCalls({ customers: 3, products: 2, orders: 4, events: 6, seed: 99 }));
    await projector.catchUp(OTHER);
    await new LakeProjector(h.ports.store, rebuilt.lake.writer).rebuild(T);
  }, 120_000);

  afterAll(() => {
    incremental?.cleanup();
    rebuilt?.cleanup();
    closeHarnesses();
  });

  it('holds no personal value of the seed in any Parquet file', async () => {
    const values = personalValues(calls);
    expect(values.length).toBeGreaterThan(50);
    const texts = await allText(incremental);
    expect(texts.length).toBeGreaterThan(10);
    for (const text of texts) for (const v of values) expect(text.includes(v), `${v} in ${text.slice(0, text.indexOf('\n'))}`).toBe(false);
  });

  it('writes Hive partitions: facts by tenant/year/month, dimensions by tenant', () => {
    const files = parquetFiles(incremental.root).map((f) => f.slice(incremental.root.length));
    expect(files.some((f) => /^\/fact_order\/tenant=acme\/year=\d{4}\/month=\d{1,2}\/part-0\.parquet$/.test(f))).toBe(true);
    expect(files).toContain('/dim_customer/tenant=acme/part-0.parquet');
    expect(files).toContain('/dim_date/tenant=acme/part-0.parquet');
  });

  it('rebuilt from the log equals the lake written incrementally', async () => {
    const a = await tableContents(incremental, T);
    expect(Object.keys(a).length).toBeGreaterThanOrEqual(8);
    expect(await tableContents(rebuilt, T)).toEqual(a);
  });

  it('agrees with the 360 view on CLV, RFM and churn risk for every customer', async () => {
    const now = h.clock.now() + 3 * 86_400_000;
    const params = { now: String(now) };
    const clv = new Map((await incremental.lake.analytics.run(T, 'customer-lifetime-value', params)).map((r) => [r.customer_id, r]));
    const rfm = new Map((await incremental.lake.analytics.run(T, 'rfm-segmentation', params)).map((r) => [r.customer_id, r]));
    const churn = new Map((await incremental.lake.analytics.run(T, 'churn-risk', params)).map((r) => [r.customer_id, r]));
    const views = (await listViews(h, T)).flatMap((d) => (d.kind === 'view' ? [d] : []));
    expect(views.length).toBeGreaterThan(20);
    expect(clv.size).toBe(views.length);
    for (const d of views) {
      const s = computeScores(d.view, now, DEFAULT_SCORE_CONFIG);
      const id = d.customerId;
      expect(clv.get(id)?.clv_minor, id).toBe(s.clvMinor);
      expect(clv.get(id)?.average_order_value_minor, id).toBe(s.averageOrderValueMinor);
      expect(clv.get(id)?.orders, id).toBe(d.view.orders.count);
      expect([rfm.get(id)?.recency, rfm.get(id)?.frequency, rfm.get(id)?.monetary, rfm.get(id)?.segment], id).toEqual([
        s.rfm.recency,
        s.rfm.frequency,
        s.rfm.monetary,
        s.rfm.segment,
      ]);
      expect(churn.get(id)?.churn_risk, id).toBe(s.churnRisk);
    }
  });

  it("answers a tenant's queries from that tenant's rows only", async () => {
    const mine = new Set((await incremental.lake.analytics.run(T, 'customer-lifetime-value', {})).map((r) => r.customer_id));
    const theirs = (await incremental.lake.analytics.run(OTHER, 'customer-lifetime-value', {})).map((r) => r.customer_id);
    expect(theirs.length).toBeGreaterThan(0);
    for (const id of theirs) expect(mine.has(id)).toBe(false);
  });

  it('passes every data-quality check', async () => {
    const report = await qualityReport(incremental.lake.instance, incremental.root, T, { now: h.clock.now(), maxAgeHours: 1 });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(new Set(report.checks.map((c) => c.check))).toEqual(new Set(['schema', 'nulls', 'duplicates', 'ranges', 'freshness', 'referential']));
  });

  it('runs all ten queries on the seeded lake', async () => {
    for (const q of incremental.lake.analytics.names) expect((await incremental.lake.analytics.run(T, q, {})).length, q).toBeGreaterThan(0);
  });

  it('erasure removes every row of the cluster from every file, and the receipt says when', async () => {
    const core = createCore({ ...h.ports, lake: incremental.lake.writer }, { inlineProjection: true, sourceOf: () => h.web });
    const victim = (await incremental.lake.analytics.run(T, 'customer-lifetime-value', {})).find((r) => Number(r.orders) > 1)!;
    const id = String(victim.customer_id);
    expect(await incremental.lake.writer.holds(T, [id])).toBe(true);
    const now = String(h.clock.now());
    const scores = async () =>
      JSON.stringify(
        await Promise.all(['customer-lifetime-value', 'rfm-segmentation', 'churn-risk'].map((q) => incremental.lake.analytics.run(T, q, { now }))),
      );
    const before = await scores();
    const receipt = await core.gdpr.erase(T, id, { actor: 'test' });
    // no population quantiles: every other customer's rows are exactly as they were
    const drop = (json: string) =>
      JSON.stringify((JSON.parse(json) as { customer_id: string }[][]).map((rows) => rows.filter((r) => !receipt.customers.includes(r.customer_id))));
    expect(await scores()).toBe(drop(before));
    expect(receipt.lakeCleanAt).toBe(new Date(h.clock.now()).toISOString());
    expect(await incremental.lake.writer.holds(T, receipt.customers)).toBe(false);
    // the projector reads the tombstones and any page again: nothing of theirs comes back
    await new LakeProjector(h.ports.store, incremental.lake.writer).catchUp(T);
    await new LakeProjector(h.ports.store, incremental.lake.writer).rebuild(T);
    expect(await incremental.lake.writer.holds(T, receipt.customers)).toBe(false);
    const texts = (await allText(incremental)).join('\n');
    for (const c of receipt.customers) expect(texts.includes(c)).toBe(false);
  });
});
