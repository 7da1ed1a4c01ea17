import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { syncIntake } from '../../src/application/ingest/intake.js';
import { StaticAuthenticator } from '../../src/adapters/config/static-credentials.js';
import { createHttpApp } from '../../src/adapters/http/app.js';
import { MAX_JSON_DEPTH } from '../../src/adapters/http/body.js';
import { BATCH_LIMIT, BATCH_MAX_CALLS, CALL_LIMIT } from '../../src/adapters/http/routes/ingest.routes.js';
import { ANONYMOUS_RATE, SLOW_RATE, SLOW_WRITE_KEY, startEdgeApi, WRITE_KEY, type EdgeApi } from '../support/http-edge-fixture.js';
import { makeHarness } from '../support/harness.js';

// The edge of the HTTP API over real loopback HTTP on the in-memory store: nesting depth, batch
// size, rate limits per call and per address, encodings and content types, and what Node refuses
// before the app sees it. Every refusal is JSON with a code and the path it is about.

/** `n` arrays nested in one another */
const nested = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
const call = (i: number, extra: Record<string, unknown> = {}) => ({ type: 'track', userId: `edge-${i}`, event: 'Edge Tested', ...extra });

let api: EdgeApi;
beforeAll(async () => {
  api = await startEdgeApi();
});
afterAll(async () => {
  await api?.close();
});

