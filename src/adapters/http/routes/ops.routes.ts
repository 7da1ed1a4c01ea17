import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv, Gate } from '../auth.js';
import { errorBody } from '../errors.js';
import type { HttpDeps } from '../http.deps.js';
import type { HttpMetrics } from '../http-metrics.js';
import { credentialErrors, lazy, schemaOf } from '../schemas.js';

// Health, Prometheus metrics, the OpenAPI document and a docs page: no tenant data on any of them.

export const OPENAPI_INFO = {
  openapi: '3.1.0',
  info: {
    title: 'Customer 360 API',
    version: '1',
    description: 'Segment-compatible ingest, the Customer 360 read side, identity operations and admin.',
  },
};

const Health = lazy(() => z.object({ ok: z.boolean(), details: z.record(z.string(), z.unknown()).optional() }));

export const registerOpsRoutes = (app: OpenAPIHono<AppEnv>, deps: HttpDeps, gate: Gate, metrics: HttpMetrics): void => {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/health',
      tags: ['ops'],
      summary: 'Liveness and readiness (no auth)',
      responses: {
        200: { description: 'healthy', content: { 'application/json': schemaOf(Health) } },
        503: { description: 'not healthy', content: { 'application/json': schemaOf(Health) } },
      },
    }),
    async (c) => {
      const report = deps.health ? await deps.health().catch(() => ({ ok: false, details: { error: 'health check failed' } })) : { ok: true };
      return c.json(report, report.ok ? 200 : 503);
    },
  );

  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/metrics',
    tags: ['ops'],
    summary: `Prometheus text exposition: core counters (c360_*_total), HTTP requests by route and status, a latency histogram${deps.metricsRequireAdmin ? ' (admin bearer token)' : ' (no auth: aggregate counts only)'}`,
    ...(deps.metricsRequireAdmin ? { security: [{ bearer: [] }] } : {}),
    responses: {
      200: { description: 'text/plain; version=0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } },
      ...(deps.metricsRequireAdmin ? credentialErrors() : {}),
    },
  });
  app.get('/metrics', (c) => {
    if (deps.metricsRequireAdmin) c.set('principal', gate.bearer(c.req.header('authorization'), 'admin', c.get('clientAddress')));
    return c.body(metrics.render(deps.metrics.snapshot()), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
  });

  // built on first request: nothing of the document or the docs page is made at start-up
  let document: object | undefined;
  app.get('/openapi.json', async (c) => {
    document ??= (await deps.openApiDocument?.()) ?? app.getOpenAPI31Document(OPENAPI_INFO as Parameters<typeof app.getOpenAPI31Document>[0]);
    return c.json(document, 200);
  });

  // Swagger UI from our own dependencies (docs-page.ts), loaded on the first request
  app.get('/docs', async (c) => {
    const { DOCS_CSP, docsPage } = await import('../docs-page.js');
    return c.html(docsPage(), 200, { 'Content-Security-Policy': DOCS_CSP });
  });
  app.get('/docs/:asset', async (c) => {
    const asset = await (await import('../docs-page.js')).docsAsset(c.req.param('asset'));
    if (!asset) return c.json(errorBody('NOT_FOUND', `no docs asset ${c.req.param('asset')} (Swagger UI's files come from the swagger-ui-dist package)`), 404);
    return c.body(asset.body, 200, { 'Content-Type': asset.contentType, 'Cache-Control': 'public, max-age=3600', 'X-Content-Type-Options': 'nosniff' });
  });
};

/** How the document describes the two credentials (registered by the app). */
export const securitySchemes = {
  bearer: { type: 'http' as const, scheme: 'bearer', description: 'API token: carries the tenant and scopes (ingest, read, admin, gdpr)' },
  writeKey: { type: 'http' as const, scheme: 'basic', description: 'Segment write key as the user name, empty password (ingest only)' },
};
