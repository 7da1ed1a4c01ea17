import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticAuthenticator } from '../../src/adapters/config/static-credentials.js';
import { createHttpApp } from '../../src/adapters/http/app.js';
import { startHttpServer } from '../../src/adapters/http/node-server.js';
import { syncIntake } from '../../src/application/ingest/intake.js';
import { LakeProjector } from '../../src/application/lake/lake.projector.js';
import { closeHarnesses, makeHarness, type Harness } from '../support/harness.js';
import { ingestSeed, seedCalls, tempLake } from '../support/lake-fixture.js';

// GET /v1/analytics/{query} on a loopback server: the read scope, the credential's tenant only,
// and a 400 that names a bad parameter.

let h: Harness;
let lake: Awaited<ReturnType<typeof tempLake>>;
let server: Awaited<ReturnType<typeof startHttpServer>>;
let base: string;

beforeAll(async () => {
  h = makeHarness();
  lake = await tempLake(h.clock.now);
  await ingestSeed(h, 'acme', seedCalls({ customers: 6, products: 3, orders: 12, events: 20, seed: 3 }));
  await ingestSeed(h, 'globex', seedCalls({ customers: 2, products: 2, orders: 3, events: 4, seed: 4 }));
  const projector = new LakeProjector(h.ports.store, lake.lake.writer);
  await projector.catchUp('acme');
  await projector.catchUp('globex');
  const auth = new StaticAuthenticator([
    { id: 'acme-reader', tenant: 'acme', kind: 'token', secret: 'tok-acme-reader-0123456789', scopes: ['read'] },
    { id: 'acme-ingest', tenant: 'acme', kind: 'token', secret: 'tok-acme-ingest-0123456789', scopes: ['ingest'] },
    { id: 'globex-reader', tenant: 'globex', kind: 'token', secret: 'tok-globex-reader-012345678', scopes: ['read'] },
  ]);
  const app = createHttpApp({
    core: h.core,
    intake: syncIntake(h.core.ingest),
    auth,
    sourceOf: () => h.web,
    metrics: h.ports.metrics,
    now: h.clock.now,
    analytics: lake.lake.analytics,
  });
  server = await startHttpServer(app, { port: 0, hostname: '127.0.0.1' });
  base = `http://127.0.0.1:${server.port}`;
}, 60_000);
afterAll(async () => {
  await server?.close();
  lake?.cleanup();
  closeHarnesses();
});

const get = async (path: string, token: string) => {
  const r = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, body: (await r.json()) as any };
};

describe('GET /v1/analytics/{query}', () => {
  it("answers the credential's tenant only", async () => {
    const acme = await get('/v1/analytics/customer-lifetime-value', 'tok-acme-reader-0123456789');
    expect(acme.status).toBe(200);
    expect(acme.body).toMatchObject({ query: 'customer-lifetime-value', tenant: 'acme', count: 6 });
    const globex = await get('/v1/analytics/customer-lifetime-value', 'tok-globex-reader-012345678');
    expect(globex.body.count).toBe(2);
    const theirs = new Set(globex.body.rows.map((r: { customer_id: string }) => r.customer_id));
    for (const r of acme.body.rows) expect(theirs.has(r.customer_id)).toBe(false);
  });

  it('takes parameters from the query string', async () => {
    const all = await get('/v1/analytics/product-affinity?min_orders=1&now=2027-01-01', 'tok-acme-reader-0123456789');
    const strict = await get('/v1/analytics/product-affinity?min_orders=1000', 'tok-acme-reader-0123456789');
    expect(all.status).toBe(200);
    expect(all.body.count).toBeGreaterThan(0);
    expect(strict.body.count).toBe(0);
  });

  it('answers 400 naming a bad parameter or query, 403 without the read scope', async () => {
    const bad = await get('/v1/analytics/churn-risk?churn_high=2', 'tok-acme-reader-0123456789');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/churn_high/);
    const unknown = await get('/v1/analytics/nothing-such', 'tok-acme-reader-0123456789');
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toMatch(/query/);
    expect((await get('/v1/analytics/churn-risk', 'tok-acme-ingest-0123456789')).status).toBe(403);
  });
});
