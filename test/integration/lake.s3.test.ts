import { DeleteObjectsCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCore } from '../../src/application/core.js';
import { LakeProjector } from '../../src/application/lake/lake.projector.js';
import { emptyLakeBatch } from '../../src/application/ports/lake.port.js';
import { openDuckDbLake, type DuckDbLake } from '../../src/adapters/lake/duckdb.analytics.js';
import { qualityReport } from '../../src/adapters/lake/duckdb.quality.js';
import type { Cell } from '../../src/adapters/lake/lake.buffer.js';
import { parquetFiles, tenantDir } from '../../src/adapters/lake/lake.files.js';
import { decodeRows } from '../../src/adapters/lake/parquet.codec.js';
import { S3LakeWriter } from '../../src/adapters/lake/s3.lake-writer.js';
import { statePath, TABLES, type TableSpec } from '../../src/adapters/lake/lake.tables.js';
import { readFileSync } from 'node:fs';
import { closeHarnesses, makeHarness, type Harness } from '../support/harness.js';
import { ingestSeed, personalValues, seedCalls, tempLake } from '../support/lake-fixture.js';
import { download, s3Lake, type S3Lake } from '../support/s3-lake.js';

// The S3 lake writer projected from a seeded log, against fauxqs's S3: the same rows as the DuckDB
// writer's lake, a rebuild equal to the incremental lake, objects DuckDB reads as a lake (all ten
// queries answer as over the DuckDB writer's files, every quality check passes), no personal
// value, tenants apart, and erasure that leaves no object with a row of the erased ids.

const T = 'acme';
const OTHER = 'globex';
type Rows = Record<string, Cell[][]>;

const sorted = (rows: Cell[][]): Cell[][] => rows.map((r) => r.map((c) => c ?? null)).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

/** every table of the tenant in the S3 lake, each object's rows read with hyparquet */
const s3Contents = async (lake: S3Lake, tenant: string): Promise<Rows> => {
  const out: Rows = {};
  for (const t of TABLES) {
    const rows: Cell[][] = [];
    for (const key of await lake.writer.objects(tenant, t)) rows.push(...(await lake.writer.readRows(t, key)));
    out[t.name] = sorted(rows);
  }
  return out;
};

const fileContents = async (root: string, tenant: string): Promise<Rows> => {
  const out: Rows = {};
  for (const t of TABLES) {
    const rows: Cell[][] = [];
    for (const file of parquetFiles(tenantDir(root, t.name, tenant))) rows.push(...(await decodeRows(t, readFileSync(file))));
    out[t.name] = sorted(rows);
  }
  return out;
};

/** every row of every object of the lake (all tenants, all tables), as text */
const everyObjectText = async (lake: S3Lake): Promise<string[]> => {
  const out: string[] = [];
  for (const key of await lake.writer.list('')) {
    if (!key.endsWith('.parquet')) continue;
    const t = TABLES.find((x) => key.startsWith(`${x.name}/`)) as TableSpec;
    out.push(`${key}\n${JSON.stringify(await lake.writer.readRows(t, key))}`);
  }
  return out;
};

