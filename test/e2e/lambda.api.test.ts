import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { App } from '../../src/infrastructure/app.js';
import { apiFunction } from '../../src/infrastructure/lambda/api.function.js';
import { appFor, credentials, memoryEnv, quietly } from '../support/lambda-apps.js';
import { basic, bearer, captureStdout, fixture, httpApiEvent, restEvent, type HttpRequest } from '../support/lambda-events.js';

// The api function on real API Gateway event shapes (REST payload 1.0 and HTTP API 2.0, with and
// without authorizers), our requests swapped in: ingest with a write key, then read the 360.

const tenant = `t-${randomUUID().slice(0, 8)}`;
const creds = credentials();
let app: App;
let handler: ReturnType<typeof apiFunction>;
beforeAll(async () => {
  app = await appFor(memoryEnv(tenant, creds));
  handler = quietly(() => apiFunction(app, { env: {} }));
});
afterAll(() => app.close());

type Result = { statusCode?: number; body?: string; headers?: Record<string, unknown>; multiValueHeaders?: Record<string, unknown[]> };
const bodyOf = (r: Result) => JSON.parse(r.body ?? 'null');

const FORMATS = [
  ['apigw-rest_no-auth', restEvent],
  ['apigw-rest_iam-auth', restEvent],
  ['apigw-rest_jwt-authorizer-auth', restEvent],
  ['apigw-http_no-auth', httpApiEvent],
  ['apigw-http_iam-auth', httpApiEvent],
  ['apigw-http_jwt-authorizer-auth', httpApiEvent],
] as const;

describe.each(FORMATS)('%s', (name, make) => {
  const event = (r: HttpRequest) => make(name, r);
  const email = `ada.${name}@example.com`;

  it('ingests a track call with a write key, then answers the 360 by identifier to an admin', async () => {
    const call = {
      event: 'Order Completed',
      userId: `u-${name}`,
      messageId: `m-${name}`,
      context: { traits: { email: `  ${email.toUpperCase()} ` } },
      properties: { revenue: 42 },
    };
    const ingest = (await handler(
      event({
        method: 'POST',
        path: '/v1/track',
        headers: { authorization: basic(creds.writeKey), 'content-type': 'application/json' },
        body: JSON.stringify(call),
      }),
    )) as Result;
    expect(ingest.statusCode).toBe(200);
    expect(bodyOf(ingest)).toEqual({ success: true, customerId: expect.any(String), viewVersion: expect.any(Number) });

    const read = (await handler(
      event({ method: 'GET', path: '/v1/customers', query: { identifier: `email:${email}` }, headers: { authorization: bearer(creds.adminToken) } }),
    )) as Result;
    expect(read.statusCode).toBe(200);
    const view = bodyOf(read);
    expect(JSON.stringify(view)).toContain(email);
    expect(JSON.stringify(view)).toContain(`u-${name}`);
  });

  it("answers in the event's own format: multiValueHeaders for REST, headers for HTTP APIs", async () => {
    const r = (await handler(event({ method: 'GET', path: '/health' }))) as Result;
    expect(r.statusCode).toBe(200);
    if (name.startsWith('apigw-rest')) expect(r.multiValueHeaders?.['content-type']?.[0]).toMatch(/json/);
    else expect(String(r.headers?.['content-type'])).toMatch(/json/);
  });

  it('refuses a read without credentials (401) and an ingest key on a read (403), as JSON', async () => {
    const none = (await handler(event({ method: 'GET', path: '/v1/customers', query: { identifier: `email:${email}` } }))) as Result;
    expect(none.statusCode).toBe(401);
    expect(bodyOf(none).error.code).toBe('UNAUTHORIZED');
    const wrong = (await handler(
      event({ method: 'GET', path: '/v1/customers', query: { identifier: `email:${email}` }, headers: { authorization: basic(creds.writeKey) } }),
    )) as Result;
    expect([401, 403]).toContain(wrong.statusCode);
  });

  it('decodes a base64 body (binary media types) like a plain one', async () => {
    const call = { type: 'identify', userId: `b64-${name}`, messageId: `b64-${name}`, traits: { email: `b64.${name}@example.com` } };
    const r = (await handler(
      event({
        method: 'POST',
        path: '/v1/identify',
        headers: { authorization: basic(creds.writeKey), 'content-type': 'application/json' },
        body: JSON.stringify(call),
        base64: true,
      }),
    )) as Result;
    expect(r.statusCode).toBe(200);
    const read = (await handler(
      event({ method: 'GET', path: '/v1/customers', query: { identifier: `user_id:b64-${name}` }, headers: { authorization: bearer(creds.adminToken) } }),
    )) as Result;
    expect(read.statusCode).toBe(200);
  });

  it("answers the fixture's own request (a route we do not have) with a JSON 404, and keeps serving", async () => {
    const original = fixture(name);
    const r = (await handler(original)) as Result;
    expect(r.statusCode).toBe(404);
    expect(bodyOf(r).error.code).toBe('NOT_FOUND');
    expect(((await handler(event({ method: 'GET', path: '/health' }))) as Result).statusCode).toBe(200);
  });
});

