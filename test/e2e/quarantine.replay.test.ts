import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_LIMIT } from '../../src/adapters/http/routes/ingest.routes.js';
import { startEdgeApi, type EdgeApi } from '../support/http-edge-fixture.js';

// The quarantine over HTTP, as a new user meets it: what GET /v1/quarantine?payload=true shows of a
// refused call, and what POST /v1/quarantine/{id}/replay does with entries that keep a call the
// sender has not fixed, or no call at all. Nothing is replayed into a changed call, and an entry
// that cannot be replayed says why and keeps its reason.

let api: EdgeApi;
beforeAll(async () => {
  api = await startEdgeApi();
});
afterAll(async () => {
  await api?.close();
});

const entry = async (id: string) => {
  const listed = await api.admin('/v1/quarantine?limit=500&payload=true');
  expect(listed.status).toBe(200);
  return listed.body.items.find((i: { id: string }) => i.id === id);
};
const replay = (id: string) => api.admin(`/v1/quarantine/${id}/replay`, { method: 'POST' });

describe('POST /v1/quarantine/{id}/replay', () => {
  it('shows an amount that overflowed (1e400) as {"$nonFinite": "Infinity"}, not null, and refuses its replay for the same reason', async () => {
    const res = await api.post('/v1/track', '{"userId":"u1","event":"Order Completed","properties":{"total":1e400,"currency":"USD"}}');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', issues: [{ path: 'properties.total' }] });
    const id = res.body.error.quarantineId;
    expect((await entry(id)).payload.properties.total).toEqual({ $nonFinite: 'Infinity' });
    const again = await replay(id);
    expect(again.status).toBe(422);
    expect(again.body.error).toMatchObject({ code: 'REPLAY_REJECTED', cause: 'VALIDATION_FAILED', issues: [{ path: 'properties.total' }] });
    expect(await entry(id)).toMatchObject({ status: 'pending', reason: { code: 'VALIDATION_FAILED' } });
    expect((await api.lookup('user_id:u1')).status).toBe(404);
  });

  it('refuses to replay the excerpt of a body refused as too large, saying why; the entry keeps CALL_TOO_LARGE', async () => {
    const big = JSON.stringify({ userId: 'u-big', event: 'Big', properties: { pad: 'x'.repeat(CALL_LIMIT * 2) } });
    const res = await api.post('/v1/track', big);
    expect(res.body.error.code).toBe('CALL_TOO_LARGE');
    const id = res.body.error.quarantineId;
    const again = await replay(id);
    expect(again.status).toBe(422);
    expect(again.body.error).toMatchObject({ code: 'REPLAY_REJECTED', cause: 'NOT_REPLAYABLE' });
    expect(again.body.error.message).toMatch(
      new RegExp(
        `^NOT_REPLAYABLE: this entry keeps an excerpt \\(the first [\\d,]+ bytes\\) of a ${big.length.toLocaleString('en-US')}-byte body refused as CALL_TOO_LARGE`,
      ),
    );
    expect(again.body.error.message).toMatch(/it cannot be replayed/);
    expect(await entry(id)).toMatchObject({ status: 'pending', intake: 'body', reason: { code: 'CALL_TOO_LARGE', issues: [{ path: 'body' }] } });
  });

  it('refuses to replay a body that is not JSON, a refused interest capture and a refused batch body, each naming its own reason', async () => {
    const malformed = await api.post('/v1/identify', '{"userId": "u-x",');
    const interest = await api.post('/v1/interests', { customerId: 'u-i' });
    const batch = await api.post('/v1/batch', { batch: 'not an array' });
    expect([malformed.body.error.code, interest.body.error.code, batch.body.error.code]).toEqual(['MALFORMED_JSON', 'VALIDATION_FAILED', 'VALIDATION_FAILED']);
    const answers = [];
    for (const res of [malformed, interest, batch]) {
      const again = await replay(res.body.error.quarantineId);
      expect(again.status).toBe(422);
      expect(again.body.error.cause).toBe('NOT_REPLAYABLE');
      answers.push(again.body.error.message);
    }
    expect(answers[0]).toMatch(/the text of a body or line refused as MALFORMED_JSON/);
    expect(answers[1]).toMatch(/a \/v1\/interests body refused as VALIDATION_FAILED \(invalid interest: interest: /);
    expect(answers[2]).toMatch(/a whole \/v1\/batch body refused as VALIDATION_FAILED/);
    for (const res of [malformed, interest, batch]) expect((await entry(res.body.error.quarantineId)).status).toBe('pending');
  });
});
