import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncIntake } from '../../src/application/ingest/intake.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { at, startApi, type Api, type HttpBackend } from '../support/http-fixture.js';

// The JSON bodies of the admin and API routes are strict over real loopback HTTP: a field a route
// does not take is a 400 naming it (with the field it most likely misspells), never silently
// dropped. A dropped `operationID` made a retried consent a second consent event.

let h: Harness;
const backend = async (): Promise<HttpBackend> => {
  h = makeHarness();
  return { core: h.core, intake: syncIntake(h.core.ingest), sourceOf: (_t, name) => ({ name, priority: 0, channel: 'web' }), metrics: h.ports.metrics };
};

describe('strict request bodies over HTTP', () => {
  let api: Api;
  let ada: string;
  let bob: string;
  const post = (path: string, json: unknown) => api.request('POST', path, { token: api.keys.acmeAdmin, json });
  const smsHistory = async (id: string) =>
    ((await api.request('GET', `/v1/customers/${id}/export`, { token: api.keys.acmeAdmin })).body.consents.history as { purpose: string }[]).filter(
      (c) => c.purpose === 'sms',
    );

  beforeAll(async () => {
    api = await startApi(backend);
    h.clock.advance(24 * 3_600_000);
    expect((await api.send('identify', { userId: 'strict-ada', timestamp: at(1), traits: { email: 'ada@example.com' } })).status).toBe(200);
    expect((await api.send('identify', { userId: 'strict-bob', timestamp: at(2), traits: { email: 'bob@example.com' } })).status).toBe(200);
    ada = (await api.lookup('user_id:strict-ada')).body.customerId;
    bob = (await api.lookup('user_id:strict-bob')).body.customerId;
  });
  afterAll(async () => {
    await api?.close();
  });

  it('refuses a consent dated before 2000 (a mistyped year, 0026 for 2026) with 400 naming at, and writes nothing', async () => {
    // bob: the other tests here count ada's sms decisions
    const res = await post(`/v1/customers/${bob}/consents`, { purpose: 'sms', status: 'withdrawn', at: '0026-12-06T00:00:00Z' });
    expect(res.status, res.text).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', issues: [{ path: 'at' }] });
    expect(res.body.error.message).toContain('before 2000-01-01T00:00:00.000Z');
    expect(await smsHistory(bob)).toEqual([]);
  });

  it('refuses a misspelled operationId on a consent, naming it, and writes nothing; the right spelling deduplicates the retry', async () => {
    const misspelled = { purpose: 'sms', status: 'withdrawn', operationID: 'op-1' };
    for (let i = 0; i < 2; i++) {
      const res = await post(`/v1/customers/${ada}/consents`, misspelled);
      expect(res.status, res.text).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.issues).toEqual([{ path: 'operationID', message: 'unknown field; did you mean operationId?' }]);
      expect(res.body.error.message).toContain('operationID: unknown field; did you mean operationId?');
    }
    expect(await smsHistory(ada)).toEqual([]);

    const first = await post(`/v1/customers/${ada}/consents`, { purpose: 'sms', status: 'withdrawn', operationId: 'op-1' });
    const retry = await post(`/v1/customers/${ada}/consents`, { purpose: 'sms', status: 'withdrawn', operationId: 'op-1' });
    expect([first.status, retry.status]).toEqual([200, 200]);
    expect([first.body.duplicate, retry.body.duplicate]).toEqual([false, true]);
    expect(await smsHistory(ada)).toHaveLength(1);
  });

  it('names an unknown field with no close match by the fields the route takes', async () => {
    const res = await post(`/v1/customers/${ada}/consents`, { purpose: 'email', status: 'granted', bogus: 1 });
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toEqual([{ path: 'bogus', message: 'unknown field; the fields are purpose, status, at, source, operationId' }]);
  });

  it('refuses "forse" on a merge and leaves both customers apart', async () => {
    const res = await post(`/v1/customers/${ada}/merge`, { otherId: bob, forse: true });
    expect(res.status, res.text).toBe(400);
    expect(res.body.error.issues).toEqual([{ path: 'forse', message: 'unknown field; did you mean force?' }]);
    expect((await api.lookup('user_id:strict-bob')).body.customerId).toBe(bob);
  });

  it('is strict on every other admin and API JSON body, and still takes the right fields', async () => {
    const cases: [string, Record<string, unknown>, string, string][] = [
      [`/v1/customers/${ada}/unmerge`, { mergeId: 'm-1', reasons: 'x' }, 'reasons', 'did you mean reason?'],
      [`/v1/customers/${ada}/matches/accept`, { otherId: bob, operation_id: 'x' }, 'operation_id', 'did you mean operationId?'],
      [`/v1/customers/${ada}/matches/reject`, { otherId: bob, force: true }, 'force', 'the fields are otherId'],
      [`/v1/customers/${ada}/restriction`, { reson: 'art18' }, 'reson', 'did you mean reason?'],
    ];
    for (const [path, json, field, hint] of cases) {
      const res = await post(path, json);
      expect(res.status, `${path} ${res.text}`).toBe(400);
      expect(res.body.error.issues).toEqual([{ path: field, message: `unknown field; ${hint}` }]);
    }
    const del = await api.request('DELETE', `/v1/customers/${ada}/restriction`, { token: api.keys.acmeAdmin, json: { reason: 'art18', extra: 1 } });
    expect(del.status).toBe(400);
    expect(del.body.error.issues[0].path).toBe('extra');
    // a body without a stray field, and the restriction's optional body left out, still work
    expect((await post(`/v1/customers/${ada}/restriction`, { reason: 'art18' })).status).toBe(200);
    expect((await api.request('DELETE', `/v1/customers/${ada}/restriction`, { token: api.keys.acmeAdmin })).status).toBe(200);
    const merged = await post(`/v1/customers/${ada}/merge`, { otherId: bob, force: true, reason: 'same person', operationId: 'merge-1' });
    expect(merged.status, merged.text).toBe(200);
    expect(merged.body.survivorId).toBeDefined();
  });

  it('takes an erasure reason from a strict JSON body as from the query, validated alike, and erases nothing on a bad one', async () => {
    expect((await api.send('identify', { userId: 'strict-eve', timestamp: at(3), traits: { email: 'eve@example.com' } })).status).toBe(200);
    const eve = (await api.lookup('user_id:strict-eve')).body.customerId as string;
    const erase = (json: unknown, query = '') => api.request('DELETE', `/v1/customers/${eve}${query}`, { token: api.keys.acmeAdmin, json });
    const refused: [unknown, string, string][] = [
      [{ reasn: 'art17' }, 'reasn', 'unknown field; did you mean reason?'],
      [{ reason: 'she asked by phone' }, 'reason', 'must be a reason code'],
      [{ reason: 'art17' }, 'reason', 'differs between the query and the body'],
    ];
    for (const [json, path, message] of refused) {
      const res = await erase(json, json === refused[2]![0] ? '?reason=art21' : '');
      expect(res.status, res.text).toBe(400);
      expect(res.body.error.issues).toEqual([{ path, message: expect.stringContaining(message) }]);
    }
    expect((await api.lookup('user_id:strict-eve')).status).toBe(200);

    const done = await erase({ reason: 'art17' }, '?reason=art17');
    expect(done.status, done.text).toBe(200);
    const audit = (await api.request('GET', '/v1/admin/audit?limit=100', { token: api.keys.acmeAdmin })).body.items as {
      action: string;
      detail?: { reason?: string };
    }[];
    expect(audit.filter((e) => e.action === 'customer.erase').map((e) => e.detail?.reason)).toEqual(['art17']);
  });

  it('refuses a field on the admin routes that take none (rebuild, replay), naming it; no body or {} still works', async () => {
    for (const path of ['/v1/admin/rebuild', '/v1/quarantine/no-such-entry/replay']) {
      const res = await post(path, { x: 1 });
      expect(res.status, `${path} ${res.text}`).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', issues: [{ path: 'x', message: 'unknown field; no fields are taken here' }] });
    }
    const audited = async () =>
      ((await api.request('GET', '/v1/admin/audit?limit=500', { token: api.keys.acmeAdmin })).body.items as { action: string }[]).filter((e) =>
        e.action.includes('rebuild'),
      ).length;
    const before = await audited();
    expect((await api.request('POST', '/v1/admin/rebuild', { token: api.keys.acmeAdmin })).status).toBe(200);
    expect((await post('/v1/admin/rebuild', {})).status).toBe(200);
    // the refused one rebuilt nothing: two rebuilds since, both audited
    expect((await audited()) - before).toBe(2);
    expect((await post('/v1/quarantine/no-such-entry/replay', {})).status).toBe(404);
  });

  it('documents the bodies as closed objects', async () => {
    const doc = (await api.request('GET', '/openapi.json')).body;
    for (const s of [
      'ConsentRequest',
      'RestrictionRequest',
      'ErasureRequest',
      'MergeRequest',
      'UnmergeRequest',
      'AcceptMatchRequest',
      'RejectMatchRequest',
      'NoFieldsRequest',
    ]) {
      expect(doc.components.schemas[s], s).toMatchObject({ type: 'object', additionalProperties: false });
    }
    expect(doc.components.schemas.ConsentRequest.required).toEqual(['purpose', 'status']);
  });
});
