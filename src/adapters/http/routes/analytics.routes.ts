import { z, type OpenAPIHono } from '@hono/zod-openapi';
import {
  ANALYTICS_PAGE,
  ANALYTICS_QUERIES,
  analyticsPageLimit,
  oneValueEach,
  queryParamNames,
  unknownAnalyticsParams,
  unknownParamsMessage,
} from '../../../application/lake/analytics.params.js';
import type { AnalyticsQueries } from '../../../application/ports/lake.port.js';
import type { AppEnv, Gate } from '../auth.js';
import { analyticsCursor, encodeAnalyticsCursor } from '../cursor.js';
import { HttpError } from '../errors.js';
import { errors, schemaOf } from '../schemas.js';

// GET /v1/analytics/{query}: one of the ten lake queries for the credential's tenant only, every
// query-string parameter passed to it (a bad or unknown one is a 400 naming it). Every query answers
// a page at a time (limit and cursor, as other lists), so one request's rows are bounded. Served
// where the process writes a lake (npm start); elsewhere 404 says why.

export type AnalyticsRouteDeps = { readonly analytics?: AnalyticsQueries | undefined };

export const registerAnalyticsRoutes = (app: OpenAPIHono<AppEnv>, deps: AnalyticsRouteDeps, gate: Gate): void => {
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/v1/analytics/{query}',
    tags: ['analytics'],
    summary: "One of the ten analytics queries over the tenant's lake, as JSON rows",
    description: `Parameters go in the query string, each once; each query takes its own: ${ANALYTICS_QUERIES.map((q) => `${q}: ${queryParamNames(q).join(', ')}`).join('; ')}. now is epoch ms or an ISO date or time, from 1970 to 9999; every query answers as of now (facts after it, and customers first seen after it, are left out). currency is an ISO 4217 code in any case (upper-cased). Numbers are plain decimal digits; ranked thresholds (recency_days_N, frequency_orders_N, monetary_minor_N, churn_medium < churn_high, clv_medium_minor < clv_high_minor) must ascend. Score thresholds default to the 360 view’s. An unknown, repeated or bad parameter is a 400 naming it. Every query answers a page at a time, in its own order: limit (1 to ${ANALYTICS_PAGE.maxLimit}, default ${ANALYTICS_PAGE.defaultLimit}) and cursor (the next of the page before; absent on the last page). rfm-segmentation pages in customer id order (a page starts after the last customer id of the one before); the others by position in their order, so a page read while the lake is written may repeat or skip rows.`,
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
      ...errors(400, [404, 'no analytics lake is written here (the server writes one unless C360_LAKE=off or the store is in memory)']),
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
    const raw = oneValueEach(c.req.queries());
    if ((ANALYTICS_QUERIES as readonly string[]).includes(query)) {
      const unknown = unknownAnalyticsParams(query, raw, true);
      if (unknown.length > 0)
        throw new HttpError(
          'VALIDATION_FAILED',
          unknownParamsMessage(query, unknown, true),
          unknown.map((path) => ({ path, message: `not a parameter of ${query}` })),
        );
    }
    // limit and cursor are the route's, the rest the query's
    const { limit: rawLimit, cursor, ...params } = raw;
    const limit = analyticsPageLimit(rawLimit);
    const after = cursor === undefined ? undefined : analyticsCursor(query, cursor);
    const page = await deps.analytics.page(tenant, query, params, { limit, after });
    return c.json(
      { query, tenant, count: page.rows.length, rows: page.rows, ...(page.next === undefined ? {} : { next: encodeAnalyticsCursor(page.next) }) },
      200,
    );
  });
};
