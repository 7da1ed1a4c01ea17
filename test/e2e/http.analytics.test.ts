import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticAuthenticator } from '../../src/adapters/config/static-credentials.js';
import { createHttpApp, generateOpenApiDocument } from '../../src/adapters/http/app.js';
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
let doc: any;

beforeAll(async () => {
  h = makeHarness();
  lake = await tempLake(h.clock.now);
  await ingestSeed(h, 'acme', seedCalls({ customers: 6, products: 3, orders: 12, events: 20, seed: 3 }));
  await ingestSeed(h, 'globex', seedCalls({ customers: 2, products: 2, orders: 3, events: 4, seed: 4 }));
  // more customers than a page of rfm-segmentation holds by default
  for (let i = 0; i < 103; i++)
    await h.core.ingest.ingest('initech', h.web, { type: 'identify', messageId: `m-${i}`, userId: `user-${i}`, traits: { plan: 'free' } });
  const projector = new LakeProjector(h.ports.store, lake.lake.writer);
  await projector.catchUp('acme');
  await projector.catchUp('globex');
  await projector.catchUp('initech');
  const auth = new StaticAuthenticator([
    { id: 'acme-reader', tenant: 'acme', kind: 'token', secret: 'tok-acme-reader-0123456789', scopes: ['read'] },
    { id: 'acme-ingest', tenant: 'acme', kind: 'token', secret: 'tok-acme-ingest-0123456789', scopes: ['ingest'] },
    { id: 'globex-reader', tenant: 'globex', kind: 'token', secret: 'tok-globex-reader-012345678', scopes: ['read'] },
    { id: 'initech-reader', tenant: 'initech', kind: 'token', secret: 'tok-initech-reader-01234567', scopes: ['read'] },
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
  doc = generateOpenApiDocument(app);
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

  it('answers an unknown parameter with a 400 naming each unknown one first, then the accepted ones', async () => {
    const r = await get('/v1/analytics/churn-risk?churn_high=0.8&colour=red&shape=round', 'tok-acme-reader-0123456789');
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('VALIDATION_FAILED');
    expect(r.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['colour', 'shape']);
    expect(r.body.error.message).toBe(
      'unknown analytics parameters "colour", "shape" for churn-risk; the parameters it accepts are now, churn_inactive_days, churn_high, churn_medium, limit, cursor',
    );
    const rfm = await get('/v1/analytics/rfm-segmentation?colour=red', 'tok-acme-reader-0123456789');
    expect(rfm.body.error.message).toMatch(/^unknown analytics parameter "colour" for rfm-segmentation; .*, monetary_minor_4, limit, cursor$/);
  });

  it('answers 400 naming now, never a 500, for a now no date can be written for, or a day that does not exist', async () => {
    for (const query of ['churn-risk', 'customer-lifetime-value', 'rfm-segmentation', 'cohort-retention', 'monthly-revenue'])
      for (const now of ['8640000000000001', '99999999999999999', '2026-02-30']) {
        const r = await get(`/v1/analytics/${query}?now=${now}`, 'tok-acme-reader-0123456789');
        expect(r.status, `${query} ${now}`).toBe(400);
        expect(r.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['now']);
        expect(r.body.error.message).toMatch(
          now.includes('-') ? /of a day that exists/ : /between 0 and 253402300799999 \(1970-01-01T00:00:00.000Z to 9999-12-31/,
        );
      }
  });

  it("answers 400 for another query's parameter, a repeated one, and from_date after to_date", async () => {
    const token = 'tok-acme-reader-0123456789';
    for (const [path, name] of [
      ['churn-risk?level=product', 'level'],
      ['churn-risk?min_orders=3', 'min_orders'],
      ['product-affinity?from_date=2026-01-01', 'from_date'],
      ['rfm-segmentation?months=3', 'months'],
    ]) {
      const r = await get(`/v1/analytics/${path}`, token);
      expect(r.status, path).toBe(400);
      expect(r.body.error.issues.map((i: { path: string }) => i.path)).toEqual([name]);
    }
    const twice = await get('/v1/analytics/churn-risk?now=2026-01-01&now=2026-02-01', token);
    expect(twice.status).toBe(400);
    expect(twice.body.error).toMatchObject({ message: 'analytics parameter now: given 2 times; give it once', issues: [{ path: 'now' }] });
    const reversed = await get('/v1/analytics/demand-forecast-base?from_date=2026-05-01&to_date=2026-04-01', token);
    expect(reversed.status).toBe(400);
    expect(reversed.body.error.message).toBe('analytics parameters from_date and to_date: from_date 2026-05-01 is after to_date 2026-04-01');
  });

  it('pages rfm-segmentation in customer id order: a bounded default page, limit and cursor, every row once', async () => {
    const token = 'tok-initech-reader-01234567';
    const first = await get('/v1/analytics/rfm-segmentation', token);
    expect(first.status).toBe(200);
    expect(first.body.count).toBe(100);
    expect(first.body.rows).toHaveLength(100);
    expect(typeof first.body.next).toBe('string');
    const rest = await get(`/v1/analytics/rfm-segmentation?cursor=${first.body.next}`, token);
    expect(rest.body.count).toBe(3);
    expect(rest.body.next).toBeUndefined();
    const ids = [...first.body.rows, ...rest.body.rows].map((r: { customer_id: string }) => r.customer_id);
    expect(new Set(ids).size).toBe(103);
    expect(ids).toEqual([...ids].sort());

    // smaller pages, with the query's own parameters kept, walk the same rows
    const walked: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await get(`/v1/analytics/rfm-segmentation?now=2027-01-01&limit=40${cursor ? `&cursor=${cursor}` : ''}`, token);
      expect(page.status).toBe(200);
      expect(page.body.count).toBeLessThanOrEqual(40);
      walked.push(...page.body.rows.map((r: { customer_id: string }) => r.customer_id));
      cursor = page.body.next;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(walked).toEqual(ids);
    const all = await get('/v1/analytics/rfm-segmentation?limit=1000', token);
    expect(all.body.rows.map((r: { customer_id: string }) => r.customer_id)).toEqual(ids);

    for (const limit of ['0', '1001', 'ten', '2.5']) {
      const bad = await get(`/v1/analytics/rfm-segmentation?limit=${limit}`, token);
      expect(bad.status, limit).toBe(400);
      expect(bad.body.error.issues[0].path).toBe('limit');
    }
    const badCursor = await get('/v1/analytics/rfm-segmentation?cursor=not-one-of-ours', token);
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.error.issues[0].path).toBe('cursor');
  });

  it('pages every query: a bounded default page, limit and cursor, the rows of all pages those of the whole query in its order', async () => {
    const token = 'tok-initech-reader-01234567';
    // a query with a row per customer answers the default page, not every customer
    for (const query of ['customer-lifetime-value', 'churn-risk']) {
      const first = await get(`/v1/analytics/${query}?now=2027-01-01`, token);
      expect(first.status, query).toBe(200);
      expect(first.body.count, query).toBe(100);
      const rest = await get(`/v1/analytics/${query}?now=2027-01-01&cursor=${first.body.next}`, token);
      expect(rest.body.count, query).toBe(3);
      expect(rest.body.next, query).toBeUndefined();
      const all = await lake.lake.analytics.run('initech', query, { now: '2027-01-01' });
      expect([...first.body.rows, ...rest.body.rows], query).toEqual(all);
    }
    const acme = 'tok-acme-reader-0123456789';
    for (const [query, params] of [
      ['customer-lifetime-value', 'now=2027-01-01'],
      ['monthly-revenue', 'now=2027-01-01'],
      ['cohort-retention', 'now=2027-01-01'],
      ['product-performance', 'now=2027-01-01'],
      ['churn-risk', 'now=2027-01-01'],
      ['channel-funnel', 'now=2027-01-01'],
      ['rfm-segmentation', 'now=2027-01-01'],
      ['product-affinity', 'now=2027-01-01&min_orders=1'],
      ['geographic-revenue', 'now=2027-01-01'],
      ['demand-forecast-base', 'now=2027-01-01&level=product&from_date=2025-01-01&to_date=2025-03-31'],
    ] as const) {
      const all = await lake.lake.analytics.run('acme', query, Object.fromEntries(new URLSearchParams(params)));
      expect(all.length, query).toBeGreaterThan(2);
      // three to four pages of each
      const limit = Math.max(1, Math.ceil(all.length / 4));
      const walked: unknown[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await get(`/v1/analytics/${query}?${params}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, acme);
        expect(page.status, query).toBe(200);
        expect(page.body.count, query).toBeLessThanOrEqual(limit);
        walked.push(...page.body.rows);
        cursor = page.body.next;
        pages++;
      } while (cursor && pages <= all.length);
      expect(walked, query).toEqual(all);
      expect(pages, query).toBe(Math.ceil(all.length / limit));
    }
    // a cursor of the other kind (rfm-segmentation's to churn-risk) is not one this query handed out
    const rfm = await get('/v1/analytics/rfm-segmentation?limit=1', acme);
    const mixed = await get(`/v1/analytics/churn-risk?cursor=${rfm.body.next}`, acme);
    expect(mixed.status).toBe(400);
    expect(mixed.body.error.issues[0].path).toBe('cursor');
  });
});

describe('the OpenAPI document of GET /v1/analytics/{query}', () => {
  const token = 'tok-acme-reader-0123456789';
  const op = () => doc.paths['/v1/analytics/{query}'].get;
  type Param = { name: string; in: string; required?: boolean; description: string; schema: Record<string, any> };
  const queryParams = (): Param[] => op().parameters.filter((p: Param) => p.in === 'query');
  /** the queries a documented parameter says take it */
  const saysTakenBy = (p: Param, queries: readonly string[]): string[] => {
    const m = /Taken by (.+)\.$/.exec(p.description);
    expect(m, p.name).not.toBeNull();
    return m![1] === 'every query' ? [...queries] : m![1]!.split(', ');
  };
  const isUnknownRefusal = (r: { status: number; body: any }) => r.status === 400 && /^unknown analytics parameter/.test(r.body.error?.message ?? '');

  it('lists as query parameters exactly those the route takes, each with the queries that take it', async () => {
    const queries: string[] = op().parameters.find((p: Param) => p.in === 'path' && p.name === 'query').schema.enum;
    expect(queries).toHaveLength(10);
    const documented = queryParams();
    expect(documented.map((p) => p.name)).toEqual(expect.arrayContaining(['now', 'limit', 'cursor', 'churn_high', 'recency_days_4', 'to_date']));
    for (const p of documented) expect(p.required, p.name).toBe(false);
    // what the route takes, asked of the route: a name it does not take is refused as unknown
    const names = [...documented.map((p) => p.name), 'colour', 'offset', 'page', 'recency_days_5'];
    const taken = new Map<string, string[]>();
    for (const query of queries)
      for (const name of names) {
        const r = await get(`/v1/analytics/${query}?${name}=1`, token);
        if (!isUnknownRefusal(r)) taken.set(name, [...(taken.get(name) ?? []), query]);
      }
    expect([...taken.keys()].sort()).toEqual(documented.map((p) => p.name).sort());
    for (const p of documented) expect(saysTakenBy(p, queries), p.name).toEqual(taken.get(p.name));
  });

  it("documents each parameter's values as the route checks them: its default answers, a value outside its schema is a 400 naming it", async () => {
    const queries: string[] = op().parameters.find((p: Param) => p.in === 'path').schema.enum;
    const checked = new Set<string>();
    for (const p of queryParams()) {
      const { schema } = p;
      const query = saysTakenBy(p, queries)[0]!;
      const ask = async (value: string) => get(`/v1/analytics/${query}?${p.name}=${encodeURIComponent(value)}`, token);
      const refused = async (value: string) => {
        const r = await ask(value);
        expect(r.status, `${query}?${p.name}=${value}`).toBe(400);
        expect(
          r.body.error.issues.map((i: { path: string }) => i.path),
          `${query}?${p.name}=${value}`,
        ).toEqual([p.name]);
        checked.add(p.name);
      };
      if (schema.default !== undefined) expect((await ask(String(schema.default))).status, `${p.name}=${schema.default}`).toBe(200);
      if (schema.type === 'integer' || schema.type === 'number') {
        if (schema.maximum !== undefined && schema.maximum < Number.MAX_SAFE_INTEGER) await refused(String(schema.maximum + 1));
        if (schema.exclusiveMinimum !== undefined) await refused(String(schema.exclusiveMinimum));
        if (schema.minimum !== undefined) await refused(String(schema.minimum - 1));
        if (schema.type === 'integer') await refused(String(schema.default + 0.5));
        await refused('ten');
      }
      if (schema.pattern !== undefined) await refused('!');
      if (schema.format === 'date') await refused('2026-02-30');
    }
    expect([...checked]).toEqual(expect.arrayContaining(['limit', 'currency', 'churn_inactive_days', 'churn_high', 'months', 'level', 'from_date', 'to_date']));
    // and the largest page it documents answers
    expect((await get('/v1/analytics/churn-risk?limit=1000', token)).status).toBe(200);
  });

  it('documents the answer as the route gives it: next on a page with more after it, absent on the last', async () => {
    const result = doc.components.schemas.AnalyticsResult;
    const first = await get('/v1/analytics/rfm-segmentation?limit=60', 'tok-initech-reader-01234567');
    const last = await get(`/v1/analytics/rfm-segmentation?limit=60&cursor=${first.body.next}`, 'tok-initech-reader-01234567');
    expect([first.body.count, last.body.count]).toEqual([60, 43]);
    expect(Object.keys(first.body).sort()).toEqual(Object.keys(result.properties).sort());
    expect(result.properties.next).toMatchObject({ type: 'string' });
    expect(result.required.sort()).toEqual(Object.keys(last.body).sort());
    expect(last.body.next).toBeUndefined();
  });
});