describe('nesting depth', () => {
  it(`refuses a body nested deeper than ${MAX_JSON_DEPTH} with 400 naming the path, and keeps it in the quarantine as received`, async () => {
    const body = `{"userId":"deep","event":"Deep","properties":{"x":${nested(10_000)}}}`;
    expect(Buffer.byteLength(body)).toBeLessThan(CALL_LIMIT);
    const before = api.quarantined().length;
    const res = await api.post('/v1/track', body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('NESTING_TOO_DEEP');
    // the root is level 1, properties 2, x 3: the first array past the limit is 62 indexes into x
    expect(res.body.error.issues[0].path).toBe(`properties.x${'[0]'.repeat(MAX_JSON_DEPTH - 2)}`);
    const held = api.quarantined();
    expect(held).toHaveLength(before + 1);
    expect(held.at(-1)).toMatchObject({ id: res.body.error.quarantineId, reason: { code: 'NESTING_TOO_DEEP' }, payload: body });
    // the quarantine listing serves it (as the text received)
    const listed = await api.admin('/v1/quarantine?limit=500&payload=true');
    expect(listed.status).toBe(200);
    expect(listed.body.items.find((i: { id: string }) => i.id === res.body.error.quarantineId).payload).toBe(body);
  });

  it('refuses it on every ingest route and on the JSON routes of the API', async () => {
    for (const type of ['identify', 'page', 'screen', 'group', 'alias']) {
      const res = await api.post(`/v1/${type}`, `{"userId":"deep","traits":${nested(5_000)}}`);
      expect([type, res.status, res.body.error.code]).toEqual([type, 400, 'NESTING_TOO_DEEP']);
    }
    const batch = await api.post('/v1/batch', `{"batch":[{"type":"track","userId":"deep","event":"e","properties":{"x":${nested(100_000)}}}]}`);
    expect(batch.status).toBe(400);
    expect(batch.body.error).toMatchObject({ code: 'NESTING_TOO_DEEP', issues: [{ path: `batch[0].properties.x${'[0]'.repeat(MAX_JSON_DEPTH - 4)}` }] });
    const merge = await api.admin('/v1/customers/c-1/merge', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"otherId":${nested(20_000)}}`,
    });
    expect(merge.status).toBe(400);
    expect(merge.body.error).toMatchObject({ code: 'NESTING_TOO_DEEP', issues: [{ path: `otherId${'[0]'.repeat(MAX_JSON_DEPTH - 1)}` }] });
  });

  it(`accepts exactly ${MAX_JSON_DEPTH} levels, and every read of the call afterwards works`, async () => {
    const at = (levels: number) => `{"userId":"level-${levels}","event":"Level","properties":{"x":${nested(levels - 2)}}}`;
    expect((await api.post('/v1/track', at(MAX_JSON_DEPTH + 1))).body.error.code).toBe('NESTING_TOO_DEEP');
    expect((await api.post('/v1/track', at(MAX_JSON_DEPTH))).status).toBe(200);
    const found = await api.lookup(`user_id:level-${MAX_JSON_DEPTH}`);
    expect(found.status).toBe(200);
    expect((await api.admin(`/v1/customers/${found.body.customerId}/timeline`)).status).toBe(200);
    // brackets inside strings are text, not nesting
    expect((await api.post('/v1/track', { userId: 'brackets', event: 'e', properties: { s: '['.repeat(10_000), t: '"{\\' } })).status).toBe(200);
  });
});

describe('batch size', () => {
  it(`refuses more than ${BATCH_MAX_CALLS} calls in a batch with 400 naming batch, kept as ONE quarantine entry`, async () => {
    const before = api.quarantined().length;
    const res = await api.post('/v1/batch', { batch: Array.from({ length: BATCH_MAX_CALLS + 1 }, () => ({})) });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'TOO_MANY_CALLS', issues: [{ path: 'batch' }], quarantineId: expect.any(String) });
    expect(api.quarantined()).toHaveLength(before + 1);
  });

  it('answers a full batch of invalid calls briefly, by index with codes, and keeps them ALL in ONE quarantine entry', async () => {
    const calls: unknown[] = Array.from({ length: BATCH_MAX_CALLS }, () => ({}));
    calls[500] = call(500);
    calls[7] = call(7, { properties: { pad: 'p'.repeat(CALL_LIMIT) } });
    const body = JSON.stringify({ batch: calls });
    expect(body.length).toBeLessThan(BATCH_LIMIT);
    const before = api.quarantined().length;
    const res = await api.post('/v1/batch', body);
    expect(res.status).toBe(200);
    expect(res.body.invalid).toHaveLength(BATCH_MAX_CALLS - 1);
    expect(res.body.invalid.map((i: { index: number }) => i.index)).toEqual([...Array(BATCH_MAX_CALLS).keys()].filter((i) => i !== 500));
    expect(res.body.invalid[7]).toMatchObject({ index: 7, code: 'CALL_TOO_LARGE' });
    expect(res.body.invalid[0]).toMatchObject({ index: 0, code: 'VALIDATION_FAILED', issues: [expect.objectContaining({ path: expect.any(String) })] });
    // a few hundred bytes a call at most: a thousand refusals stay well under the batch they answer
    expect(res.text.length).toBeLessThan(200 * BATCH_MAX_CALLS);
    const held = api.quarantined();
    expect(held).toHaveLength(before + 1);
    const entry = held.at(-1)!;
    expect(entry.id).toBe(res.body.quarantineId);
    const payload = entry.payload as { batch: unknown[]; refused: { index: number; code: string }[] };
    expect(payload.batch).toEqual(calls.filter((_, i) => i !== 500));
    expect(payload.refused.map((r) => r.index)).toEqual(res.body.invalid.map((i: { index: number }) => i.index));
    expect((await api.lookup('user_id:edge-500')).status).toBe(200);
  });

  it('keeps the calls refused for their shape and those the core refuses in the ONE entry of the request, and replays it call by call', async () => {
    const before = api.quarantined().length;
    const blocked = (i: number) => ({ type: 'identify', userId: 'unknown', traits: { email: 'n/a', seq: i } });
    // 0: not a call (refused at the edge); 1, 3, 5: no usable identifier (refused by the core); 2, 4: accepted
    const calls = [{}, blocked(1), call(8_002), blocked(3), call(8_004), blocked(5)];
    const res = await api.post('/v1/batch', { batch: calls });
    expect(res.status).toBe(200);
    expect(res.body.invalid.map((i: { index: number; code: string }) => [i.index, i.code])).toEqual([
      [0, 'VALIDATION_FAILED'],
      [1, 'NO_USABLE_IDENTIFIER'],
      [3, 'NO_USABLE_IDENTIFIER'],
      [5, 'NO_USABLE_IDENTIFIER'],
    ]);
    const held = api.quarantined();
    expect(held).toHaveLength(before + 1);
    const entry = held.at(-1)!;
    expect(entry.id).toBe(res.body.quarantineId);
    expect(entry.reason.code).toBe('BATCH_CALLS_REFUSED');
    const payload = entry.payload as { batch: unknown[]; refused: { index: number; code: string }[] };
    expect(payload.refused.map((r) => [r.index, r.code])).toEqual(res.body.invalid.map((i: { index: number; code: string }) => [i.index, i.code]));
    expect(payload.batch).toEqual([calls[0], calls[1], calls[3], calls[5]]);
    expect((await api.lookup('user_id:edge-8002')).status).toBe(200);
    // refused again on replay: the answer names each call by its request index, and the entry stays pending
    const replay = await api.admin(`/v1/quarantine/${entry.id}/replay`, { method: 'POST' });
    expect(replay.status).toBe(422);
    expect(replay.body.error).toMatchObject({ code: 'REPLAY_REJECTED', cause: 'BATCH_CALLS_REFUSED' });
    expect([...new Set(replay.body.error.issues.map((i: { path: string }) => i.path.replace(/\].*/, ']')))]).toEqual([
      'batch[0]',
      'batch[1]',
      'batch[3]',
      'batch[5]',
    ]);
    expect(api.quarantined().find((e) => e.id === entry.id)).toMatchObject({ status: 'pending' });
  });

  it('counts every call of a batch against the rate limit of its credential', async () => {
    // a full bucket holds two seconds' worth; a batch of that many empties it
    const batch = Array.from({ length: SLOW_RATE * 2 }, (_, i) => call(1_000 + i));
    const full = await api.post('/v1/batch', { batch }, {}, SLOW_WRITE_KEY);
    expect(full.status).toBe(200);
    const next = await api.post('/v1/track', call(2_000), {}, SLOW_WRITE_KEY);
    expect(next.status).toBe(429);
    expect(next.body.error.code).toBe('RATE_LIMITED');
    expect(Number(next.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    api.clock.advance(1_000);
    expect((await api.post('/v1/track', call(2_001), {}, SLOW_WRITE_KEY)).status).toBe(200);
    // a batch larger than the bucket passes when it is full and leaves it in debt
    api.clock.advance(10_000);
    expect((await api.post('/v1/batch', { batch: Array.from({ length: SLOW_RATE * 3 }, (_, i) => call(3_000 + i)) }, {}, SLOW_WRITE_KEY)).status).toBe(200);
    // 50 tokens in debt: half a second refills 25, not enough for one more call
    api.clock.advance(500);
    expect((await api.post('/v1/track', call(4_000), {}, SLOW_WRITE_KEY)).status).toBe(429);
    api.clock.advance(1_100);
    expect((await api.post('/v1/track', call(4_001), {}, SLOW_WRITE_KEY)).status).toBe(200);
  });
});

describe('request ids', () => {
  it('answers every response, accepted or refused, with X-Request-Id, echoing a well-formed one', async () => {
    api.clock.advance(60_000);
    const answers = [
      await api.post('/v1/track', call(1)),
      await api.post('/v1/track', '{"userId":'),
      await api.post('/v1/track', call(2), {}, 'not-a-key'),
      await api.admin('/v1/nothing'),
      await api.admin('/v1/customers/c-1/timeline?limit=0'),
      await api.admin('/v1/quarantine?limit=1'),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 400, 401, 404, 400, 200]);
    for (const a of answers) expect(a.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(answers.map((a) => a.headers.get('x-request-id'))).size).toBe(answers.length);
    const given = await api.post('/v1/track', call(3), { 'x-request-id': 'client-req.42' });
    expect(given.headers.get('x-request-id')).toBe('client-req.42');
    const refused = await api.post('/v1/track', '[', { 'x-request-id': 'client-req.43' });
    expect([refused.status, refused.headers.get('x-request-id')]).toEqual([400, 'client-req.43']);
  });
});

describe('refusals the client causes', () => {
  it('answers a cursor the API never handed out with 400 naming cursor', async () => {
    // zzz; a JSON string; an id with a space
    for (const path of ['/v1/quarantine?cursor=zzz', '/v1/quarantine?cursor=Ingi', '/v1/quarantine?cursor=eyJxIjoiYSBiIn0', '/v1/admin/audit?cursor=zzz']) {
      const res = await api.admin(path);
      expect([path, res.status, res.body.error.issues[0].path]).toEqual([path, 400, 'cursor']);
    }
  });

  it('answers a body shorter than its Content-Length with 400 JSON, and logs no error', async () => {
    const errorsBefore = api.logged.filter((l) => l.level === 'error').length;
    const res = await api.rawHttp(
      `POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: ${api.basic(WRITE_KEY)}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"userId":`,
      { endAfterWrite: true },
    );
    expect(res.status).toBe(400);
    expect(res.headers).toMatch(/content-type: application\/json/i);
    expect(JSON.parse(res.body).error).toMatchObject({ code: 'BODY_INCOMPLETE', issues: [{ path: 'content-length' }] });
    expect(api.logged.filter((l) => l.level === 'error')).toHaveLength(errorsBefore);
  });

  it('answers headers over the limit with 431 JSON', async () => {
    const res = await api.rawHttp(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20 * 1024)}\r\n\r\n`);
    expect(res.status).toBe(431);
    expect(res.headers).toMatch(/content-type: application\/json/i);
    expect(JSON.parse(res.body).error.code).toBe('HEADERS_TOO_LARGE');
    expect((await api.request('/health')).status).toBe(200);
  });

  it('says a route has no trailing slash instead of "GET is not allowed; use GET"', async () => {
    const res = await api.admin('/v1/admin/audit/');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
    expect(res.body.error.message).toMatch(/\/v1\/admin\/audit, without the trailing slash/);
    expect((await api.admin('/v1/admin/audit')).status).toBe(200);
    const wrongMethod = await api.admin('/v1/admin/audit', { method: 'DELETE' });
    expect([wrongMethod.status, wrongMethod.headers.get('allow')]).toEqual([405, 'GET']);
  });

  it('limits requests without a valid credential per client address, and never those with one', async () => {
    // a fresh bucket per test clock position: let any earlier refusals refill
    api.clock.advance(60_000);
    const statuses: number[] = [];
    for (let i = 0; i < ANONYMOUS_RATE * 2 + 1; i++) {
      const res = i % 2 ? await api.request('/v1/customers/c-1') : await api.post('/v1/track', call(i), {}, 'not-a-key');
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.body.error.code).toBe('RATE_LIMITED');
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
    }
    expect(statuses).toEqual([...Array(ANONYMOUS_RATE * 2).fill(401), 429]);
    // a body writeKey is no help once the address is over its limit: refused before the body is read
    expect((await api.request('/v1/track', { method: 'POST', body: JSON.stringify({ ...call(9), writeKey: WRITE_KEY }) })).status).toBe(429);
    // the address limit is not the credential's: valid credentials from the same address pass
    expect((await api.admin('/v1/quarantine?limit=1')).status).toBe(200);
    expect((await api.post('/v1/track', call(10))).status).toBe(200);
    api.clock.advance(1_000);
    expect((await api.request('/v1/customers/c-1')).status).toBe(401);
  });
});

