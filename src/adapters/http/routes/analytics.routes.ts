import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { ANALYTICS_QUERIES } from '../../../application/lake/analytics.params.js';
import type { AnalyticsQueries } from '../../../application/ports/lake.port.js';
import type { AppEnv, Gate } from '../auth.js';
import { HttpError } from '../errors.js';
import { errors, schemaOf } from '../schemas.js';

// GET /v1/analytics/{query}: one of the ten lake queries for the credential's tenant only, every
// query-string parameter passed to it (a bad or unknown one is a 400 naming it). Served where the
// process writes a lake (npm start); elsewhere 404 says why.

export type AnalyticsRouteDeps = { readonly analytics?: AnalyticsQueries | undefined };

export const registerAnalyticsRoutes = (app: OpenAPIHono<AppEnv>, deps: AnalyticsRouteDeps, gate: Gate): void => {
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/v1/analytics/{query}',
    tags: ['analytics'],
    summary: "One of the ten analytics queries over the tenant's lake, as JSON rows",
    description:
      'Parameters go in the query string: now (epoch ms or ISO), currency, recency_days_1..4, frequency_orders_1..4, monetary_minor_1..4, churn_inactive_days, churn_high, churn_medium, clv_high_minor, clv_medium_minor, months, min_orders, level, from_date, to_date. Score thresholds default to the 360 view’s.',
    security: [{ bearer: [] }],
    request: { params: z.object({ query: z.enum(ANALYTICS_QUERIES) }) },
    responses: {
      200: {
        description: 'the rows, in the query’s order',
        content: {
          'application/json': schemaOf(() =>
            z
              .object({ query: z.string(), tenant: z.string(), count: z.number().int(), rows: z.array(z.record(z.string(), z.unknown())) })
              .openapi('AnalyticsResult'),
          ),
        },
      },
      ...errors(400, 404),
    },
  });
  app.get('/v1/analytics/:query', gate.needs('read'), async (c) => {
    if (!deps.analytics)
      throw new HttpError(
        'NOT_FOUND',
        'no analytics lake is written here: it is written by the server (npm start) unless C360_LAKE=off or the store is in memory',
      );
    const query = c.req.param('query');
    const { tenant } = c.get('principal');
    const rows = await deps.analytics.run(tenant, query, c.req.query());
    return c.json({ query, tenant, count: rows.length, rows }, 200);
  });
};
