import { randomBytes } from 'node:crypto';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { syncIntake } from '../../src/application/ingest/intake.js';
import { StaticAuthenticator } from '../../src/adapters/config/static-credentials.js';
import { createHttpApp } from '../../src/adapters/http/app.js';
import { BATCH_BODY_DEPTH, MAX_JSON_DEPTH } from '../../src/adapters/http/body.js';
import { BATCH_LIMIT, BATCH_MAX_CALLS, CALL_LIMIT } from '../../src/adapters/http/routes/ingest.routes.js';
import { BODY_EXCERPT_BYTES } from '../../src/adapters/http/ingest-body.js';
import { ADMIN_TOKEN, ANONYMOUS_RATE, SLOW_RATE, SLOW_WRITE_KEY, startEdgeApi, WRITE_KEY, type EdgeApi } from '../support/http-edge-fixture.js';
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

  it(`takes a call ${MAX_JSON_DEPTH} levels deep in a batch as it takes one sent alone, and refuses one deeper either way`, async () => {
    // the call is level 1, properties 2, x 3: 62 arrays in x make 64
    const deepCall = (levels: number, i: number) => `{"type":"track","userId":"deep-${i}","event":"e","properties":{"x":${nested(levels)}}}`;
    expect((await api.post('/v1/track', deepCall(MAX_JSON_DEPTH - 2, 1))).status).toBe(200);
    const ok = await api.post('/v1/batch', `{"batch":[${deepCall(MAX_JSON_DEPTH - 2, 2)}]}`);
    expect([ok.status, ok.body.invalid]).toEqual([200, []]);
    expect((await api.post('/v1/track', deepCall(MAX_JSON_DEPTH - 1, 3))).body.error.code).toBe('NESTING_TOO_DEEP');
    const deep = await api.post('/v1/batch', `{"batch":[${deepCall(MAX_JSON_DEPTH - 1, 4)}]}`);
    expect([deep.status, deep.body.invalid]).toEqual([200, [expect.objectContaining({ index: 0, code: 'NESTING_TOO_DEEP' })]]);
    expect((await api.lookup('user_id:deep-4')).status).toBe(404);
  });

  it('refuses an over-deep call of a batch alone, listed by index with the others ingested, as an oversized call is; a body deeper than BATCH_BODY_DEPTH is refused whole', async () => {
    const before = api.quarantined().length;
    // 65 levels: the call, properties, x, then 62 more arrays
    const deep = `{"type":"track","userId":"deep-batch-1","event":"E","properties":{"x":${nested(MAX_JSON_DEPTH - 1)}}}`;
    const res = await api.post('/v1/batch', `{"batch":[{"type":"track","userId":"ok1","event":"E"},${deep},{"type":"track","userId":"ok2","event":"E"}]}`);
    expect(res.status, res.text).toBe(200);
    expect(res.body.invalid).toEqual([
      {
        index: 1,
        code: 'NESTING_TOO_DEEP',
        message: expect.stringContaining(`deeper than ${MAX_JSON_DEPTH} levels`),
        issues: [{ path: `properties.x${'[0]'.repeat(MAX_JSON_DEPTH - 2)}`, message: `nested deeper than ${MAX_JSON_DEPTH} levels` }],
      },
    ]);
    expect((await api.lookup('user_id:ok1')).status).toBe(200);
    expect((await api.lookup('user_id:ok2')).status).toBe(200);
    expect((await api.lookup('user_id:deep-batch-1')).status).toBe(404);
    // kept, whole, in the request's one entry
    expect(api.quarantined()).toHaveLength(before + 1);
    const entry = api.quarantined().at(-1)!;
    expect(entry.id).toBe(res.body.quarantineId);
    expect((entry.payload as { batch: unknown[] }).batch).toEqual([JSON.parse(deep)]);
    // the deepest call a batch body holds and still answers by index; one level more refuses the body
    const deepest = (n: number) => `{"type":"track","userId":"deep-batch-2","event":"E","properties":{"x":${nested(n)}}}`;
    const atBound = await api.post('/v1/batch', `{"batch":[{"type":"track","userId":"ok3","event":"E"},${deepest(BATCH_BODY_DEPTH - 4)}]}`);
    expect([atBound.status, atBound.body.invalid?.map((i: { index: number; code: string }) => [i.index, i.code])]).toEqual([200, [[1, 'NESTING_TOO_DEEP']]]);
    expect((await api.lookup('user_id:ok3')).status).toBe(200);
    const over = await api.post('/v1/batch', `{"batch":[{"type":"track","userId":"ok4","event":"E"},${deepest(BATCH_BODY_DEPTH - 3)}]}`);
    expect([over.status, over.body.error.code]).toEqual([400, 'NESTING_TOO_DEEP']);
    expect((await api.lookup('user_id:ok4')).status).toBe(404);
  });

  it('refuses it on every ingest route and on the JSON routes of the API', async () => {
    for (const type of ['identify', 'page', 'screen', 'group', 'alias']) {
      const res = await api.post(`/v1/${type}`, `{"userId":"deep","traits":${nested(5_000)}}`);
      expect([type, res.status, res.body.error.code]).toEqual([type, 400, 'NESTING_TOO_DEEP']);
    }
    const batch = await api.post('/v1/batch', `{"batch":[{"type":"track","userId":"deep","event":"e","properties":{"x":${nested(100_000)}}}]}`);
    expect(batch.status).toBe(400);
    // a batch body as a whole may be BATCH_BODY_DEPTH deep (each call is held to 64 levels by itself, refused alone)
    expect(batch.body.error).toMatchObject({ code: 'NESTING_TOO_DEEP', issues: [{ path: `batch[0].properties.x${'[0]'.repeat(BATCH_BODY_DEPTH - 4)}` }] });
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
    // each says why in the server's words, as a call sent alone is told
    expect(res.body.invalid[0].message).toBe('invalid Segment call: type: type is required: one of identify, track, page, screen, alias, group');
    expect(res.body.invalid[7].message).toMatch(/^the call is larger than Segment's limit of 32 KB per call/);
    // a few hundred bytes a call at most (a message of at most 300 characters, 3 issues): a thousand
    // refusals stay under the 500 KB a batch may be
    expect(res.text.length).toBeLessThan(300 * BATCH_MAX_CALLS);
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
    // a refusal by the core says why too, not only its code
    expect(res.body.invalid[1].message).toBe('every identifier of this call was rejected, so it cannot be attributed to a customer');
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

  it('answers a made-up cursor of the right shape, or an edited one, with 400 naming cursor: a cursor carries a check of its position', async () => {
    for (let i = 0; i < 3; i++) await api.post('/v1/track', { userId: 'u-cursor', event: `E${i}` });
    const customerId = (await api.lookup('user_id:u-cursor')).body.customerId as string;
    const first = await api.admin(`/v1/customers/${customerId}/timeline?limit=1`);
    expect(first.status).toBe(200);
    const next = first.body.next as string;
    expect((await api.admin(`/v1/customers/${customerId}/timeline?limit=1&cursor=${next}`)).body.items).toHaveLength(1);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const [, check] = next.split('.');
    const madeUp = [
      b64({ t: 'x', e: 'y' }),
      `${b64({ t: 'x', e: 'y' })}.${check}`,
      `${b64({ t: '9999-01-01T00:00:00.000Z', e: 'zzz' })}.AAAAAAAAAAAAAAAA`,
      next.slice(0, -1),
      `${next}x`,
    ];
    for (const cursor of madeUp) {
      const res = await api.admin(`/v1/customers/${customerId}/timeline?limit=1&cursor=${cursor}`);
      expect([cursor, res.status, res.body.error?.issues]).toEqual([cursor, 400, [{ path: 'cursor', message: 'invalid cursor' }]]);
    }
    // the erasure ledger's cursor is one of ours too
    expect((await api.admin('/v1/admin/erasures?cursor=some-erasure-id')).body.error.issues).toEqual([{ path: 'cursor', message: 'invalid cursor' }]);
    expect((await api.admin(`/v1/quarantine?cursor=${b64({ q: 'a' })}`)).status).toBe(400);
  });

  it('answers a query parameter given more than once with 400 naming it, also one the route does not read and on a route without parameters', async () => {
    await api.post('/v1/identify', { userId: 'u-repeated-unknown' });
    const customerId = (await api.lookup('user_id:u-repeated-unknown')).body.customerId as string;
    for (const path of [
      `/v1/customers/${customerId}/export?x=1&x=2`,
      `/v1/customers/${customerId}/explain?x=1&x=2`,
      `/v1/customers/${customerId}/timeline?limit=1&x=1&x=2`,
      `/v1/customers/${customerId}?x=1&x=2`,
      '/v1/admin/erasures?x=1&x=2',
      `/v1/customers/${customerId}/matches?x=1&x=2`,
      `/v1/customers/${customerId}/engagements?x=1&x=2`,
      '/v1/customers?identifier=user_id:u-repeated-unknown&x=1&x=2',
      '/v1/quarantine?x=1&x=2',
      '/v1/admin/audit?x=1&x=2',
    ]) {
      const res = await api.admin(path);
      expect([path, res.status, res.body.error?.issues]).toEqual([path, 400, [{ path: 'x', message: 'given 2 times; give it once' }]]);
    }
    // given once, an unknown one is left alone as before
    expect((await api.admin(`/v1/customers/${customerId}/export?x=1`)).status).toBe(200);
  });

  it('answers a query parameter given more than once with 400 naming it as repeated, on every route that reads the query', async () => {
    await api.post('/v1/identify', { userId: 'u-repeated-query' });
    const customerId = (await api.lookup('user_id:u-repeated-query')).body.customerId as string;
    const cases: [string, string, number][] = [
      [`/v1/customers/${customerId}/timeline?limit=1&limit=2`, 'limit', 2],
      [`/v1/customers/${customerId}?minVersion=1&minVersion=2&minVersion=3`, 'minVersion', 3],
      ['/v1/customers?identifier=user_id:a&identifier=user_id:b', 'identifier', 2],
      ['/v1/quarantine?status=pending&status=pending', 'status', 2],
      ['/v1/admin/audit?cursor=a&cursor=b', 'cursor', 2],
    ];
    for (const [path, name, times] of cases) {
      const res = await api.admin(path);
      expect([path, res.status, res.body.error.code]).toEqual([path, 400, 'VALIDATION_FAILED']);
      expect(res.body.error.issues).toEqual([{ path: name, message: `given ${times} times; give it once` }]);
      expect(res.body.error.message).toBe(`invalid query parameters: ${name}: given ${times} times; give it once`);
    }
    // another parameter's own problem is still told as it was
    const both = await api.admin('/v1/quarantine?limit=1&limit=2&status=nope');
    expect(both.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['limit', 'status']);
    expect(both.body.error.issues.find((i: { path: string }) => i.path === 'limit').message).toBe('given 2 times; give it once');
    // given once, each is taken as before
    expect((await api.admin(`/v1/customers/${customerId}/timeline?limit=1`)).status).toBe(200);
  });

  it('answers a valid write key on a read or admin route 403 (a credential without the scope), an unknown one 401', async () => {
    const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
    for (const path of ['/v1/customers?identifier=email:a@example.com', '/v1/quarantine', '/v1/analytics/churn-risk']) {
      const known = await api.request(path, { headers: { authorization: basic(WRITE_KEY) } });
      expect(known.status, path).toBe(403);
      expect(known.body.error.code).toBe('FORBIDDEN');
      expect(known.body.error.message).toMatch(/^write key \S+ only sends events; this route needs a bearer token with the "(read|admin)" scope$/);
      const unknown = await api.request(path, { headers: { authorization: basic('wk-nobody-knows-0123456789') } });
      expect(unknown.status, path).toBe(401);
      expect(unknown.body.error.code).toBe('UNAUTHORIZED');
    }
  });

  it('takes an empty JSON body where the body is optional (restriction) and names the fields where it is not, never a bare "Malformed JSON"', async () => {
    await api.post('/v1/identify', { userId: 'u-empty-body', traits: { plan: 'free' } });
    const customerId = (await api.lookup('user_id:u-empty-body')).body.customerId as string;
    const restricted = await api.admin(`/v1/customers/${customerId}/restriction`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '',
    });
    expect(restricted.status, restricted.text).toBe(200);
    const merge = await api.admin(`/v1/customers/${customerId}/merge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' });
    expect(merge.status, merge.text).toBe(400);
    expect(merge.body.error.issues.length).toBeGreaterThan(0);
    expect(merge.body.error.message).not.toMatch(/Malformed JSON/);
  });

  it('takes a JSON request with no body at all (no Content-Length, as curl -X POST sends it) as no body where the body is optional', async () => {
    await api.post('/v1/identify', { userId: 'u-no-body', traits: { plan: 'free' } });
    const customerId = (await api.lookup('user_id:u-no-body')).body.customerId as string;
    const bodiless = (method: string, path: string) =>
      api.rawHttp(
        `${method} ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n`,
      );
    const restricted = await bodiless('POST', `/v1/customers/${customerId}/restriction`);
    expect([restricted.status, restricted.body]).toEqual([200, expect.stringContaining('"restricted":true')]);
    const lifted = await bodiless('DELETE', `/v1/customers/${customerId}/restriction`);
    expect([lifted.status, lifted.body]).toEqual([200, expect.stringContaining('"restricted":false')]);
    // a route whose body is required still refuses it, naming what it lacks
    const merge = await bodiless('POST', `/v1/customers/${customerId}/merge`);
    expect(merge.status).toBe(400);
    expect(merge.body).toMatch(/"code":"VALIDATION_FAILED"/);
    expect(merge.body).not.toMatch(/Malformed JSON/);
    // erasure's body is optional too
    const erased = await bodiless('DELETE', `/v1/customers/${customerId}`);
    expect([erased.status, erased.body]).toEqual([200, expect.stringContaining('"erasureId"')]);
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
    expect(res.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', issues: [{ path: 'body' }] });
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

describe('bodies refused before they are parsed', () => {
  beforeEach(() => api.clock.advance(60_000));

  type Held = {
    id: string;
    reason: { code: string; issues: { path: string }[] };
    payload: { bytes: number; kept: number; text?: string; base64?: string; contentEncoding?: string };
  };
  const heldFor = (quarantineId: string): Held => {
    const entry = api.quarantined().find((e) => e.id === quarantineId) as Held | undefined;
    expect(entry, `quarantine entry ${quarantineId}`).toBeDefined();
    return entry!;
  };
  const latin1 = (s: string) => Buffer.from(s, 'latin1');

  it('refuses bytes that are not UTF-8 with 400 BODY_NOT_UTF8 naming the byte, keeps them exactly in the quarantine, and merges no one', async () => {
    const jose = latin1('{"userId":"Jos\xe9","traits":{"email":"jose@example.com"}}');
    const other = latin1('{"userId":"Jos\xe8","traits":{"email":"other@example.com"}}');
    const ids: string[] = [];
    for (const body of [jose, other]) {
      const res = await api.post('/v1/identify', body);
      expect(res.status, res.text).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'BODY_NOT_UTF8', issues: [{ path: 'body', message: 'not UTF-8 at byte 14' }] });
      expect(res.body.error.message).toMatch(/byte 14 \(0xE[89]\)/);
      const held = heldFor(res.body.error.quarantineId);
      expect(held.reason.code).toBe('BODY_NOT_UTF8');
      // the exact bytes, and a readable text with U+FFFD where they are not UTF-8
      expect(Buffer.from(held.payload.base64!, 'base64').equals(body)).toBe(true);
      expect(held.payload).toMatchObject({ bytes: body.byteLength, kept: body.byteLength, text: body.toString('latin1').replace(/[\xe8\xe9]/, '\uFFFD') });
      ids.push(held.id);
    }
    expect(new Set(ids).size).toBe(2);
    // nothing reached the store: no customer for either name or email
    for (const identifier of ['user_id:Jos\uFFFD', 'email:jose@example.com', 'email:other@example.com'])
      expect((await api.lookup(identifier)).status).toBe(404);
    // the same names in UTF-8 are two customers
    const one = await api.post('/v1/identify', { userId: 'José', traits: { email: 'jose@example.com' } });
    const two = await api.post('/v1/identify', { userId: 'Josè', traits: { email: 'other@example.com' } });
    expect([one.status, two.status]).toEqual([200, 200]);
    expect(one.body.customerId).not.toBe(two.body.customerId);
    expect((await api.lookup('user_id:José')).body.customerId).toBe(one.body.customerId);
  });

  it('refuses them in a batch, gzipped, with the write key in the body, and on the JSON routes of the API (not quarantined there)', async () => {
    const batch = latin1(`{"writeKey":"${WRITE_KEY}","batch":[{"type":"track","userId":"M\xfcller","event":"Seen"}]}`);
    const viaBody = await api.request('/v1/batch', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip' },
      body: gzipSync(batch),
    });
    expect(viaBody.status, viaBody.text).toBe(400);
    expect(viaBody.body.error.code).toBe('BODY_NOT_UTF8');
    const held = heldFor(viaBody.body.error.quarantineId);
    // kept decoded, the write key masked byte for byte (the entry names its source)
    const kept = Buffer.from(held.payload.base64!, 'base64');
    expect(kept.equals(Buffer.from(batch.toString('latin1').replace(WRITE_KEY, '*'.repeat(WRITE_KEY.length)), 'latin1'))).toBe(true);
    expect(held.payload.text).not.toContain(WRITE_KEY);
    expect(held.payload.contentEncoding).toBeUndefined();
    // the same key written with JSON escapes vouches for the body all the same, and is masked as written
    const escapedKey = `\\u00${WRITE_KEY.charCodeAt(0).toString(16)}${WRITE_KEY.slice(1)}`;
    const escapedBatch = latin1(`{"write\\u004bey":"${escapedKey}","batch":[{"type":"track","userId":"M\xfcller","event":"Seen"}]}`);
    const viaEscaped = await api.request('/v1/batch', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: escapedBatch });
    expect(viaEscaped.body.error.code, viaEscaped.text).toBe('BODY_NOT_UTF8');
    const heldEscaped = Buffer.from(heldFor(viaEscaped.body.error.quarantineId).payload.base64!, 'base64').toString('latin1');
    expect(heldEscaped).toBe(escapedBatch.toString('latin1').replace(escapedKey, '*'.repeat(escapedKey.length)));
    const before = api.quarantined().length;
    const merge = await api.admin('/v1/customers/c-1/merge', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: latin1('{"otherId":"c-\xe9"}'),
    });
    expect(merge.status).toBe(400);
    expect(merge.body.error).toMatchObject({ code: 'BODY_NOT_UTF8', issues: [{ path: 'body' }] });
    expect(api.quarantined()).toHaveLength(before);
    // an escaped lone surrogate was refused before, and still is
    expect((await api.post('/v1/identify', '{"userId":"\\ud800"}')).status).toBe(400);
  });

  it('refuses a lone surrogate in any string of a JSON body with 400 BODY_NOT_UTF8 naming its path, quarantining ingest bodies', async () => {
    const before = api.quarantined().length;
    const cases: [string, string, string][] = [
      ['/v1/identify', '{"userId":"u-lone","traits":{"name":"x\\ud800y"}}', 'traits.name'],
      ['/v1/identify', '{"userId":"u-\\udc00"}', 'userId'],
      ['/v1/track', '{"userId":"u-lone","event":"e","properties":{"tags":["ok","\\udbff"]}}', 'properties.tags[1]'],
      [
        '/v1/batch',
        '{"batch":[{"type":"track","userId":"u-lone","event":"e"},{"type":"identify","userId":"u-lone","traits":{"a\\ud800":1}}]}',
        'batch[1].traits',
      ],
    ];
    for (const [path, body, at] of cases) {
      const res = await api.post(path, body);
      expect(res.status, `${path} ${body}`).toBe(400);
      expect(res.body.error.code).toBe('BODY_NOT_UTF8');
      expect(res.body.error.issues.map((i: { path: string }) => i.path)).toEqual([at]);
      expect(res.body.error.message).toMatch(/lone UTF-16 surrogate/);
      // kept as received: the escape, which is plain text
      const held = heldFor(res.body.error.quarantineId);
      expect(held.reason.code).toBe('BODY_NOT_UTF8');
      expect(held.payload as unknown).toBe(body);
    }
    expect(api.quarantined()).toHaveLength(before + cases.length);
    expect((await api.lookup('user_id:u-lone')).status).toBe(404);
    // a pair written as two escapes is one character, and well-formed
    expect((await api.post('/v1/identify', '{"userId":"u-pair","traits":{"name":"\\ud83d\\ude00"}}')).status).toBe(200);
    // the admin and API routes refuse it too (nothing quarantined there)
    const customerId = (await api.lookup('user_id:u-pair')).body.customerId as string;
    const consent = await api.admin(`/v1/customers/${customerId}/consents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"purpose":"\\ud800","status":"granted"}',
    });
    expect(consent.status, consent.text).toBe(400);
    expect(consent.body.error).toMatchObject({ code: 'BODY_NOT_UTF8', issues: [{ path: 'purpose', message: 'holds a lone surrogate' }] });
    expect(api.quarantined()).toHaveLength(before + cases.length);
  });

  it('refuses a number that overflows a double (1e400, -1e999) in any call with 400 naming each path, kept in the quarantine; in a batch, that call alone', async () => {
    const res = await api.post('/v1/track', '{"userId":"inf-2","event":"Score Computed","properties":{"score":1e400,"neg":-1e999}}');
    expect(res.status, res.text).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'properties.score must be a finite number; properties.neg must be a finite number',
      issues: [
        { path: 'properties.score', message: 'must be a finite number' },
        { path: 'properties.neg', message: 'must be a finite number' },
      ],
    });
    // kept as what it was (the quarantine's mark of a number that is not finite), not as null
    expect(heldFor(res.body.error.quarantineId)).toMatchObject({
      reason: { code: 'VALIDATION_FAILED' },
      payload: { properties: { score: { $nonFinite: 'Infinity' }, neg: { $nonFinite: '-Infinity' } } },
    });
    expect((await api.post('/v1/identify', '{"userId":"inf-3","traits":{"visits":[1,2e308,3]}}')).body.error.issues).toEqual([
      { path: 'traits.visits[1]', message: 'must be a finite number' },
    ]);
    const batch = await api.post(
      '/v1/batch',
      '{"batch":[{"type":"track","userId":"inf-4","event":"Ok"},{"type":"track","userId":"inf-4","event":"E","properties":{"score":1e400}}]}',
    );
    expect(batch.status, batch.text).toBe(200);
    expect(batch.body.invalid).toMatchObject([{ index: 1, code: 'VALIDATION_FAILED', issues: [{ path: 'properties.score' }] }]);
    expect((await api.lookup('user_id:inf-2')).status).toBe(404);
    expect((await api.lookup('user_id:inf-4')).status).toBe(200);
  });

  it('keeps oversized calls and batches as a bounded excerpt with their size, naming the body', async () => {
    const big = JSON.stringify({ batch: Array.from({ length: 40 }, (_, i) => call(i, { userId: `big-${i}`, properties: { pad: 'é'.repeat(10_000) } })) });
    const bytes = Buffer.byteLength(big);
    expect(bytes).toBeGreaterThan(BATCH_LIMIT);
    const batch = await api.post('/v1/batch', big);
    expect(batch.status).toBe(400);
    expect(batch.body.error).toMatchObject({ code: 'BODY_TOO_LARGE', issues: [{ path: 'body' }], quarantineId: expect.any(String) });
    const held = heldFor(batch.body.error.quarantineId).payload;
    // the first 64 KB, cut before a character the excerpt would split
    expect(held.bytes).toBe(bytes);
    expect(held.kept).toBeLessThanOrEqual(BODY_EXCERPT_BYTES);
    expect(held.kept).toBeGreaterThan(BODY_EXCERPT_BYTES - 4);
    expect(held.text).toBe(Buffer.from(big).subarray(0, held.kept).toString('utf8'));
    expect(held.base64).toBeUndefined();
    const over = JSON.stringify(call(1, { properties: { pad: 'x'.repeat(CALL_LIMIT) } }));
    const one = await api.post('/v1/track', over);
    expect(one.body.error).toMatchObject({ code: 'CALL_TOO_LARGE', issues: [{ path: 'body' }] });
    // under the excerpt's bound: kept whole
    expect(heldFor(one.body.error.quarantineId).payload).toEqual({ bytes: over.length, kept: over.length, text: over });
    // a gzip bomb: the excerpt is of the decoded body, the size at least the limit
    const bomb = await api.post('/v1/batch', gzipSync(JSON.stringify({ batch: [call(1, { properties: { pad: '0'.repeat(10 * 1024 * 1024) } })] })), {
      'content-encoding': 'gzip',
    });
    expect(bomb.status).toBe(413);
    const bombHeld = heldFor(bomb.body.error.quarantineId).payload;
    expect(bombHeld.bytes).toBeGreaterThan(BATCH_LIMIT);
    expect(bombHeld.kept).toBe(BODY_EXCERPT_BYTES);
    expect(bombHeld.text!.startsWith('{"batch":[{"type":"track"')).toBe(true);
  });

  it('reads at most the excerpt of a body that declares 20 MB, answers at once and closes the connection', async () => {
    const head = `{"userId":"huge","event":"Huge","properties":{"pad":"${'h'.repeat(100 * 1024)}`;
    const started = Date.now();
    const res = await api.rawHttp(
      `POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: ${api.basic(WRITE_KEY)}\r\nContent-Type: application/json\r\nContent-Length: ${20 * 1024 * 1024}\r\n\r\n${head}`,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(res.status).toBe(400);
    expect(res.headers).toMatch(/connection: close/i);
    const error = JSON.parse(res.body).error;
    expect(error).toMatchObject({ code: 'CALL_TOO_LARGE', issues: [{ path: 'body' }] });
    expect(error.message).toMatch(/its first 65536 bytes were kept in the quarantine/);
    expect(heldFor(error.quarantineId).payload).toEqual({ bytes: 20 * 1024 * 1024, kept: BODY_EXCERPT_BYTES, text: head.slice(0, BODY_EXCERPT_BYTES) });
  });

  it('does not hold the refusal of a body declaring too much (or in an unknown encoding) for bytes that come slowly', async () => {
    const started = Date.now();
    const slowHuge = await api.rawHttp(
      `POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: ${api.basic(WRITE_KEY)}\r\nContent-Length: ${20 * 1024 * 1024}\r\n\r\n{"userId":"slow-huge"`,
    );
    const slowUnknown = await api.rawHttp(
      `POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: ${api.basic(WRITE_KEY)}\r\nContent-Encoding: br\r\nContent-Length: 500\r\n\r\nabc`,
    );
    // the first bytes are waited for a second at most (HEAD_WAIT_MS), then kept as they are
    expect(Date.now() - started).toBeLessThan(4_500);
    expect([slowHuge.status, slowUnknown.status]).toEqual([400, 415]);
    expect(slowHuge.headers).toMatch(/connection: close/i);
    expect(heldFor(JSON.parse(slowHuge.body).error.quarantineId).payload).toEqual({ bytes: 20 * 1024 * 1024, kept: 21, text: '{"userId":"slow-huge"' });
    // in an encoding that is not decoded: its size and encoding only
    expect(heldFor(JSON.parse(slowUnknown.body).error.quarantineId).payload).toEqual({ bytes: 500, kept: 0, contentEncoding: 'br' });
  });

  it('keeps no bytes of a body still in an encoding (unknown, broken, or compressed and over the bound), and a body cut short with what arrived', async () => {
    const sent = JSON.stringify(call(1, { traits: { email: 'encoded@example.com' } }));
    const unknown = await api.post('/v1/track', sent, { 'content-encoding': 'br' });
    expect(unknown.status).toBe(415);
    expect(heldFor(unknown.body.error.quarantineId)).toMatchObject({
      reason: { code: 'UNSUPPORTED_MEDIA_TYPE', issues: [{ path: 'content-encoding' }] },
      payload: { bytes: sent.length, kept: 0, contentEncoding: 'br' },
    });
    const notGzip = await api.post('/v1/track', sent, { 'content-encoding': 'gzip' });
    expect(notGzip.body.error.code).toBe('BODY_UNDECODABLE');
    expect(heldFor(notGzip.body.error.quarantineId).payload).toEqual({ bytes: sent.length, kept: 0, contentEncoding: 'gzip' });
    // compressed, and over the bound before it is inflated: its bytes would hide the emails and the write key in them
    const calls = Array.from({ length: 700 }, (_, i) =>
      call(i, { userId: `gz-big-${i}`, traits: { email: `gz-big-${i}@example.com` }, properties: { r: randomBytes(1024).toString('base64') } }),
    );
    const gz = gzipSync(JSON.stringify({ writeKey: WRITE_KEY, batch: calls }));
    expect(gz.byteLength).toBeGreaterThan(BATCH_LIMIT);
    const big = await api.post('/v1/batch', gz, { 'content-encoding': 'gzip' });
    expect(big.status).toBe(400);
    expect(big.body.error).toMatchObject({ code: 'BODY_TOO_LARGE', issues: [{ path: 'body' }] });
    expect(big.body.error.message).toMatch(/only its size and Content-Encoding were kept/);
    expect(heldFor(big.body.error.quarantineId).payload).toEqual({ bytes: gz.byteLength, kept: 0, contentEncoding: 'gzip' });
    // cut short: the client half-closes; the entry holds the bytes that came and the declared size
    const before = api.quarantined().length;
    const cut = await api.rawHttp(
      `POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: ${api.basic(WRITE_KEY)}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"userId":"cut"`,
      { endAfterWrite: true },
    );
    expect(cut.status).toBe(400);
    // answered by the route that kept it, as every other refusal before the parse: with its quarantineId
    const answered = JSON.parse(cut.body).error;
    expect(answered).toMatchObject({ code: 'BODY_INCOMPLETE', issues: [{ path: 'content-length' }], quarantineId: expect.any(String) });
    expect(api.quarantined()).toHaveLength(before + 1);
    expect(heldFor(answered.quarantineId)).toMatchObject({ reason: { code: 'BODY_INCOMPLETE' }, payload: { bytes: 100, kept: 15, text: '{"userId":"cut"' } });
    // the connection is closed after the answer (the client sent its last byte)
    expect(cut.headers).toMatch(/connection: close/i);
  });

  it('quarantines nothing that no credential vouches for, nor what the JSON routes of the API refuse', async () => {
    const before = api.quarantined().length;
    const anonymous = await api.request('/v1/track', { method: 'POST', body: JSON.stringify(call(1, { properties: { pad: 'x'.repeat(CALL_LIMIT) } })) });
    expect(anonymous.status).toBe(400);
    expect(anonymous.body.error.code).toBe('CALL_TOO_LARGE');
    expect(anonymous.body.error.quarantineId).toBeUndefined();
    const wrongKey = await api.request('/v1/track', { method: 'POST', body: latin1(`{"writeKey":"not-a-key","userId":"\xe9"}`) });
    expect(wrongKey.status).toBe(401);
    const admin = await api.request('/v1/customers/c-1/merge', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ otherId: 'c-2', reason: 'r'.repeat(70 * 1024) }),
    });
    expect(admin.status).toBe(413);
    expect(admin.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', issues: [{ path: 'body' }] });
    expect(api.quarantined()).toHaveLength(before);
  });
});

