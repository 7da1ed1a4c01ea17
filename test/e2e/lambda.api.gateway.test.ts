import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../src/adapters/lambda/api.handler.js';
import { createTelemetry } from '../../src/adapters/lambda/lambda.telemetry.js';
import { MemoryMetrics } from '../../src/adapters/metrics/memory.metrics.js';
import type { App } from '../../src/infrastructure/app.js';
import { ConfigError } from '../../src/infrastructure/config.js';
import { apiFunction } from '../../src/infrastructure/lambda/api.function.js';
import { appFor, credentials, memoryEnv, quietly } from '../support/lambda-apps.js';
import { basic, bearer, httpApiEvent, restEvent } from '../support/lambda-events.js';

// How API Gateway really calls the api function, beyond the plain proxy shape: named stages in an
// HTTP API's rawPath, a custom domain's base path, GET and HEAD requests that carry a body,
// authorizer contexts of any shape. And who is to blame when something fails: never the caller
// for our own fault.

const tenant = `t-${randomUUID().slice(0, 8)}`;
const creds = credentials();
let app: App;
let withBase: App;
let handler: ReturnType<typeof apiFunction>;
let baseHandler: ReturnType<typeof apiFunction>;
beforeAll(async () => {
  app = await appFor(memoryEnv(tenant, creds));
  withBase = await appFor(memoryEnv(tenant, creds, { C360_BASE_PATH: '/api' }));
  handler = quietly(() => apiFunction(app, { env: {} }));
  baseHandler = quietly(() => apiFunction(withBase, { env: {} }));
});
afterAll(async () => {
  await app.close();
  await withBase.close();
});

type Result = { statusCode: number; body: string; headers?: Record<string, string>; multiValueHeaders?: Record<string, string[]> };
const bodyOf = (r: Result) => JSON.parse(r.body);
const contentType = (r: Result) => r.headers?.['content-type'] ?? r.multiValueHeaders?.['content-type']?.[0];

const identify = (userId: string) => JSON.stringify({ type: 'identify', userId, messageId: `m-${userId}`, traits: { email: `${userId}@example.com` } });

/** An HTTP API event as API Gateway sends it for a named stage on the execute-api host: the stage leads rawPath. */
const stagedHttpEvent = (stage: string, method: string, path: string, extra: { body?: string; headers?: Record<string, string> } = {}) => {
  const e = httpApiEvent('apigw-http_no-auth', { method, path: `/${stage}${path}`, headers: extra.headers, body: extra.body });
  return { ...e, routeKey: 'ANY /{proxy+}', requestContext: { ...e.requestContext, stage, routeKey: 'ANY /{proxy+}' } };
};

/** A REST event through a custom domain whose base path mapping is `base`: the path keeps the base path. */
const customDomainRestEvent = (base: string, method: string, path: string, extra: { body?: string; headers?: Record<string, string> } = {}) => {
  const e = restEvent('apigw-rest_no-auth', { method, path: `${base}${path}`, headers: { host: 'c360.example.com', ...extra.headers }, body: extra.body });
  return { ...e, requestContext: { ...e.requestContext, domainName: 'c360.example.com', domainPrefix: 'c360', path: `${base}${path}` } };
};

