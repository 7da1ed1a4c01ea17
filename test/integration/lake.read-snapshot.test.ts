import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDuckDbLake, type DuckDbLake } from '../../src/adapters/lake/duckdb.analytics.js';
import { qualityReport } from '../../src/adapters/lake/duckdb.quality.js';
import { READ_DIR } from '../../src/adapters/lake/lake.files.js';
import { emptyLakeBatch, type LakeBatch } from '../../src/application/ports/lake.port.js';

// A query reads the tenant's files as they were when it began: the writer replacing or removing
// them meanwhile (a flush, an erasure, a rebuild's reset) leaves the query's files as they were,
// where DuckDB reading the lake's own paths failed ('invalid TType', 'No files found') and the API
// answered 500. The links it read by are gone once it has answered; those of a process that ended
// are removed by the next one to open the lake.

const T = 't';
const at = Date.UTC(2025, 0, 5, 10);
const roots: string[] = [];
const lakes: DuckDbLake[] = [];
afterEach(() => {
  for (const l of lakes.splice(0)) l.close();
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

const root = (): string => {
  const r = mkdtempSync(join(tmpdir(), 'c360-lake-read-'));
  roots.push(r);
  return r;
};

const orders = (...customers: string[]): LakeBatch => {
  const b = emptyLakeBatch();
  for (const [i, c] of customers.entries()) {
    b.orders.push({ eventId: `e-${c}`, orderId: `o-${c}`, customerId: c, channel: 'web', currency: 'USD', revenueMinor: 1_000 + i, observedAt: at + i });
    b.customers.push({ kind: 'seen', customerId: c, firstSeenAt: at + i, lastSeenAt: at + i });
  }
  return b;
};

const open = async (dir: string, afterViews?: () => Promise<void>): Promise<DuckDbLake> => {
  const lake = await openDuckDbLake(dir, { clock: () => at + 86_400_000, ...(afterViews ? { afterViews } : {}) });
  lakes.push(lake);
  return lake;
};

describe('a lake query while the lake is written', () => {
  it('reads the files as they were when it began, whatever the writer replaces or removes meanwhile', async () => {
    const dir = root();
    let during: (() => Promise<void>) | undefined;
    const lake = await open(dir, async () => {
      const f = during;
      during = undefined;
      await f?.();
    });
    await lake.writer.write(T, orders('a', 'b'), 'p1');
    await lake.writer.flush(T);
    const clv = async () => (await lake.analytics.run(T, 'customer-lifetime-value', {})).map((r) => [r.customer_id, r.orders]);
    expect(await clv()).toEqual([
      ['b', 1],
      ['a', 1],
    ]);
    // a flush renames new files over the ones the query's views name
    during = async () => {
      await lake.writer.write(T, orders('c'), 'p2');
      await lake.writer.flush(T);
    };
    expect(await clv()).toHaveLength(2);
    expect(await clv()).toHaveLength(3);
    // a rebuild's reset removes every file of the tenant under a running query
    during = () => lake.writer.reset(T);
    expect(await clv()).toHaveLength(3);
    expect(await clv()).toEqual([]);
    // the links are gone once the queries have answered
    expect(readdirSync(join(dir, READ_DIR))).toEqual([]);
  });

  it('the quality report reads a snapshot too, and leaves none behind', async () => {
    const dir = root();
    const lake = await open(dir);
    await lake.writer.write(T, orders('a'), 'p1');
    await lake.writer.flush(T);
    const report = await qualityReport(lake.instance, dir, T, { now: at + 86_400_000, maxAgeHours: 1_000_000 });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(readdirSync(join(dir, READ_DIR))).toEqual([]);
  });

  it("removes a snapshot left by a process that ended (it may hold rows erased since), and one of an ended run that had this pid; a live process's stays", async () => {
    const dir = root();
    const dead = join(dir, READ_DIR, '999999999-0a1b2c3d-1');
    // this pid, but not this run (a container restarted: pid 1 again)
    const samePid = join(dir, READ_DIR, `${process.pid}-0a1b2c3d-999`);
    const live = join(dir, READ_DIR, `${process.ppid}-0a1b2c3d-1`);
    for (const d of [dead, samePid, live]) {
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, '0.parquet'), 'rows');
    }
    await open(dir);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(samePid)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  it('an erasure removes the snapshots of ended processes before its receipt, the lake left open meanwhile (a query killed mid-way kept links to the rows)', async () => {
    const dir = root();
    const lake = await open(dir);
    await lake.writer.write(T, orders('a', 'b'), 'p1');
    await lake.writer.flush(T);
    // a query of another process killed mid-way (Ctrl-C on c360 analytics): its links to the files before the erasure
    const killed = join(dir, READ_DIR, '999999999-0a1b2c3d-7');
    mkdirSync(killed, { recursive: true });
    writeFileSync(join(killed, '0.parquet'), 'rows of a');
    await lake.writer.erase(T, ['a']);
    expect(existsSync(killed)).toBe(false);
    expect((await lake.analytics.run(T, 'customer-lifetime-value', {})).map((r) => r.customer_id)).toEqual(['b']);
  });
});