describe('a client that stalls', () => {
  let slow: EdgeApi;
  beforeAll(async () => {
    slow = await startEdgeApi({ headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 });
  });
  afterAll(async () => {
    await slow?.close();
  });

  it('is answered 408 and disconnected in bounded time when its body stops short, and what arrived is quarantined', async () => {
    const started = Date.now();
    const res = await slow.rawHttp(
      `POST /v1/identify HTTP/1.1\r\nHost: x\r\nAuthorization: ${slow.basic(WRITE_KEY)}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"userId":"stalled"`,
    );
    const took = Date.now() - started;
    expect(res.status).toBe(408);
    expect(res.headers).toMatch(/connection: close/i);
    // answered by the route reading the body, as BODY_INCOMPLETE is: with the quarantineId of what arrived
    const answered = JSON.parse(res.body).error;
    expect(answered).toMatchObject({ code: 'REQUEST_TIMEOUT', issues: [{ path: 'body' }], quarantineId: expect.any(String) });
    expect(answered.message).toMatch(/its first 19 bytes were kept in the quarantine/);
    // the request timeout, plus at most the interval it is checked at
    expect(took).toBeGreaterThanOrEqual(1_900);
    expect(took).toBeLessThan(4_500);
    expect(slow.quarantined()).toHaveLength(1);
    expect(slow.quarantined()[0]).toMatchObject({
      id: answered.quarantineId,
      reason: { code: 'REQUEST_TIMEOUT', issues: [{ path: 'body' }] },
      payload: { bytes: 200, kept: 19, text: '{"userId":"stalled"' },
    });
    expect((await slow.request('/health')).status).toBe(200);
    // the client's doing: nothing logged as an error of ours
    expect(slow.logged.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('is answered 408 by the route of the API whose JSON body stops short, and nothing is kept off the ingest routes', async () => {
    const before = slow.quarantined().length;
    const res = await slow.rawHttp(
      `POST /v1/customers/c-1/merge HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"otherId":"c-2"`,
    );
    expect(res.status).toBe(408);
    expect(res.headers).toMatch(/connection: close/i);
    const answered = JSON.parse(res.body).error;
    expect(answered).toMatchObject({ code: 'REQUEST_TIMEOUT', issues: [{ path: 'body' }] });
    expect(answered.quarantineId).toBeUndefined();
    expect(slow.quarantined()).toHaveLength(before);
  });

  it('is answered 408 when its headers stop short', async () => {
    const started = Date.now();
    const res = await slow.rawHttp(`POST /v1/identify HTTP/1.1\r\nHost: x\r\nAuthorization: ${slow.basic(WRITE_KEY)}\r\n`);
    expect(res.status).toBe(408);
    expect(Date.now() - started).toBeLessThan(3_500);
  });
});