describe('the S3 lake projected from the seeded log', () => {
  let h: Harness;
  let incremental: S3Lake;
  let rebuilt: S3Lake;
  let duck: Awaited<ReturnType<typeof tempLake>>;
  const calls = seedCalls();
  const half = Math.floor(calls.length / 2);

  beforeAll(async () => {
    h = makeHarness();
    incremental = await s3Lake({ clock: h.clock.now });
    rebuilt = await s3Lake({ clock: h.clock.now, prefix: 'rebuilt/' });
    duck = await tempLake(h.clock.now);
    const projector = new LakeProjector(h.ports.store, incremental.writer, { pageSize: 97 });
    const local = new LakeProjector(h.ports.store, duck.lake.writer);
    await ingestSeed(h, T, calls.slice(0, half));
    await projector.catchUp(T);
    await ingestSeed(h, T, calls.slice(half));
    await projector.catchUp(T);
    await local.catchUp(T);
    await ingestSeed(h, OTHER, seedCalls({ customers: 3, products: 2, orders: 4, events: 6, seed: 99 }));
    await projector.catchUp(OTHER);
    await new LakeProjector(h.ports.store, rebuilt.writer).rebuild(T);
  }, 180_000);

  afterAll(() => {
    incremental?.client.destroy();
    rebuilt?.client.destroy();
    duck?.cleanup();
    closeHarnesses();
  });

  it('writes Hive partitions under its prefix: facts by tenant/year/month, dimensions by tenant, the state beside them', async () => {
    const keys = await incremental.writer.list('');
    expect(keys.some((k) => /^fact_order\/tenant=acme\/year=\d{4}\/month=\d{1,2}\/part-0\.parquet$/.test(k))).toBe(true);
    expect(keys).toContain('dim_customer/tenant=acme/part-0.parquet');
    expect(keys).toContain('dim_date/tenant=acme/part-0.parquet');
    expect(keys).toContain('_state/tenant=acme/state.json');
  });

  it("holds the same rows as the DuckDB writer's lake, and a rebuild equals the incremental lake", async () => {
    const s3 = await s3Contents(incremental, T);
    expect(Object.values(s3).filter((rows) => rows.length > 0).length).toBeGreaterThanOrEqual(10);
    expect(s3).toEqual(await fileContents(duck.root, T));
    expect(await s3Contents(rebuilt, T)).toEqual(s3);
  });

  it("is a lake DuckDB reads: its objects, downloaded, answer all ten queries as the DuckDB writer's files do, and pass every quality check", async () => {
    const files = await download(incremental);
    let fromS3: DuckDbLake | undefined;
    try {
      fromS3 = await openDuckDbLake(files.root, { clock: h.clock.now });
      const now = String(h.clock.now() + 3 * 86_400_000);
      for (const q of duck.lake.analytics.names) {
        const expected = await duck.lake.analytics.run(T, q, { now });
        expect(expected.length, q).toBeGreaterThan(0);
        expect(await fromS3.analytics.run(T, q, { now }), q).toEqual(expected);
      }
      const report = await qualityReport(fromS3.instance, files.root, T, { now: h.clock.now(), maxAgeHours: 1 });
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(report.checks.length).toBeGreaterThan(10);
    } finally {
      fromS3?.close();
      files.cleanup();
    }
  });

  it('holds no personal value of the seed in any object', async () => {
    const values = personalValues(calls);
    expect(values.length).toBeGreaterThan(50);
    const texts = await everyObjectText(incremental);
    expect(texts.length).toBeGreaterThan(10);
    for (const text of texts) for (const v of values) expect(text.includes(v), `${v} in ${text.slice(0, text.indexOf('\n'))}`).toBe(false);
  });

  it("keeps tenants apart: no customer of one tenant in another's objects", async () => {
    const mine = new Set((await s3Contents(incremental, T)).dim_customer!.map((r) => r[0]));
    const theirs = (await s3Contents(incremental, OTHER)).dim_customer!.map((r) => r[0]);
    expect(theirs.length).toBeGreaterThan(0);
    for (const id of theirs) expect(mine.has(id)).toBe(false);
  });

  it('erasure rewrites every object holding a row of the cluster, and no later page or rebuild writes one back', async () => {
    const core = createCore({ ...h.ports, lake: incremental.writer }, { inlineProjection: true, sourceOf: () => h.web });
    const orders = (await s3Contents(incremental, T)).fact_order!;
    const counts = new Map<string, number>();
    for (const r of orders) counts.set(String(r[2]), (counts.get(String(r[2])) ?? 0) + 1);
    const id = [...counts].find(([, n]) => n > 1)![0];
    expect(await incremental.writer.holds(T, [id])).toBe(true);
    const receipt = await core.gdpr.erase(T, id, { actor: 'test' });
    expect(receipt.lakeCleanAt).toBe(new Date(h.clock.now()).toISOString());
    const clean = async () => {
      expect(await incremental.writer.holds(T, receipt.customers)).toBe(false);
      const texts = (await everyObjectText(incremental)).join('\n');
      for (const c of receipt.customers) expect(texts.includes(c), c).toBe(false);
    };
    await clean();
    // the projector reads the tombstones and any page again, a new writer too: nothing of theirs comes back
    await new LakeProjector(h.ports.store, incremental.writer).catchUp(T);
    await new LakeProjector(h.ports.store, incremental.writer).rebuild(T);
    await clean();
    const fresh = new S3LakeWriter({ client: incremental.client, bucket: incremental.bucket, prefix: incremental.prefix });
    await new LakeProjector(h.ports.store, fresh).rebuild(T);
    await clean();
    // what the other customers hold is untouched: the lake holds the log's rows less the cluster's
    expect((await s3Contents(incremental, T)).fact_order!.length).toBe(orders.length - receipt.customers.reduce((n, c) => n + (counts.get(c) ?? 0), 0));
  });
});

