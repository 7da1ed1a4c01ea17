import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parquetFiles } from '../../src/adapters/lake/lake.files.js';
import { main } from '../../src/infrastructure/cli.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import { serve, type RunningServer } from '../../src/infrastructure/server.js';

// The server (npm start) on the embedded store writes the lake under its data dir: its projector
// follows the log, GET /v1/analytics answers from it, and an erasure's receipt says when the lake
// was clean. C360_LAKE=off leaves it out.

let dir: string;
let server: RunningServer;
const lines: string[] = [];
const token = () => lines.map((l) => /export ADMIN_TOKEN=(\S+)/.exec(l)?.[1]).find(Boolean)!;

const waitFor = async (ok: () => boolean, ms = 15_000): Promise<void> => {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** an order of one product by user u-<n>, ingested into the running server */
const ordered = async (n: string, revenue: number, timestamp: string) => {
  const { core, sourceOf } = server.app;
  const order = await core.ingest.ingest('shop', sourceOf('shop', 'web'), {
    type: 'track',
    messageId: `m-${n}`,
    userId: `u-${n}`,
    event: 'Order Completed',
    timestamp,
    properties: { order_id: `o-${n}`, revenue, currency: 'USD', products: [{ product_id: 'p-1', price: revenue, quantity: 1 }] },
  });
  if (order.status !== 'accepted') throw new Error('the order was refused');
  return order;
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'c360-server-lake-'));
  server = await serve(loadConfig({ PORT: '0', C360_DATA_DIR: dir, C360_TENANT: 'shop', C360_LAKE_FOLLOW_SECONDS: '1' }), (l) => lines.push(l));
}, 60_000);
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the lake beside npm start', () => {
  it('follows the log, answers analytics, and is cleaned by an erasure', async () => {
    const { core } = server.app;
    const order = await ordered('1', 25, '2026-03-01T10:00:00Z');
    // a flush writes the facts, then the dimensions, then the checkpoint
    await waitFor(
      () => existsSync(join(dir, 'lake', '_state', 'tenant=shop', 'state.json')) && parquetFiles(join(dir, 'lake', 'dim_customer', 'tenant=shop')).length > 0,
    );
    // made by the server, the lake's folder is the owner's alone (it holds personal data)
    expect(statSync(join(dir, 'lake')).mode & 0o777).toBe(0o700);
    const r = await fetch(`${server.url}/v1/analytics/customer-lifetime-value`, { headers: { authorization: `Bearer ${token()}` } });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { rows: { customer_id: string; clv_minor: number }[] };
    expect(body.rows).toEqual([expect.objectContaining({ customer_id: order.customerId, clv_minor: 2_500 })]);
    const receipt = await core.gdpr.erase('shop', order.customerId, { actor: 'test' });
    expect(receipt.lakeCleanAt).toBeDefined();
    const after = await fetch(`${server.url}/v1/analytics/customer-lifetime-value`, { headers: { authorization: `Bearer ${token()}` } });
    expect(((await after.json()) as { count: number }).count).toBe(0);
  });
});

describe('an erasure by a CLI job beside the server', () => {
  it('gets lakeCleanAt on its receipt once the server has purged the lake', async () => {
    const { core } = server.app;
    const order = await ordered('cli-1', 40, '2026-03-02T10:00:00Z');
    const clv = async () => {
      const r = await fetch(`${server.url}/v1/analytics/customer-lifetime-value`, { headers: { authorization: `Bearer ${token()}` } });
      return ((await r.json()) as { rows: { customer_id: string }[] }).rows.filter((row) => row.customer_id === order.customerId).length;
    };
    const until = Date.now() + 15_000;
    while ((await clv()) === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(await clv()).toBe(1);
    // the job does not write the lake (the server holds it): its receipt cannot say when the lake is clean
    const out: string[] = [];
    const io = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: () => true }, debug: false } as unknown as Parameters<typeof main>[2];
    expect(await main(['erase', order.customerId, '--json'], { ...process.env, C360_DATA_DIR: dir, C360_TENANT: 'shop' }, io)).toBe(0);
    const printed = JSON.parse(out.join('')) as { erasureId: string; lakeCleanAt?: string };
    expect(printed.lakeCleanAt).toBeUndefined();
    // the server's lake projector purges the rows, then marks the receipt
    let receipt = await core.ports.ledger.find('shop', order.customerId);
    while (!receipt?.lakeCleanAt && Date.now() < until + 15_000) {
      await new Promise((r) => setTimeout(r, 100));
      receipt = await core.ports.ledger.find('shop', order.customerId);
    }
    expect(receipt).toMatchObject({ erasureId: printed.erasureId, lakeCleanAt: expect.any(String) });
    expect(await clv()).toBe(0);
  });
});

describe('C360_LAKE=off', () => {
  it('writes no lake and says so on the analytics route', async () => {
    const other = await mkdtemp(join(tmpdir(), 'c360-server-nolake-'));
    const said: string[] = [];
    const off = await serve(loadConfig({ PORT: '0', C360_DATA_DIR: other, C360_TENANT: 'shop', C360_LAKE: 'off' }), (l) => said.push(l));
    try {
      const admin = said.map((l) => /export ADMIN_TOKEN=(\S+)/.exec(l)?.[1]).find(Boolean)!;
      const r = await fetch(`${off.url}/v1/analytics/churn-risk`, { headers: { authorization: `Bearer ${admin}` } });
      expect(r.status).toBe(404);
      expect(await r.text()).toMatch(/C360_LAKE=off/);
      expect(parquetFiles(join(other, 'lake'))).toEqual([]);
    } finally {
      await off.close();
      await rm(other, { recursive: true, force: true });
    }
  });
});
