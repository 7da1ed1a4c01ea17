import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { matchedRoutes } from 'hono/route';
import { type FieldIssue, formatPath, zodIssues } from '../../application/segment/segment.schema.js';
import { StoreUnavailable } from '../../application/ports/store-unavailable.js';
import { DataKeyUnavailable } from '../../application/ports/keys.port.js';
import { MasterKeyError } from '../crypto/master-key.js';
import { DomainError } from '../../domain/shared/errors.js';
import { Gate, type AppEnv } from './auth.js';
import { bufferJsonBody } from './body.js';
import { createConsole } from './console/console.app.js';
import { CONSOLE_PATH } from './console/layout.js';
import { errorBody, HttpError, statusOf, type HttpErrorCode } from './errors.js';
import type { HttpDeps } from './http.deps.js';
import { HttpMetrics } from './http-metrics.js';
import { RateLimiter } from './rate-limiter.js';
import { registerAdminRoutes } from './routes/admin.routes.js';
import { registerAnalyticsRoutes, type AnalyticsRouteDeps } from './routes/analytics.routes.js';
import { registerCustomerRoutes } from './routes/customer.routes.js';
import { registerEngagementRoutes, type EngagementRouteDeps } from './routes/engagement.routes.js';
import { registerGdprRoutes, type GdprRouteDeps } from './routes/gdpr.routes.js';
import { registerIngestRoutes } from './routes/ingest.routes.js';
import { registerMatchingRoutes } from './routes/matching.routes.js';
import { OPENAPI_INFO, registerOpsRoutes, securitySchemes } from './routes/ops.routes.js';
import { loggableMessage } from '../loggable-message.js';

// One route table for every runtime: the Node server (node-server.ts) and API Gateway (the Lambda
// adapter) both hand their requests to this app. No node-only imports here, and no module state:
// each app owns its rate-limit buckets and request metrics.

/** JSON bodies of the non-ingest routes (merge, unmerge) are small; ingest has Segment's own limits. */
export const API_BODY_LIMIT = 64 * 1024;

export type HttpApp = OpenAPIHono<AppEnv>;

/** What a validation target is called in an error: the JSON was fine, the request body was not. */
const TARGETS: Readonly<Record<string, string>> = {
  json: 'request body',
  query: 'query parameters',
  param: 'path parameters',
  header: 'headers',
  cookie: 'cookies',
  form: 'form body',
};

/**
 * The issues of a refused validation target. A query parameter given more than once
 * (`limit=1&limit=2`) reaches its schema as a list, which it refuses with a message about the
 * list's type ("expected number, received NaN"): it is named as given more than once instead, as
 * no value can be chosen over the others (GET /v1/analytics/{query} says the same).
 */
const issuesOf = (target: string, error: Parameters<typeof zodIssues>[0], c: Context): FieldIssue[] => {
  const issues = zodIssues(error);
  if (target !== 'query') return issues;
  const repeated = new Map(Object.entries(c.req.queries()).flatMap(([name, values]) => (values.length > 1 ? [[name, values.length] as const] : [])));
  if (repeated.size === 0) return issues;
  const named = new Set<string>();
  return issues.flatMap((issue) => {
    const times = repeated.get(issue.path);
    if (times === undefined) return [issue];
    if (named.has(issue.path)) return [];
    named.add(issue.path);
    return [{ path: issue.path, message: `given ${times} times; give it once` }];
  });
};

/**
 * A query parameter given more than once that no schema refused (a name the route does not read,
 * or a route without query parameters, such as the export): 400 naming each, as a repeated
 * parameter the route reads is. Asked once a request's first target has validated.
 */
const repeatedQuery = (c: Context): FieldIssue[] => {
  if (!c.req.url.includes('?')) return [];
  return Object.entries(c.req.queries()).flatMap(([name, values]) =>
    values.length > 1 ? [{ path: name, message: `given ${values.length} times; give it once` }] : [],
  );
};

