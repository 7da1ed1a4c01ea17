import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Cell } from '../../src/adapters/lake/lake.buffer.js';
import { parquetFiles, tenantDir } from '../../src/adapters/lake/lake.files.js';
import { FACTS, TABLES } from '../../src/adapters/lake/lake.tables.js';
import { decodeRows } from '../../src/adapters/lake/parquet.codec.js';
import { InvalidLambdaEventError } from '../../src/adapters/lambda/lambda.event.js';
import { LakeProjector } from '../../src/application/lake/lake.projector.js';
import type { App } from '../../src/infrastructure/app.js';
import { lakeFunction } from '../../src/infrastructure/lambda/lake.function.js';
import { seedCalls, tempLake } from '../support/lake-fixture.js';
import { appFor, credentials, dynamoEnv, quietly } from '../support/lambda-apps.js';
import { scheduledEvent } from '../support/lambda-events.js';
import { s3Lake, type S3Lake } from '../support/s3-lake.js';

// The lake function (schedule -> each tenant's lake on S3 caught up from its checkpoint) on
// DynamoDB Local and fauxqs's S3: it writes what the DuckDB writer writes from the same log, the
// next tick finds nothing new, later calls join the lake, and an erasure made by the API function
// (which holds no lake) leaves the lake at the function's next tick, whose run then marks the
// erasure's receipt clean (lakeCleanAt); until then the receipt gives the schedule's bound.

const sorted = (rows: Cell[][]): Cell[][] => rows.map((r) => r.map((c) => c ?? null)).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