describe('paths as API Gateway hands them over', () => {
  it('an HTTP API named stage (rawPath /prod/v1/identify) reaches the route', async () => {
    const userId = `staged-${randomUUID().slice(0, 8)}`;
    const r = (await handler(
      stagedHttpEvent('prod', 'POST', '/v1/identify', {
        body: identify(userId),
        headers: { authorization: basic(creds.writeKey), 'content-type': 'application/json' },
      }),
    )) as Result;
    expect(r.statusCode).toBe(200);
    const read = (await handler(
      stagedHttpEvent('prod', 'GET', `/v1/customers?identifier=user_id:${userId}`, { headers: { authorization: bearer(creds.adminToken) } }),
    )) as Result;
    // rawQueryString, not the path, carries the query: this one asks for a route that does not exist
    expect(read.statusCode).toBe(404);
    const e = stagedHttpEvent('prod', 'GET', '/v1/customers', { headers: { authorization: bearer(creds.adminToken) } });
    const found = (await handler({ ...e, rawQueryString: `identifier=user_id:${userId}` })) as Result;
    expect(found.statusCode).toBe(200);
    expect(found.body).toContain(userId);
  });

  it('the $default stage is never stripped, and a path that only starts like the stage name is left alone', async () => {
    const e = httpApiEvent('apigw-http_no-auth', { method: 'GET', path: '/health' });
    expect(e.requestContext.stage).toBe('$default');
    expect(((await handler(e)) as Result).statusCode).toBe(200);
    // stage `hea`: /health starts with /hea, but not as a whole segment
    const lookalike = { ...e, requestContext: { ...e.requestContext, stage: 'hea' } };
    expect(((await handler(lookalike)) as Result).statusCode).toBe(200);
    const notStage = (await handler({ ...stagedHttpEvent('prod', 'GET', '/health'), rawPath: '/production/health' })) as Result;
    expect(notStage.statusCode).toBe(404);
  });

  it('a REST custom domain base path (/api/v1/identify) reaches the route when C360_BASE_PATH=/api', async () => {
    const userId = `based-${randomUUID().slice(0, 8)}`;
    const headers = { authorization: basic(creds.writeKey), 'content-type': 'application/json' };
    const r = (await baseHandler(customDomainRestEvent('/api', 'POST', '/v1/identify', { body: identify(userId), headers }))) as Result;
    expect(r.statusCode).toBe(200);
    // the same event to a function without the base path configured: a JSON 404, as any unknown path
    const without = (await handler(customDomainRestEvent('/api', 'POST', '/v1/identify', { body: identify(userId), headers }))) as Result;
    expect(without.statusCode).toBe(404);
    expect(bodyOf(without).error.code).toBe('NOT_FOUND');
    // and the base path does not hide the routes called without it (the execute-api host)
    expect(((await baseHandler(restEvent('apigw-rest_no-auth', { method: 'GET', path: '/health' }))) as Result).statusCode).toBe(200);
    // an HTTP API behind the same mapping
    const http = httpApiEvent('apigw-http_no-auth', { method: 'GET', path: '/api/health' });
    expect(((await baseHandler(http)) as Result).statusCode).toBe(200);
  });

  it('refuses a base path that is not a path, naming the variable', async () => {
    for (const bad of ['api', '/api/', '/a b'])
      expect(() => appFor(memoryEnv(tenant, creds, { C360_BASE_PATH: bad }))).toThrow(/^C360_BASE_PATH: a path such as \/api/);
  });
});

describe('envelopes API Gateway builds', () => {
  it.each(['GET', 'HEAD'])('a %s that carries a body is served, the body ignored', async (method) => {
    for (const make of [
      () => httpApiEvent('apigw-http_no-auth', { method, path: '/health', body: 'Hello from Lambda' }),
      () => restEvent('apigw-rest_no-auth', { method, path: '/health', body: 'Hello from Lambda' }),
      () => ({ ...httpApiEvent('apigw-http_no-auth', { method, path: '/health', body: 'SGVsbG8=' }), isBase64Encoded: true }),
    ]) {
      const r = (await handler(make())) as Result;
      expect(r.statusCode).toBe(200);
      expect(contentType(r)).toMatch(/json/);
    }
  });

  it('a REST authorizer context without integrationLatency and with a numeric clientId', async () => {
    const e = restEvent('apigw-rest_jwt-authorizer-auth', {
      method: 'GET',
      path: '/v1/customers',
      query: { identifier: 'user_id:nobody' },
      headers: { authorization: bearer(creds.adminToken) },
    });
    const authorizer = { principalId: 'admin', clientId: 1, clientName: 'Exata' };
    expect(e.requestContext.authorizer).not.toHaveProperty('integrationLatency');
    const r = (await handler({ ...e, requestContext: { ...e.requestContext, authorizer } })) as Result;
    // authorized and served: the customer is unknown
    expect(r.statusCode).toBe(404);
    expect(bodyOf(r).error.code).toBe('CUSTOMER_NOT_FOUND');
    const health = (await handler({ ...restEvent('apigw-rest_no-auth', { method: 'GET', path: '/health' }), stageVariables: { a: 'b' } })) as Result;
    expect(health.statusCode).toBe(200);
  });

  it('an HTTP API event with fields we never read in any shape (a Lambda authorizer, mutual TLS, cookies)', async () => {
    const e = httpApiEvent('apigw-http_no-auth', { method: 'GET', path: '/health' });
    const r = (await handler({
      ...e,
      cookies: ['a=1', 'b=2'],
      requestContext: {
        ...e.requestContext,
        authorizer: { lambda: { clientId: 7, nested: { list: [1, 'x', null] } } },
        authentication: { clientCert: { serialNumber: 1, validity: {} } },
      },
    })) as Result;
    expect(r.statusCode).toBe(200);
  });

  it('a REST event with null maps (no headers, no query) as API Gateway sends them', async () => {
    const e = restEvent('apigw-rest_no-auth', { method: 'GET', path: '/health' });
    const r = (await handler({
      ...e,
      headers: null,
      multiValueHeaders: null,
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      body: null,
    })) as Result;
    expect(r.statusCode).toBe(200);
  });

  it('a field we read, of the wrong type, is a 400 naming it', async () => {
    const e = httpApiEvent('apigw-http_no-auth', { method: 'GET', path: '/health' });
    const r = (await handler({ ...e, requestContext: { ...e.requestContext, http: { ...e.requestContext.http, method: 7 } } })) as Result;
    expect(r.statusCode).toBe(400);
    expect(bodyOf(r).error.issues.map((i: { path: string }) => i.path)).toEqual(['requestContext.http.method']);
  });
});