export const createHttpApp = (deps: HttpDeps & GdprRouteDeps & EngagementRouteDeps & AnalyticsRouteDeps): HttpApp => {
  const metrics = new HttpMetrics();
  const gate = new Gate(deps.auth, new RateLimiter(deps.now), deps.anonymousRateLimitPerSecond);
  const app: HttpApp = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const where = TARGETS[result.target] ?? result.target;
        const issues = issuesOf(result.target, result.error, c);
        return c.json(errorBody('VALIDATION_FAILED', `invalid ${where}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues), 400);
      }
      const repeated = repeatedQuery(c);
      if (repeated.length)
        return c.json(errorBody('VALIDATION_FAILED', `invalid query parameters: ${repeated.map((i) => `${i.path}: ${i.message}`).join('; ')}`, repeated), 400);
      return undefined;
    },
  });

  app.use('*', async (c, next) => {
    const started = performance.now();
    const requestId = requestIdOf(c.req.header('x-request-id'));
    c.set('requestId', requestId);
    c.set('clientAddress', clientAddressOf(c.env));
    // set before the route answers: a header added to a finished response makes Hono copy it
    // through an undici Response and a web stream (a tenth of an ingest call's CPU)
    c.header('X-Request-Id', requestId);
    await next();
    // the route pattern that handled it (middleware are registered for ALL methods)
    const label = matchedRoutes(c).findLast((r) => r.method !== 'ALL')?.path ?? 'unmatched';
    metrics.observe(c.req.method, label, c.res.status, (performance.now() - started) / 1000);
    if (c.res.status >= 400) {
      const p = c.get('principal');
      deps.logger?.[c.res.status >= 500 ? 'error' : 'info']('request refused', {
        requestId: c.get('requestId'),
        method: c.req.method,
        route: label,
        status: c.res.status,
        principal: p?.id,
      });
    }
  });
  for (const prefix of ['/v1/customers/*', '/v1/admin/*', '/v1/quarantine/*']) {
    app.use(prefix, async (c, next) => {
      if (c.req.method !== 'GET' && c.req.method !== 'HEAD') c.req.raw = await bufferJsonBody(c, API_BODY_LIMIT);
      await next();
    });
  }

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', securitySchemes.bearer);
  app.openAPIRegistry.registerComponent('securitySchemes', 'writeKey', securitySchemes.writeKey);
  registerIngestRoutes(app, deps, gate);
  registerCustomerRoutes(app, deps, gate);
  registerMatchingRoutes(app, deps, gate);
  registerAdminRoutes(app, deps, gate);
  registerGdprRoutes(app, deps, gate);
  registerEngagementRoutes(app, deps, gate);
  registerAnalyticsRoutes(app, deps, gate);
  registerOpsRoutes(app, deps, gate, metrics);
  if (deps.console) app.route(CONSOLE_PATH, createConsole(deps, gate, deps.console));

  app.notFound((c) => {
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length) {
      return c.json(errorBody('METHOD_NOT_ALLOWED', `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(' or ')}`), 405, {
        Allow: allowed.join(', '),
      });
    }
    // routes have no trailing slash: say so rather than only "no route"
    const bare = c.req.path.replace(/\/+$/, '');
    if (bare !== c.req.path && bare !== '' && allowedMethods(app, bare).length) {
      return c.json(errorBody('NOT_FOUND', `no route ${c.req.method} ${c.req.path}; the route is ${bare}, without the trailing slash`), 404);
    }
    return c.json(errorBody('NOT_FOUND', `no route ${c.req.method} ${c.req.path}; see /docs`), 404);
  });
  app.onError((err, c) => renderError(err, c, deps));
  return app;
};

/** The OpenAPI 3.1 document of an app, e.g. to generate it at build time for the Lambda bundle. */
export const generateOpenApiDocument = (app: HttpApp): object => app.getOpenAPI31Document(OPENAPI_INFO as Parameters<HttpApp['getOpenAPI31Document']>[0]);

const requestIdOf = (given: string | undefined): string => (given && /^[\w.:-]{1,128}$/.test(given) ? given : crypto.randomUUID());

const toPattern = (path: string): RegExp => new RegExp(`^${path.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\/:[^/]+/g, '/[^/]+')}$`);

/**
 * Who sent the request, for the rate limit of requests without a credential: the socket's peer
 * under @hono/node-server, API Gateway's sourceIp on Lambda (REST or HTTP API). Never a header such
 * as X-Forwarded-For, which any client can write.
 */
type GatewayContext = { requestContext?: { identity?: { sourceIp?: unknown }; http?: { sourceIp?: unknown } } };
/** The caller's address: the Node server's socket, or API Gateway's sourceIp (the Lambda adapter hands the event over as env.event). */
const clientAddressOf = (env: unknown): string => {
  const e = env as ({ incoming?: { socket?: { remoteAddress?: unknown } }; event?: GatewayContext } & GatewayContext) | undefined;
  const context = e?.event?.requestContext ?? e?.requestContext;
  const address = e?.incoming?.socket?.remoteAddress ?? context?.http?.sourceIp ?? context?.identity?.sourceIp;
  return typeof address === 'string' && address ? address : 'unknown';
};

const allowedMethods = (app: HttpApp, path: string): string[] => [
  ...new Set(app.routes.filter((r) => r.method !== 'ALL' && r.path !== '*' && r.path !== '/*' && toPattern(r.path).test(path)).map((r) => r.method)),
];

/**
 * A key the request needs cannot be opened with the configured master keys: one its keyring lacks
 * (MASTER_KEY_UNKNOWN), or a KMS key that cannot be used (MASTER_KEY_INVALID), found on the error
 * or its cause (the quarantine wraps it). A wrap that does not open under its own master key
 * (WRAPPED_KEY_UNREADABLE: altered, moved) is not: that stays an unexpected failure.
 */
const masterKeyFault = (err: Error): Error | undefined => {
  for (const e of [err, err.cause]) {
    if (e instanceof DataKeyUnavailable) return e;
    if (e instanceof MasterKeyError && (e.code === 'MASTER_KEY_UNKNOWN' || e.code === 'MASTER_KEY_INVALID')) return e;
  }
  return undefined;
};

const renderError = (err: Error, c: Context<AppEnv>, deps: HttpDeps): Response => {
  if (err instanceof HttpError) {
    return c.json(errorBody(err.code, err.message, err.issues, err.extra), statusOf(err.code), err.headers);
  }
  if (err instanceof DomainError) {
    const issues = err.path.length ? [{ path: formatPath(err.path), message: err.message }] : [];
    return c.json(errorBody(err.code, err.message, issues), statusOf(err.code));
  }
  if (err instanceof StoreUnavailable) {
    const retryAfter = String(err.retryAfterSeconds);
    deps.logger?.warn('store unavailable', {
      requestId: c.get('requestId'),
      store: err.store,
      reason: err.reason,
      cause: (err.cause as Error | undefined)?.message,
    });
    return c.json(
      errorBody('STORE_UNAVAILABLE', `${err.message}; nothing is wrong with the request: send it again after ${retryAfter} s`, [], {
        requestId: c.get('requestId'),
      }),
      statusOf('STORE_UNAVAILABLE'),
      { 'Retry-After': retryAfter },
    );
  }
  const keyFault = masterKeyFault(err);
  if (keyFault) {
    // the operator's problem: the log names the master key, the answer only what happened
    deps.logger?.error('master key unavailable', {
      requestId: c.get('requestId'),
      error: keyFault.name,
      errorMessage: loggableMessage(keyFault.message),
      ...('code' in keyFault && typeof keyFault.code === 'string' ? { code: keyFault.code } : {}),
    });
    return c.json(
      errorBody(
        'MASTER_KEY_UNAVAILABLE',
        `a key this request needs is wrapped by a master key this server is not configured with; nothing is wrong with the request: the operator must fix the server's master keys (the request id is ${c.get('requestId')})`,
        [],
        { requestId: c.get('requestId') },
      ),
      statusOf('MASTER_KEY_UNAVAILABLE'),
    );
  }
  if (err instanceof HTTPException && err.status < 500) {
    const code: HttpErrorCode =
      err.status === 413 ? 'PAYLOAD_TOO_LARGE' : err.status === 404 ? 'NOT_FOUND' : err.status === 401 ? 'UNAUTHORIZED' : 'VALIDATION_FAILED';
    // the JSON validator's "Malformed JSON in request body": name the body
    const issues = /JSON/i.test(err.message) ? [{ path: 'body', message: 'not a JSON object' }] : [];
    return c.json(errorBody(code, err.message || 'the request was refused', issues), statusOf(code));
  }
  // logs carry ids and codes, never values: the message and its cause's are logged masked
  // (loggableMessage), the stack as frames only (its first line is the message again). The field
  // is errorMessage: Powertools' Logger (the Lambda's) reserves `message` and drops it
  // from extra fields, warning instead.
  const cause = err.cause instanceof Error ? err.cause : undefined;
  const code = (err as { code?: unknown }).code;
  deps.logger?.error('unexpected error', {
    requestId: c.get('requestId'),
    error: err.name,
    errorMessage: loggableMessage(err.message),
    ...(typeof code === 'string' ? { code } : {}),
    ...(cause ? { cause: `${cause.name}: ${loggableMessage(cause.message)}` } : {}),
    stack: err.stack?.split('\n').slice(1, 8).join('\n'),
  });
  return c.json(
    errorBody('INTERNAL_ERROR', `something went wrong on our side; the request id is ${c.get('requestId')}`, [], { requestId: c.get('requestId') }),
    500,
  );
};