describe('the lake function (schedule -> lake on S3) on DynamoDB Local and fauxqs', () => {
  const tenant = `t-${randomUUID().slice(0, 8)}`;
  const calls = seedCalls({ customers: 6, products: 4, orders: 14, events: 24, seed: 5 });
  const half = Math.floor(calls.length / 2);
  let app: App;
  let lake: S3Lake;
  let env: Record<string, string>;
  let duck: Awaited<ReturnType<typeof tempLake>>;

  const ingest = async (xs: typeof calls) => {
    for (const c of xs) await app.core.ingest.ingest(tenant, app.sourceOf(tenant, c.source), c.call);
  };
  /** the S3 lake equals the DuckDB writer's lake of the same log, table by table */
  const sameAsDuckDb = async () => {
    await new LakeProjector(app.core.ports.store, duck.lake.writer).catchUp(tenant);
    let tables = 0;
    for (const t of TABLES) {
      const s3: Cell[][] = [];
      for (const key of await lake.writer.objects(tenant, t)) s3.push(...(await lake.writer.readRows(t, key)));
      const local: Cell[][] = [];
      for (const file of parquetFiles(tenantDir(duck.root, t.name, tenant))) local.push(...(await decodeRows(t, readFileSync(file))));
      expect(sorted(s3), t.name).toEqual(sorted(local));
      if (s3.length > 0) tables++;
    }
    expect(tables).toBeGreaterThanOrEqual(8);
  };

  beforeAll(async () => {
    lake = await s3Lake({ prefix: 'lake/' });
    duck = await tempLake();
    env = {
      ...dynamoEnv(inject('dynamoEndpoint'), tenant, credentials(), { C360_PROJECTION: 'inline' }),
      C360_LAKE_BUCKET: lake.bucket,
      C360_LAKE_PREFIX: 'lake/',
      // fauxqs keeps no versions (test/integration/lake.s3-versions.test.ts runs a versioned bucket on moto)
      C360_LAKE_VERSIONED: 'false',
      AWS_ENDPOINT_URL_S3: inject('s3Endpoint'),
      // as the CDK sets it on the api function: the lake function runs every 15 minutes
      C360_LAKE_SCHEDULE_MINUTES: '15',
      // the test ingests, then runs the function: no commit is in flight when the lake reads the
      // log, so it reads up to now (the out-of-order case is test/integration/lake.settle.dynamodb.test.ts)
      C360_LOG_SETTLE_SECONDS: '0',
    };
    app = await appFor(env);
    await ingest(calls.slice(0, half));
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    lake?.client.destroy();
    duck?.cleanup();
  });

  it('catches the tenant up from its checkpoint: the rows the DuckDB writer writes; the next tick finds nothing; later calls join', async () => {
    const tick = quietly(() => lakeFunction(app, env));
    const first = await tick(scheduledEvent('c360-lake'));
    expect(first.tenants).toEqual([{ tenant, events: first.events, caughtUp: true }]);
    expect(first.events).toBeGreaterThan(half);
    await sameAsDuckDb();
    expect(await tick(scheduledEvent('c360-lake'))).toEqual({ tenants: [{ tenant, events: 0, caughtUp: true }], events: 0 });
    await ingest(calls.slice(half));
    expect((await tick(scheduledEvent('c360-lake'))).events).toBeGreaterThan(0);
    await sameAsDuckDb();
  });

  it("an erasure made where no lake is held leaves the lake at the function's next tick, for good", async () => {
    const tick = quietly(() => lakeFunction(app, env));
    await tick(scheduledEvent('c360-lake'));
    const orders: Cell[][] = [];
    for (const key of await lake.writer.objects(tenant, FACTS.fact_order)) orders.push(...(await lake.writer.readRows(FACTS.fact_order, key)));
    const id = String(orders[0]![2]);
    expect(await lake.writer.holds(tenant, [id])).toBe(true);
    const receipt = await app.core.gdpr.erase(tenant, id, { actor: 'test' });
    expect(receipt.lakeCleanAt).toBeUndefined();
    // the bound: the first run after the erasure starts within 15 minutes and ends within 15 more
    expect(Date.parse(receipt.lakeCleanBy!) - Date.parse(receipt.erasedAt)).toBe(30 * 60_000);
    await tick(scheduledEvent('c360-lake'));
    // no row of the cluster in any Parquet object (every row of every object read)
    expect(await lake.writer.holds(tenant, receipt.customers)).toBe(false);
    // the run marked the receipt: asked again (the erasure is idempotent), and in the ledger's list
    const again = await app.core.gdpr.erase(tenant, id, { actor: 'test' });
    expect(again.erasureId).toBe(receipt.erasureId);
    expect(Date.parse(again.lakeCleanAt!)).toBeGreaterThanOrEqual(Date.parse(receipt.erasedAt));
    expect(again.lakeCleanBy).toBe(receipt.lakeCleanBy);
    const listed = (await app.core.gdpr.receipts(tenant, { limit: 100 })).entries.find((r) => r.erasureId === receipt.erasureId);
    expect(listed?.lakeCleanAt).toBe(again.lakeCleanAt);
    await tick(scheduledEvent('c360-lake'));
    expect(await lake.writer.holds(tenant, receipt.customers)).toBe(false);
    expect((await app.core.gdpr.erase(tenant, id, { actor: 'test' })).lakeCleanAt).toBe(again.lakeCleanAt);
    expect(
      await lake.writer.holds(
        tenant,
        [...new Set(orders.map((r) => String(r[2])))].filter((c) => !receipt.customers.includes(c)),
      ),
    ).toBe(true);
  });

  it("a rebuild asked in the event's detail writes the tenant's lake again from the log, the erased ids still barred", async () => {
    const tick = quietly(() => lakeFunction(app, env));
    const logged = (await app.core.ports.store.readAll(tenant, { limit: 10_000 })).events.length;
    const report = await tick({ ...scheduledEvent('c360-lake'), detail: { rebuild: [tenant] } });
    expect(report).toEqual({ tenants: [{ tenant, events: logged, caughtUp: true }], events: logged });
    await sameAsDuckDb();
    await expect(tick({ ...scheduledEvent('c360-lake'), detail: { rebuild: ['nobody'] } })).rejects.toThrow(/rebuild: not a tenant of this function: nobody/);
  });

  it('short of time, stops at a flush and the next tick resumes from there; the lake ends the same', async () => {
    const other = `s-${randomUUID().slice(0, 8)}`;
    for (const c of calls) await app.core.ingest.ingest(other, app.sourceOf(other, c.source), c.call);
    const logged = (await app.core.ports.store.readAll(other, { limit: 10_000 })).events.length;
    const small = { ...env, C360_LAKE_TENANTS: other, C360_LAKE_FLUSH_EVENTS: '7' };
    const tick = quietly(() => lakeFunction(app, small));
    // time enough to start, then 1 s left: the catch-up stops at its first flush
    const short = () => {
      let asked = 0;
      return { awsRequestId: 'r-short', getRemainingTimeInMillis: () => (asked++ === 0 ? 120_000 : 1_000) } as unknown as Parameters<typeof tick>[1];
    };
    expect(await tick(scheduledEvent('c360-lake'), short())).toEqual({ tenants: [{ tenant: other, events: 7, caughtUp: false }], events: 7 });
    expect(await tick(scheduledEvent('c360-lake'), short())).toEqual({ tenants: [{ tenant: other, events: 7, caughtUp: false }], events: 7 });
    // 1 s left from the start: no tenant is started
    const spent = { awsRequestId: 'r-spent', getRemainingTimeInMillis: () => 1_000 } as unknown as Parameters<typeof tick>[1];
    expect(await tick(scheduledEvent('c360-lake'), spent)).toEqual({ tenants: [{ tenant: other, events: 0, caughtUp: false }], events: 0 });
    const rest = await tick(scheduledEvent('c360-lake'));
    expect(rest.tenants).toEqual([{ tenant: other, events: logged - 14, caughtUp: true }]);
    await new LakeProjector(app.core.ports.store, duck.lake.writer).catchUp(other);
    for (const t of TABLES) {
      const s3: Cell[][] = [];
      for (const key of await lake.writer.objects(other, t)) s3.push(...(await lake.writer.readRows(t, key)));
      const local: Cell[][] = [];
      for (const file of parquetFiles(tenantDir(duck.root, t.name, other))) local.push(...(await decodeRows(t, readFileSync(file))));
      expect(sorted(s3), t.name).toEqual(sorted(local));
    }
  });

  it('refuses an event that is not a schedule, naming the fields', async () => {
    const tick = quietly(() => lakeFunction(app, env));
    await expect(tick({ Records: [] })).rejects.toThrow(InvalidLambdaEventError);
  });

  it('fails the invocation naming the tenants it could not write, after trying every one', async () => {
    const other = `u-${randomUUID().slice(0, 8)}`;
    const tick = quietly(() => lakeFunction(app, { ...env, C360_LAKE_BUCKET: `missing-${randomUUID()}`, C360_LAKE_TENANTS: `${tenant}, ${other}` }));
    await expect(tick(scheduledEvent('c360-lake'))).rejects.toThrow(`lake catch-up failed for 2 tenant(s): ${tenant}, ${other}`);
  });

  it('refuses to start without its bucket, or with a prefix that is not a folder', () => {
    const { C360_LAKE_BUCKET: _, ...noBucket } = env;
    expect(() => lakeFunction(app, noBucket)).toThrow(/C360_LAKE_BUCKET: /);
    expect(() => lakeFunction(app, { ...env, C360_LAKE_PREFIX: 'lake' })).toThrow(/C360_LAKE_PREFIX: empty or ending in '\/'/);
    expect(() => lakeFunction(app, { ...env, C360_LAKE_VERSIONED: 'yes' })).toThrow(/C360_LAKE_VERSIONED: /);
  });
});