describe('events that are not API Gateway proxy events', () => {
  it.each(['apigw-rest_invalid', 'apigw-http_invalid'])('%s gets a 400 JSON error naming the missing fields, without throwing', async (name) => {
    const r = (await handler(fixture(name))) as Result;
    expect(r.statusCode).toBe(400);
    const { error } = bodyOf(r);
    expect(error.code).toBe('INVALID_LAMBDA_EVENT');
    expect(error.message).toMatch(/API Gateway REST API/);
    expect(error.issues.map((i: { path: string }) => i.path)).toEqual(expect.arrayContaining(['queryStringParameters', 'requestContext.stage']));
  });

  it('a Kinesis batch sent to the api function, or no event at all, gets a 400 too', async () => {
    for (const e of [fixture('kinesis_stream'), null, 'GET /']) {
      const r = (await handler(e)) as Result;
      expect(r.statusCode).toBe(400);
      expect(bodyOf(r).error.code).toBe('INVALID_LAMBDA_EVENT');
    }
  });

  it('a malformed Segment body is a 400 with the reason, not a crash', async () => {
    const r = (await handler(
      restEvent('apigw-rest_no-auth', {
        method: 'POST',
        path: '/v1/track',
        headers: { authorization: basic(creds.writeKey), 'content-type': 'application/json' },
        body: 'Foo!',
      }),
    )) as Result;
    expect(r.statusCode).toBe(400);
    expect(bodyOf(r).error.code).toBe('MALFORMED_JSON');
  });
});

describe.each([
  ['apigw-rest_no-auth', restEvent],
  ['apigw-http_no-auth', httpApiEvent],
] as const)('bodies that cannot be read (%s)', (name, make) => {
  const held = async (quarantineId: string) => {
    const list = (await handler(
      make(name, { method: 'GET', path: '/v1/quarantine', query: { limit: '500', payload: 'true' }, headers: { authorization: bearer(creds.adminToken) } }),
    )) as Result;
    expect(list.statusCode).toBe(200);
    return bodyOf(list).items.find((i: { id: string }) => i.id === quarantineId);
  };
  /** an event whose body is `body` as API Gateway hands it over, marked base64 */
  const base64Event = (path: string, body: string, authorization = basic(creds.writeKey)) => ({
    ...make(name, { method: 'POST', path, headers: { authorization, 'content-type': 'application/json' }, body: '{}', base64: true }),
    body,
  });

  it('refuses bytes that are not UTF-8 (a base64 body of Latin-1) with 400 BODY_NOT_UTF8, kept exactly in the quarantine', async () => {
    const latin1 = Buffer.from(`{"userId":"Jos\xe9-${name}","traits":{"email":"jose.${name}@example.com"}}`, 'latin1');
    const r = (await handler(base64Event('/v1/identify', latin1.toString('base64')))) as Result;
    expect(r.statusCode).toBe(400);
    const { error } = bodyOf(r);
    expect(error).toMatchObject({ code: 'BODY_NOT_UTF8', issues: [{ path: 'body', message: 'not UTF-8 at byte 14' }], quarantineId: expect.any(String) });
    const entry = await held(error.quarantineId);
    expect(entry.reason.code).toBe('BODY_NOT_UTF8');
    expect(Buffer.from(entry.payload.base64, 'base64').equals(latin1)).toBe(true);
    expect(entry.payload.text).toContain('Jos\uFFFD');
    const read = (await handler(
      make(name, {
        method: 'GET',
        path: '/v1/customers',
        query: { identifier: `email:jose.${name}@example.com` },
        headers: { authorization: bearer(creds.adminToken) },
      }),
    )) as Result;
    expect(read.statusCode).toBe(404);
  });

  it('refuses a body marked base64 that is not base64 with 400 BODY_UNDECODABLE naming body (not MALFORMED_JSON), kept as sent', async () => {
    const sent = `{"userId":"plain-${name}"}`;
    const r = (await handler(base64Event('/v1/identify', sent))) as Result;
    expect(r.statusCode).toBe(400);
    const { error } = bodyOf(r);
    expect(error).toMatchObject({ code: 'BODY_UNDECODABLE', issues: [{ path: 'body', message: 'not base64' }], quarantineId: expect.any(String) });
    expect(error.message).toMatch(/isBase64Encoded/);
    expect((await held(error.quarantineId)).payload).toEqual({ bytes: sent.length, kept: sent.length, text: sent });
    // base64 cut short (a length that is not a multiple of 4) is refused too, on every route
    const admin = (await handler(base64Event('/v1/customers/c-1/merge', 'eyJvdGhlcklkIjoiYy0yIn0', bearer(creds.adminToken)))) as Result;
    expect(admin.statusCode).toBe(400);
    expect(bodyOf(admin).error).toMatchObject({ code: 'BODY_UNDECODABLE', issues: [{ path: 'body' }] });
    expect(bodyOf(admin).error.quarantineId).toBeUndefined();
  });
});

