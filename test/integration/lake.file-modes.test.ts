import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openLocalLake } from '../../src/infrastructure/lake.js';
import { closeHarnesses, makeHarness } from '../support/harness.js';

// The lake holds personal data until an erasure reaches it: the folder made for it is 0700, and so
// is every folder in it (tables, tenants, the year and month partitions DuckDB makes, the read
// snapshots), and every file in it is 0600 (Parquet files, the state beside them, the writer's
// lock). A umask of 022 made them 0755 and 0644.

const T = 'acme';

/** every folder and file under root, with its permission bits */
const modes = (root: string): { readonly path: string; readonly dir: boolean; readonly mode: number }[] => {
  const out: { path: string; dir: boolean; mode: number }[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      out.push({ path: path.slice(root.length), dir: entry.isDirectory(), mode: statSync(path).mode & 0o777 });
      if (entry.isDirectory()) walk(path);
    }
  };
  walk(root);
  return out;
};

describe('the local lake on disk', () => {
  it('makes every folder 0700 and every file 0600, through first writes, rewrites and an erasure', async () => {
    const before = process.umask(0o022);
    onTestFinished(() => {
      process.umask(before);
      closeHarnesses();
    });
    const root = join(mkdtempSync(join(tmpdir(), 'c360-lake-modes-')), 'lake');
    onTestFinished(() => rmSync(join(root, '..'), { recursive: true, force: true }));
    const h = makeHarness({}, { store: 'sqlite' });
    const order = async (u: string, at: string) => {
      const out = await h.core.ingest.ingest(T, h.web, {
        type: 'track',
        messageId: `m-${u}-${at}`,
        userId: u,
        event: 'Order Completed',
        properties: { orderId: `o-${u}-${at}`, revenue: 10, currency: 'USD', products: [{ product_id: 'p1', category: 'Books' }] },
        context: { location: { country: 'GB', city: 'London' } },
        timestamp: at,
      });
      expect(out.status).toBe('accepted');
      return out.status === 'accepted' ? out.customerId : '';
    };
    const lake = await openLocalLake({ lakeDir: root, store: 'sqlite', sqliteFile: 'data/c360.db' });
    onTestFinished(() => lake.close());
    const first = await order('u-1', '2025-11-03T10:00:00Z');
    await lake.catchUp(h.ports.store, T);
    // a second month (a partition of its own), and the first month's file rewritten
    await order('u-2', '2025-12-03T10:00:00Z');
    await order('u-3', '2025-11-04T10:00:00Z');
    await lake.catchUp(h.ports.store, T);
    await lake.eraser.erase(T, [first]);
    // a query: its read snapshot is a folder of the lake's too
    expect((await lake.lake.analytics.run(T, 'customer-lifetime-value', {})).length).toBe(2);

    const all = modes(root);
    expect(all.filter((e) => !e.dir && e.path.endsWith('.parquet')).length).toBeGreaterThan(3);
    expect(all.some((e) => e.dir && e.path.includes('month='))).toBe(true);
    expect(statSync(root).mode & 0o777).toBe(0o700);
    expect(all.filter((e) => e.mode !== (e.dir ? 0o700 : 0o600)).map((e) => `${e.path} ${e.mode.toString(8)}`)).toEqual([]);
  });

  it('makes a lake that earlier builds wrote by the umask (0755 folders, 0644 files) private when it is opened', async () => {
    onTestFinished(() => closeHarnesses());
    const root = join(mkdtempSync(join(tmpdir(), 'c360-lake-modes-')), 'lake');
    onTestFinished(() => rmSync(join(root, '..'), { recursive: true, force: true }));
    const h = makeHarness({}, { store: 'sqlite' });
    const out = await h.core.ingest.ingest(T, h.web, {
      type: 'track',
      messageId: 'm-1',
      userId: 'u-1',
      event: 'Order Completed',
      properties: { revenue: 10, currency: 'USD' },
    });
    expect(out.status).toBe('accepted');
    const first = await openLocalLake({ lakeDir: root, store: 'sqlite', sqliteFile: 'data/c360.db' });
    await first.catchUp(h.ports.store, T);
    await first.close();
    const written = modes(root);
    for (const e of written) chmodSync(join(root, e.path), e.dir ? 0o755 : 0o644);
    const again = await openLocalLake({ lakeDir: root, store: 'sqlite', sqliteFile: 'data/c360.db' });
    onTestFinished(() => again.close());
    const loose = modes(root).filter((e) => e.mode !== (e.dir ? 0o700 : 0o600));
    expect(written.length).toBeGreaterThan(4);
    expect(loose.map((e) => `${e.path} ${e.mode.toString(8)}`)).toEqual([]);
  });
});