describe('our own faults', () => {
  const telemetry = () => quietly(() => createTelemetry({ serviceName: 'c360-api-test', namespace: 'c360', counters: new MemoryMetrics() }));

  it('something beneath the app that throws is a JSON 500 with the request id, never a 4xx', async () => {
    const broken = createApiHandler(
      {
        fetch: () => {
          throw new TypeError('a fault of ours');
        },
      },
      telemetry(),
    );
    const r = (await broken(httpApiEvent('apigw-http_no-auth', { method: 'GET', path: '/health' }, 'req-fault-1'))) as Result;
    expect(r.statusCode).toBe(500);
    expect(contentType(r)).toMatch(/json/);
    expect(bodyOf(r).error.code).toBe('INTERNAL_ERROR');
    expect(bodyOf(r).error.message).toContain('req-fault-1');
  });

  it('an app that cannot be built (lazily, on first use) is a JSON 500 too', async () => {
    const broken = createApiHandler(async () => {
      throw new Error('cannot build');
    }, telemetry());
    const r = (await broken(restEvent('apigw-rest_no-auth', { method: 'POST', path: '/v1/identify', body: '{}' }))) as Result;
    expect(r.statusCode).toBe(500);
    expect(bodyOf(r).error.code).toBe('INTERNAL_ERROR');
  });
});

describe('start-up', () => {
  it('with no credential configured, the function refuses to start and says why', async () => {
    const bare = await appFor({ C360_STORE: 'memory', C360_TENANT: tenant, POWERTOOLS_LOG_LEVEL: 'SILENT' });
    try {
      expect(() => apiFunction(bare, { env: {} })).toThrow(ConfigError);
      expect(() => apiFunction(bare, { env: {} })).toThrow(
        /no credentials configured.*C360_CREDENTIALS_SECRET_ID.*C360_CREDENTIALS_FILE.*C360_WRITE_KEY.*C360_ADMIN_TOKEN/,
      );
    } finally {
      await bare.close();
    }
  });
});

describe('the limit for requests without a valid credential', () => {
  it('comes from C360_ANONYMOUS_RATE_LIMIT_PER_SECOND: with 2, the third unauthenticated request in a second from one address is 429, and another address still passes', async () => {
    const limited = await appFor(memoryEnv(tenant, creds, { C360_ANONYMOUS_RATE_LIMIT_PER_SECOND: '2' }));
    try {
      const h = quietly(() => apiFunction(limited, { env: {} }));
      const anonymous = (sourceIp = '198.51.100.7') => {
        const e = httpApiEvent('apigw-http_no-auth', { method: 'GET', path: '/v1/customers/someone' });
        return { ...e, requestContext: { ...e.requestContext, http: { ...e.requestContext.http, sourceIp } } };
      };
      // a burst allowance of two seconds' worth, as for credentials: 4 pass as 401, then 429
      const codes: number[] = [];
      for (let i = 0; i < 6; i++) codes.push(((await h(anonymous())) as Result).statusCode);
      expect(codes.filter((c) => c === 401).length).toBeGreaterThanOrEqual(2);
      expect(codes.filter((c) => c === 401).length).toBeLessThanOrEqual(4);
      expect(codes.at(-1)).toBe(429);
      // the limit is per address: another caller is not refused for the first one's burst
      expect(((await h(anonymous('203.0.113.9'))) as Result).statusCode).toBe(401);
      // the default (10 a second) lets six through
      const open = quietly(() => apiFunction(app, { env: {} }));
      for (let i = 0; i < 6; i++) expect(((await open(anonymous())) as Result).statusCode).toBe(401);
    } finally {
      await limited.close();
    }
  });
});