describe('client address on API Gateway', () => {
  it("limits requests without a credential by the event's sourceIp (REST and HTTP APIs), never by X-Forwarded-For", async () => {
    const h = makeHarness();
    const app = createHttpApp({
      core: h.core,
      intake: syncIntake(h.core.ingest),
      sourceOf: () => h.web,
      metrics: h.ports.metrics,
      auth: new StaticAuthenticator([]),
      now: () => 0,
      anonymousRateLimitPerSecond: 1,
    });
    // what hono/aws-lambda hands the app as its env: the event's requestContext
    const httpApi = (ip: string) => ({ requestContext: { http: { sourceIp: ip } } });
    const restApi = (ip: string) => ({ requestContext: { identity: { sourceIp: ip } } });
    const get = async (env: object, headers: Record<string, string> = {}) => (await app.request('/v1/customers/c-1', { headers }, env)).status;
    // a bucket holds two seconds' worth: two refusals, then 429
    expect([await get(httpApi('203.0.113.7')), await get(httpApi('203.0.113.7')), await get(httpApi('203.0.113.7'))]).toEqual([401, 401, 429]);
    // a header naming another address changes nothing
    expect(await get(httpApi('203.0.113.7'), { 'x-forwarded-for': '198.51.100.1' })).toBe(429);
    expect([await get(restApi('198.51.100.9')), await get(restApi('198.51.100.9')), await get(restApi('198.51.100.9'))]).toEqual([401, 401, 429]);
    expect(await get(httpApi('192.0.2.44'))).toBe(401);
  });
});

