import { z, type OpenAPIHono } from '@hono/zod-openapi';
import {
  ANALYTICS_PAGE,
  ANALYTICS_QUERIES,
  analyticsPageLimit,
  type AnalyticsQueryName,
  oneValueEach,
  PAGED_ANALYTICS,
  pageAnalyticsRows,
  queryParamNames,
  unknownAnalyticsParams,
  unknownParamsMessage,
} from '../../../application/lake/analytics.params.js';
import type { AnalyticsQueries } from '../../../application/ports/lake.port.js';
import type { AppEnv, Gate } from '../auth.js';
import { decodeCursor, encodeCursor, isIdPosition } from '../cursor.js';
import { HttpError } from '../errors.js';
import { errors, schemaOf } from '../schemas.js';

// GET /v1/analytics/{query}: one of the ten lake queries for the credential's tenant only, every
// query-string parameter passed to it (a bad or unknown one is a 400 naming it). A query with a row
// per customer (rfm-segmentation) answers a page at a time: limit and cursor, as other lists. Served
// where the process writes a lake (npm start); elsewhere 404 says why.

export type AnalyticsRouteDeps = { readonly analytics?: AnalyticsQueries | undefined };

export const registerAnalyticsRoutes = (app: OpenAPIHono<AppEnv>, deps: AnalyticsRouteDeps, gate: Gate): void => {
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/v1/analytics/{query}',
    tags: ['analytics'],
    summary: "One of the ten analytics queries over the tenant's lake, as JSON rows",
    description: `Parameters go in the query string, each once; each query takes its own: ${ANALYTICS_QUERIES.map((q) => `${q}: ${queryParamNames(q).join(', ')}`).join('; ')}. now is epoch ms or an ISO date or time, from 1970 to 9999. Score thresholds default to the 360 view’s. An unknown, repeated or bad parameter is a 400 naming it. rfm-segmentation answers a page at a time, in customer id order: limit (1 to ${ANALYTICS_PAGE.maxLimit}, default ${ANALYTICS_PAGE.defaultLimit}) and cursor (the next of the page before; absent on the last page).`,
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
    const key = PAGED_ANALYTICS[query as AnalyticsQueryName];
    if (key === undefined) {
      const rows = await deps.analytics.run(tenant, query, raw);
      return c.json({ query, tenant, count: rows.length, rows }, 200);
    }
    // a paged query: limit and cursor are the route's, the rest the query's
    const { limit: rawLimit, cursor, ...params } = raw;
    const limit = analyticsPageLimit(rawLimit);
    const after = cursor === undefined ? undefined : decodeCursor(cursor, isIdPosition).q;
    const page = pageAnalyticsRows(await deps.analytics.run(tenant, query, params), key, limit, after);
    return c.json(
      { query, tenant, count: page.rows.length, rows: page.rows, ...(page.last === undefined ? {} : { next: encodeCursor({ q: page.last }) }) },
      200,
    );
  });
};
