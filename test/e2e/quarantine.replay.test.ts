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

describe('DELETE /v1/customers/{id} and a batch entry shared with other people', () => {
  it("takes the erased customer's refused call out of the batch's entry and keeps the others' under the same id", async () => {
    const gina = await api.post('/v1/identify', { userId: 'gina-e2e', messageId: 'gina-e2e-id', traits: { email: 'gina-e2e@example.com' } });
    expect(gina.status).toBe(200);
    const hank = { type: 'track', userId: 'hank-e2e', messageId: 'hank-e2e-1', traits: { email: 'hank-e2e@example.com' } };
    const batch = await api.post('/v1/batch', {
      batch: [{ type: 'track', userId: 'gina-e2e', messageId: 'gina-e2e-1' }, hank, { type: 'identify', userId: 'ivy-e2e', messageId: 'ivy-e2e-1' }],
    });
    expect(batch.body.invalid.map((i: { index: number }) => i.index)).toEqual([0, 1]);
    const id = batch.body.quarantineId;

    const erased = await api.admin(`/v1/customers/${gina.body.customerId}`, { method: 'DELETE' });
    expect(erased.status).toBe(200);
    expect(erased.body.removed).toMatchObject({ quarantined: 0, quarantineRewritten: 1, quarantineCallsRemoved: 1 });
    const kept = await entry(id);
    expect(kept).toMatchObject({ status: 'pending', reason: { code: 'BATCH_CALLS_REFUSED', issues: [{ path: 'batch[1].event' }] } });
    expect(kept.payload.batch).toEqual([hank]);
    expect(JSON.stringify(kept)).not.toContain('gina-e2e');
  });
});

describe('POST /v1/batch sent again (an SDK retrying a batch whose answer it did not get)', () => {
  const count = async () => (await api.admin('/v1/quarantine?limit=500')).body.items.length;

  it('answers the same quarantineId for a batch of calls refused by their shape, and keeps no second entry', async () => {
    const body = '{"batch":[{"type":"track","userId":"bq-1","messageId":"bq-m1"}]}';
    const first = await api.post('/v1/batch', body);
    expect(first.status).toBe(200);
    expect(first.body.invalid).toMatchObject([{ index: 0, code: 'VALIDATION_FAILED' }]);
    const held = await count();
    const second = await api.post('/v1/batch', body);
    expect(second.body.quarantineId).toBe(first.body.quarantineId);
    expect(await count()).toBe(held);
  });

  it('answers the same quarantineId when the batch also holds calls stored or refused after validation, whatever its sentAt', async () => {
    const body = (sentAt: string) => ({
      sentAt,
      batch: [
        { type: 'track', userId: 'bq-2', messageId: 'bq-m2' },
        { type: 'identify', userId: 'bq-3', messageId: 'bq-m3' },
        { type: 'track', userId: 'bq-2', messageId: 'bq-m4', event: 'Order Completed', properties: { revenue: -5 } },
      ],
    });
    const first = await api.post('/v1/batch', body('2026-12-07T00:00:00.000Z'));
    expect(first.body.invalid.map((i: { index: number }) => i.index)).toEqual([0, 2]);
    const held = await count();
    const retried = await api.post('/v1/batch', body('2026-12-07T00:00:10.000Z'));
    expect(retried.body.quarantineId).toBe(first.body.quarantineId);
    expect(await count()).toBe(held);
    // another batch holding the same refused calls beside another call is another entry
    const other = await api.post('/v1/batch', { batch: [...body('x').batch, { type: 'identify', userId: 'bq-5', messageId: 'bq-m5' }] });
    expect(other.body.quarantineId).not.toBe(first.body.quarantineId);
  });
});