describe('logs and metrics', () => {
  it('log lines carry the API Gateway request id and no personal value; EMF counts the ingest', async () => {
    const email = `secret.person.${randomUUID()}@example.com`;
    const noisy = apiFunction(app, { env: { POWERTOOLS_LOG_LEVEL: 'INFO' } });
    const { lines } = await captureStdout(async () => {
      const ok = httpApiEvent(
        'apigw-http_no-auth',
        {
          method: 'POST',
          path: '/v1/identify',
          headers: { authorization: basic(creds.writeKey) },
          body: JSON.stringify({ userId: 'log-test', traits: { email } }),
        },
        'req-ok-1',
      );
      await noisy(ok);
      // a refused request is logged (with its route and status)
      await noisy(httpApiEvent('apigw-http_no-auth', { method: 'GET', path: '/v1/customers', query: { identifier: `email:${email}` } }, 'req-refused-1'));
    });
    const all = lines.join('\n');
    expect(all).not.toContain(email);
    expect(all).not.toContain('secret.person');
    expect(all).not.toContain(creds.writeKey);
    const logs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logs.some((l) => l.correlation_id === 'req-refused-1' && l.status === 401)).toBe(true);
    const emf = logs.filter((l) => '_aws' in l);
    expect(emf.length).toBeGreaterThanOrEqual(2);
    expect(emf.some((l) => l.ingest_accepted === 1 && l.service === 'c360-api')).toBe(true);
  });
});

describe('the entry point module (src/infrastructure/lambda/api.ts)', () => {
  it('builds its App from the environment once and serves requests, the OpenAPI document included', async () => {
    const own = credentials();
    for (const [k, v] of Object.entries({ ...memoryEnv('entry-tenant', own), POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' }))
      vi.stubEnv(k, v);
    try {
      const { handler: entry } = await import('../../src/infrastructure/lambda/api.js');
      const call = { type: 'identify', userId: 'entry-user', messageId: 'entry-1', traits: { email: 'entry@example.com' } };
      const ingest = (await entry(
        restEvent('apigw-rest_no-auth', { method: 'POST', path: '/v1/identify', headers: { authorization: basic(own.writeKey) }, body: JSON.stringify(call) }),
      )) as Result;
      expect(ingest.statusCode).toBe(200);
      const read = (await entry(
        httpApiEvent('apigw-http_no-auth', {
          method: 'GET',
          path: '/v1/customers',
          query: { identifier: 'email:entry@example.com' },
          headers: { authorization: bearer(own.adminToken) },
        }),
      )) as Result;
      expect(read.statusCode).toBe(200);
      // another tenant's admin token (this file's app) knows nothing of the entry point's App
      expect(
        (
          (await entry(
            httpApiEvent('apigw-http_no-auth', {
              method: 'GET',
              path: '/v1/customers',
              query: { identifier: 'email:entry@example.com' },
              headers: { authorization: bearer(creds.adminToken) },
            }),
          )) as Result
        ).statusCode,
      ).toBe(401);
      const doc = (await entry(httpApiEvent('apigw-http_no-auth', { method: 'GET', path: '/openapi.json' }))) as Result;
      expect(doc.statusCode).toBe(200);
      expect(Object.keys(bodyOf(doc).paths)).toContain('/v1/track');
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