describe('encodings and content types of real senders', () => {
  beforeEach(() => api.clock.advance(60_000));

  it('decodes a gzip batch sent as application/x-www-form-urlencoded (rudder-sdk-node)', async () => {
    const body = gzipSync(JSON.stringify({ batch: [call(1, { userId: 'gz-1' }), call(2, { userId: 'gz-2' })] }));
    const res = await api.post('/v1/batch', body, { 'content-encoding': 'gzip', 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, invalid: [] });
    expect((await api.lookup('user_id:gz-2')).status).toBe(200);
  });

  it('decodes deflate, zlib-wrapped or raw', async () => {
    for (const [i, deflate] of [deflateSync, deflateRawSync].entries()) {
      const res = await api.post('/v1/identify', deflate(JSON.stringify({ userId: `deflate-${i}`, traits: { plan: 'x' } })), { 'content-encoding': 'deflate' });
      expect(res.status).toBe(200);
      expect((await api.lookup(`user_id:deflate-${i}`)).status).toBe(200);
    }
  });

  it('takes JSON sent as text/plain with the write key in the body (navigator.sendBeacon)', async () => {
    const res = await api.request('/v1/track', {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      body: JSON.stringify({ ...call(1, { userId: 'beacon-1' }), writeKey: WRITE_KEY }),
    });
    expect(res.status).toBe(200);
    expect((await api.lookup('user_id:beacon-1')).status).toBe(200);
  });

  it('applies the size limits to the decoded body: a gzip bomb is refused with 413', async () => {
    const bomb = gzipSync(JSON.stringify({ batch: [call(1, { properties: { pad: '0'.repeat(10 * 1024 * 1024) } })] }));
    expect(bomb.byteLength).toBeLessThan(BATCH_LIMIT);
    const res = await api.post('/v1/batch', bomb, { 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', issues: [{ path: '(root)' }] });
    const call33k = gzipSync(JSON.stringify(call(1, { properties: { pad: '0'.repeat(CALL_LIMIT) } })));
    expect((await api.post('/v1/track', call33k, { 'content-encoding': 'gzip' })).status).toBe(413);
  });

  it('answers an unknown encoding with 415 and bytes that are not what they claim with 400', async () => {
    const unknown = await api.post('/v1/track', JSON.stringify(call(1)), { 'content-encoding': 'compress' });
    expect(unknown.status).toBe(415);
    expect(unknown.body.error).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', issues: [{ path: 'content-encoding' }] });
    const notGzip = await api.post('/v1/track', JSON.stringify(call(1)), { 'content-encoding': 'gzip' });
    expect(notGzip.status).toBe(400);
    expect(notGzip.body.error).toMatchObject({ code: 'BODY_UNDECODABLE', issues: [{ path: 'content-encoding' }] });
    const truncatedGzip = gzipSync(JSON.stringify(call(1))).subarray(0, 20);
    expect((await api.post('/v1/track', truncatedGzip, { 'content-encoding': 'gzip' })).status).toBe(400);
    expect((await api.request('/health')).status).toBe(200);
  });

  it('decodes the JSON routes of the API too, under their 64 KB limit', async () => {
    const res = await api.admin('/v1/customers/c-404/merge', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify({ otherId: 'c-405', reason: 'r'.repeat(200 * 1024) })),
    });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });
});