describe('an S3 lake erasure cut short by a crash', () => {
  let h: Harness;
  let lake: S3Lake;

  beforeAll(async () => {
    h = makeHarness();
    lake = await s3Lake({ clock: h.clock.now });
    await ingestSeed(h, T, seedCalls({ customers: 6, products: 3, orders: 12, events: 12, seed: 7 }));
    await new LakeProjector(h.ports.store, lake.writer).catchUp(T);
  }, 60_000);

  afterAll(() => {
    lake?.client.destroy();
    closeHarnesses();
  });

  it('names none of its ids as erased until a later flush has purged their rows; then every one', async () => {
    const orders = (await s3Contents(lake, T)).fact_order!;
    const id = String(orders[0]![2]);
    expect(await lake.writer.holds(T, [id])).toBe(true);
    // a writer whose process dies after it saved the state: every later write of a table object fails
    const dying = new S3LakeWriter({
      bucket: lake.bucket,
      prefix: lake.prefix,
      clock: h.clock.now,
      client: {
        send: (command: { input: { Key?: string } }) => {
          const rewrite = command instanceof DeleteObjectsCommand || (command instanceof PutObjectCommand && String(command.input.Key).endsWith('.parquet'));
          return rewrite ? Promise.reject(new Error('the process died here')) : lake.client.send(command as never);
        },
      } as unknown as S3Client,
    });
    await expect(dying.erase(T, [id])).rejects.toThrow('the process died here');

    // the rows are still there, so the lake function must not call the lake clean of them
    const restarted = new S3LakeWriter({ client: lake.client, bucket: lake.bucket, prefix: lake.prefix, clock: h.clock.now });
    expect(await lake.writer.holds(T, [id])).toBe(true);
    expect(await restarted.erasedIds(T)).not.toContain(id);
    const state = async () =>
      JSON.parse(await (await lake.client.send(new GetObjectCommand({ Bucket: lake.bucket, Key: lake.prefix + statePath(T) }))).Body!.transformToString()) as {
        erased?: string[];
        unpurged?: string[];
      };
    expect((await state()).unpurged).toEqual([id]);

    // the next run's flush finishes the purge, with nothing else to write, and only then names the id
    await restarted.flush(T);
    expect(await restarted.holds(T, [id])).toBe(false);
    expect(await restarted.erasedIds(T)).toContain(id);
    expect((await state()).unpurged).toBeUndefined();
    expect((await state()).erased).toContain(id);
    // and the other customers' rows are all still there
    expect((await s3Contents(lake, T)).fact_order!.length).toBe(orders.filter((r) => String(r[2]) !== id).length);
  });

  it('an erasure read from the log is not named as erased by a state another path saves before the flush that purges it', async () => {
    const writer = new S3LakeWriter({ client: lake.client, bucket: lake.bucket, prefix: lake.prefix, clock: h.clock.now });
    // two customers no other customer was merged into (an erasure takes a whole cluster; these are clusters of one)
    const contents = await s3Contents(lake, T);
    const dim = TABLES.find((t) => t.name === 'dim_customer')!;
    const [cid, sid] = ['customer_id', 'survivor_id'].map((n) => dim.columns.findIndex((c) => c.name === n));
    const absorbing = new Set(contents.dim_customer!.filter((r) => r[cid!] !== r[sid!]).map((r) => String(r[sid!])));
    const ids = [...new Set(contents.fact_order!.map((r) => String(r[2])))].filter((c) => !absorbing.has(c));
    expect(ids.length).toBeGreaterThanOrEqual(2);
    const [fromLog, direct] = [ids[0]!, ids[1]!];
    // the log's tombstone is buffered (not flushed); then an erasure of someone else saves the state
    const batch = emptyLakeBatch();
    batch.customers.push({ kind: 'erased', customerId: fromLog });
    await writer.write(T, batch, await writer.checkpoint(T));
    await writer.erase(T, [direct]);
    expect(await writer.holds(T, [fromLog])).toBe(true);
    expect(await writer.erasedIds(T)).not.toContain(fromLog);
    expect(await writer.erasedIds(T)).toContain(direct);
    await writer.flush(T);
    expect(await writer.holds(T, [fromLog])).toBe(false);
    expect(await writer.erasedIds(T)).toContain(fromLog);
  });
});
