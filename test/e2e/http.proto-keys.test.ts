import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdgeApi, type EdgeApi } from '../support/http-edge-fixture.js';

// A `__proto__` key in a call: JSON.parse keeps it as an own property, but the schema's record copy
// dropped it (or would make it a copy's prototype), so `identify` answered 200 and stored the
// traits without it. It is refused now, 400 naming the field path, and the call kept whole in the
// quarantine; in a batch that call alone is listed in `invalid`, the others ingested.

let api: EdgeApi;
beforeAll(async () => {
  api = await startEdgeApi();
});
afterAll(async () => {
  await api?.close();
});

/** the last quarantine entry's payload, with its __proto__ keys as own properties */
const lastHeld = () => api.quarantined().at(-1)!;

describe('a __proto__ key in a call', () => {
  it('refuses identify with traits.__proto__, naming the path, keeps it in the quarantine, and stores nothing', async () => {
    const before = api.quarantined().length;
    const res = await api.post('/v1/identify', '{"userId":"proto1","traits":{"__proto__":{"polluted":1},"constructor":{"a":1}}}');
    expect(res.status, res.text).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', issues: [{ path: 'traits.__proto__' }], quarantineId: expect.any(String) });
    expect(res.body.error.message).toContain('traits.__proto__');
    expect(api.quarantined()).toHaveLength(before + 1);
    const held = lastHeld();
    expect(held).toMatchObject({ id: res.body.error.quarantineId, reason: { code: 'VALIDATION_FAILED' } });
    const traits = (held.payload as { traits: object }).traits;
    expect(Object.hasOwn(traits, '__proto__')).toBe(true);
    expect(Object.keys(traits)).toEqual(['__proto__', 'constructor']);
    expect((await api.lookup('user_id:proto1')).status).toBe(404);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses track with properties.__proto__ and a nested one, naming each', async () => {
    const res = await api.post('/v1/track', '{"userId":"proto2","event":"E","properties":{"__proto__":{"x":1},"a":{"b":[{"__proto__":2}]}}}');
    expect(res.status, res.text).toBe(400);
    expect(res.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['properties.__proto__', 'properties.a.b[0].__proto__']);
    expect((await api.lookup('user_id:proto2')).status).toBe(404);
  });

  it('keeps constructor and prototype keys as data', async () => {
    const res = await api.post('/v1/identify', '{"userId":"proto3","traits":{"constructor":{"a":1},"prototype":"p"}}');
    expect(res.status, res.text).toBe(200);
    const view = await api.lookup('user_id:proto3');
    expect(view.body.traits).toMatchObject({ constructor: { value: { a: 1 } }, prototype: { value: 'p' } });
  });

  it('in a batch refuses that call alone (traits, properties, or the shared context), and ingests the rest', async () => {
    const before = api.quarantined().length;
    const body =
      '{"batch":[{"type":"track","userId":"proto-ok","event":"E"},' +
      '{"type":"identify","userId":"proto-b1","traits":{"__proto__":{"polluted":1}}},' +
      '{"type":"track","userId":"proto-b2","event":"E","properties":{"__proto__":1}}]}';
    const res = await api.post('/v1/batch', body);
    expect(res.status, res.text).toBe(200);
    expect(res.body.invalid).toMatchObject([
      { index: 1, code: 'VALIDATION_FAILED', issues: [{ path: 'traits.__proto__' }] },
      { index: 2, code: 'VALIDATION_FAILED', issues: [{ path: 'properties.__proto__' }] },
    ]);
    expect(api.quarantined()).toHaveLength(before + 1);
    expect((await api.lookup('user_id:proto-ok')).status).toBe(200);
    expect((await api.lookup('user_id:proto-b1')).status).toBe(404);
    expect((await api.lookup('user_id:proto-b2')).status).toBe(404);

    const shared = await api.post('/v1/batch', '{"context":{"__proto__":{"ip":"1.2.3.4"}},"batch":[{"type":"track","userId":"proto-c","event":"E"}]}');
    expect(shared.status, shared.text).toBe(200);
    expect(shared.body.invalid).toMatchObject([{ index: 0, code: 'VALIDATION_FAILED', issues: [{ path: 'context.__proto__' }] }]);
    expect((await api.lookup('user_id:proto-c')).status).toBe(404);
  });
});
