import { z, type OpenAPIHono } from '@hono/zod-openapi';
import {
  ANALYTICS_PAGE,
  ANALYTICS_QUERIES,
  type AnalyticsParamSpec,
  analyticsPageLimit,
  DATE_PATTERN,
  oneValueEach,
  paramSpecs,
  queryParamNames,
  unknownAnalyticsParams,
  unknownParamsMessage,
} from '../../../application/lake/analytics.params.js';
import type { AnalyticsQueries } from '../../../application/ports/lake.port.js';
import type { AppEnv, Gate } from '../auth.js';
import { analyticsCursor, encodeAnalyticsCursor } from '../cursor.js';
import { HttpError } from '../errors.js';
import { errors, lazy, schemaOf } from '../schemas.js';

// GET /v1/analytics/{query}: one of the ten lake queries for the credential's tenant only, every
// query-string parameter passed to it (a bad or unknown one is a 400 naming it). Every query answers
// a page at a time (limit and cursor, as other lists), so one request's rows are bounded. Served
// where the process writes a lake (npm start); elsewhere 404 says why.

export type AnalyticsRouteDeps = { readonly analytics?: AnalyticsQueries | undefined };

/** What each query-string parameter means (`_N`: each of a score's four numbered thresholds). */
const MEANING: Readonly<Record<string, string>> = {
  now: 'the time the query answers as of: epoch milliseconds, or an ISO 8601 date or time of a day that exists, from 1970-01-01 to 9999-12-31; facts after it, and customers first seen after it, are left out (default: the time of the request)',
  currency: "the ISO 4217 currency whose revenue counts, in any case (upper-cased); default: the 360 view's (C360_SCORE_CURRENCY, USD unless set)",
  recency_days_N: 'days since the last order at or below which recency scores 5, 4, 3, 2 (recency_days_1 to _4, each below the next)',
  frequency_orders_N: 'order counts at or above which frequency scores 2, 3, 4, 5 (frequency_orders_1 to _4, each below the next)',
  monetary_minor_N: 'revenue in minor units at or above which monetary scores 2, 3, 4, 5 (monetary_minor_1 to _4, each below the next)',
  churn_inactive_days: 'days without activity after which a customer with fewer than two orders is fully at risk',
  churn_high: 'the churn risk at or above which the band is high (above churn_medium)',
  churn_medium: 'the churn risk at or above which the band is medium (below churn_high)',
  clv_high_minor: 'revenue in minor units at or above which the segment is High (above clv_medium_minor)',
  clv_medium_minor: 'revenue in minor units at or above which the segment is Medium (below clv_high_minor)',
  months: 'how many months after its first each cohort is followed',
  min_orders: 'the fewest orders a pair of products must share to be listed',
  level: 'what an item is: a category, or a product',
  from_date: 'the first day, as YYYY-MM-DD (not after to_date)',
  to_date: "the last day, as YYYY-MM-DD (default: now's date, in UTC)",
  limit: `page size, 1..${ANALYTICS_PAGE.maxLimit} (default ${ANALYTICS_PAGE.defaultLimit})`,
  cursor: 'the next of the page before (absent on the last page)',
};

/** The schema a parameter's values take, from the spec the queries check them against. */
const valueSchema = (spec: AnalyticsParamSpec): z.ZodType => {
  switch (spec.kind) {
    case 'instant':
      return z.string();
    case 'currency':
      // no default in the document: it is the deployment's C360_SCORE_CURRENCY (the description says so)
      return z.string().regex(/^[A-Za-z]{3}$/);
    case 'text':
      return spec.default === undefined ? z.string().regex(spec.pattern) : z.string().regex(spec.pattern).default(spec.default);
    case 'date': {
      const day = z.string().regex(DATE_PATTERN).openapi({ format: 'date' });
      return spec.default === undefined ? day : day.default(spec.default);
    }
    case 'number': {
      const n = spec.integer ? z.number().int() : z.number();
      return (spec.above ? n.gt(spec.min) : n.min(spec.min)).max(spec.max).default(spec.default);
    }
  }
};

/**
 * The query string as the document shows it: every parameter some query takes, each saying which
 * (another query answers 400 naming it), then limit and cursor, which every query takes.
 */
const analyticsQueryString = lazy(() => {
  const specs = paramSpecs();
  const takenBy = new Map<string, string[]>();
  for (const q of ANALYTICS_QUERIES) for (const p of queryParamNames(q)) takenBy.set(p, [...(takenBy.get(p) ?? []), q]);
  const described = (name: string, schema: z.ZodType, queries: readonly string[]) => {
    const which = queries.length === ANALYTICS_QUERIES.length ? 'every query' : queries.join(', ');
    return schema.optional().openapi({ description: `${MEANING[name] ?? MEANING[name.replace(/_\d+$/, '_N')]}. Taken by ${which}.` });
  };
  return z.object({
    ...Object.fromEntries([...takenBy].map(([name, queries]) => [name, described(name, valueSchema(specs[name]!), queries)])),
    limit: described('limit', z.number().int().min(1).max(ANALYTICS_PAGE.maxLimit).default(ANALYTICS_PAGE.defaultLimit), ANALYTICS_QUERIES),
    cursor: described('cursor', z.string(), ANALYTICS_QUERIES),
  });
});

export const registerAnalyticsRoutes = (app: OpenAPIHono<AppEnv>, deps: AnalyticsRouteDeps, gate: Gate): void => {
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/v1/analytics/{query}',
    tags: ['analytics'],
    summary: "One of the ten analytics queries over the tenant's lake, as JSON rows",
    description: `Parameters go in the query string, each once; each query takes its own: ${ANALYTICS_QUERIES.map((q) => `${q}: ${queryParamNames(q).join(', ')}`).join('; ')}. now is epoch ms or an ISO date or time, from 1970 to 9999; every query answers as of now (facts after it, and customers first seen after it, are left out). currency is an ISO 4217 code in any case (upper-cased). Numbers are plain decimal digits; ranked thresholds (recency_days_N, frequency_orders_N, monetary_minor_N, churn_medium < churn_high, clv_medium_minor < clv_high_minor) must ascend. Score thresholds default to the 360 view’s. An unknown, repeated or bad parameter is a 400 naming it. Every query answers a page at a time, in its own order: limit (1 to ${ANALYTICS_PAGE.maxLimit}, default ${ANALYTICS_PAGE.defaultLimit}) and cursor (the next of the page before; absent on the last page). rfm-segmentation pages in customer id order (a page starts after the last customer id of the one before); the others by position in their order, so a page read while the lake is written may repeat or skip rows.`,
    security: [{ bearer: [] }],
    request: {
      params: z.object({ query: z.enum(ANALYTICS_QUERIES) }),
      // built when the document is generated, not when the route is registered
      get query() {
        return analyticsQueryString();
      },
    },
    responses: {
      200: {
        description: 'the rows, in the query’s order',
        content: {
          'application/json': schemaOf(() =>
            z
              .object({
                query: z.string(),
                tenant: z.string(),
                count: z.number().int(),
                rows: z.array(z.record(z.string(), z.unknown())),
                next: z.string().optional().openapi({ description: 'the cursor of the next page; absent on the last page' }),
              })
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
