import { describe, expect, it } from 'vitest';
import { at, type Api } from './http-fixture.js';

// Bad input and security over real HTTP: every refusal has its precise status and a JSON error
// with a code, a message and field paths, and the server keeps serving afterwards.

const codeOf = (r: { body: any }) => r.body?.error?.code;

export const httpGuardsSuite = (api: () => Api): void => {
  describe('bad input', () => {
    it('keeps malformed JSON in the quarantine and names the problem', async () => {
      const a = api();
      const res = await a.request('POST', '/v1/identify', {
        writeKey: a.keys.acmeWrite,
        body: '{"userId": "x", traits: ',
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(400);
      expect(codeOf(res)).toBe('MALFORMED_JSON');
      expect(res.body.error.message).toMatch(/not valid JSON/);
      const held = await a.request('GET', '/v1/quarantine?status=pending&limit=500&payload=true', { token: a.keys.acmeAdmin });
      const entry = held.body.items.find((i: { id: string }) => i.id === res.body.error.quarantineId);
      expect(entry).toMatchObject({ reason: { code: 'MALFORMED_JSON' }, payload: '{"userId": "x", traits: ' });

      // a write key inside a body that does not parse is not kept: masked character for character
      const secret = 'a-write-key-of-someone-else-0123';
      const withKey = await a.request('POST', '/v1/identify', {
        writeKey: a.keys.acmeWrite,
        body: `{"writeKey": "${secret}", "userId": "x", traits: `,
        headers: { 'content-type': 'application/json' },
      });
      expect(codeOf(withKey)).toBe('MALFORMED_JSON');
      const heldKey = await a.request('GET', '/v1/quarantine?status=pending&limit=500&payload=true', { token: a.keys.acmeAdmin });
      const keyEntry = heldKey.body.items.find((i: { id: string }) => i.id === withKey.body.error.quarantineId);
      expect(keyEntry.payload).toBe(`{"writeKey": "${'*'.repeat(secret.length)}", "userId": "x", traits: `);

      // written with JSON escapes, in the value or the name, it is the same key: masked as written
      const escapedValue = secret.replace('-', '\\u002d');
      const escaped = await a.request('POST', '/v1/identify', {
        writeKey: a.keys.acmeWrite,
        body: `{"write\\u004bey": "${escapedValue}", "x": 1, "writeKey":"${escapedValue}", traits: `,
        headers: { 'content-type': 'application/json' },
      });
      expect(codeOf(escaped)).toBe('MALFORMED_JSON');
      const heldEscaped = await a.request('GET', '/v1/quarantine?status=pending&limit=500&payload=true', { token: a.keys.acmeAdmin });
      const masked = '*'.repeat(escapedValue.length);
      expect(heldEscaped.body.items.find((i: { id: string }) => i.id === escaped.body.error.quarantineId).payload).toBe(
        `{"write\\u004bey": "${masked}", "x": 1, "writeKey":"${masked}", traits: `,
      );

      const batch = await a.request('POST', '/v1/batch', { writeKey: a.keys.acmeWrite, body: 'not json' });
      expect(batch.status).toBe(400);
      expect(codeOf(batch)).toBe('MALFORMED_JSON');
      expect(batch.body.error.quarantineId).toEqual(expect.any(String));
      const noArray = await a.request('POST', '/v1/batch', { writeKey: a.keys.acmeWrite, json: { batch: 'nope' } });
      expect(noArray.status).toBe(400);
      expect(noArray.body.error).toMatchObject({
        code: 'VALIDATION_FAILED',
        issues: [expect.objectContaining({ path: 'batch' })],
        quarantineId: expect.any(String),
      });
    });

    it('names the field paths of wrong types and keeps the call in the quarantine', async () => {
      const a = api();
      const res = await a.send('identify', { userId: 'typo', timestamp: 'yesterday', traits: 'not an object', context: { location: { latitude: 'north' } } });
      expect(res.status).toBe(400);
      expect(codeOf(res)).toBe('VALIDATION_FAILED');
      expect(res.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['context.location.latitude', 'timestamp', 'traits']);
      expect(res.body.error.quarantineId).toEqual(expect.any(String));
      expect(res.text).not.toMatch(/at .*\.ts:\d+/);
    });

    it('refuses a call over 32 KB and a batch over 500 KB with 400', async () => {
      const a = api();
      const call = await a.send('identify', { userId: 'big', traits: { blob: 'x'.repeat(33 * 1024) } });
      expect(call.status).toBe(400);
      expect(codeOf(call)).toBe('CALL_TOO_LARGE');
      expect(call.body.error.message).toMatch(/32 KB/);
      const calls = Array.from({ length: 20 }, (_, i) => ({ type: 'track', userId: `bulk-${i}`, event: 'Bulk', properties: { pad: 'y'.repeat(26 * 1024) } }));
      const batch = await a.request('POST', '/v1/batch', { writeKey: a.keys.acmeWrite, json: { batch: calls } });
      expect(batch.status).toBe(400);
      expect(codeOf(batch)).toBe('BODY_TOO_LARGE');
      expect(batch.body.error.message).toMatch(/500 KB/);
      await a.settle();
      expect((await a.lookup('user_id:bulk-0')).status).toBe(404);
      // streamed without a Content-Length, the bound still holds
      const chunked = await fetch(`${a.baseUrl}/v1/track`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${a.keys.acmeWrite}:`).toString('base64')}`, 'content-type': 'application/json' },
        body: new Blob([JSON.stringify({ userId: 'big', event: 'x', properties: { pad: 'z'.repeat(40 * 1024) } })]).stream(),
        duplex: 'half',
      } as RequestInit);
      expect(chunked.status).toBe(400);
      expect(((await chunked.json()) as any).error.code).toBe('CALL_TOO_LARGE');
      // the unread rest of an oversized body is not drained: the connection closes after the answer
      expect(chunked.headers.get('connection')).toBe('close');
    });

    it('answers unknown routes, wrong methods, wrong content types and oversized bodies with JSON', async () => {
      const a = api();
      const unknown = await a.request('GET', '/v2/nothing', { token: a.keys.acmeAdmin });
      expect(unknown.status).toBe(404);
      expect(codeOf(unknown)).toBe('NOT_FOUND');
      const method = await a.request('GET', '/v1/identify');
      expect(method.status).toBe(405);
      expect(method.headers.get('allow')).toBe('POST');
      expect(codeOf(method)).toBe('METHOD_NOT_ALLOWED');
      const id = (await a.lookup('user_id:ada-1')).body.customerId as string;
      const form = await a.request('POST', `/v1/customers/${id}/merge`, {
        token: a.keys.acmeAdmin,
        body: 'otherId=x',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(form.status).toBe(415);
      expect(codeOf(form)).toBe('UNSUPPORTED_MEDIA_TYPE');
      const huge = await a.request('POST', `/v1/customers/${id}/merge`, { token: a.keys.acmeAdmin, json: { otherId: 'x', reason: 'r'.repeat(70 * 1024) } });
      expect(huge.status).toBe(413);
      expect(codeOf(huge)).toBe('PAYLOAD_TOO_LARGE');
      const broken = await a.request('POST', `/v1/customers/${id}/merge`, {
        token: a.keys.acmeAdmin,
        body: '{"otherId":',
        headers: { 'content-type': 'application/json' },
      });
      expect(broken.status).toBe(400);
      expect(codeOf(broken)).toBe('MALFORMED_JSON');
      const badId = await a.request('GET', '/v1/customers/has%20space', { token: a.keys.acmeAdmin });
      expect(badId.status).toBe(400);
      expect(badId.body.error.issues[0].path).toBe('id');
      const badIdentifier = await a.lookup('email');
      expect(badIdentifier.status).toBe(400);
      expect(badIdentifier.body.error.issues[0].path).toBe('identifier');
    });
  });

  describe('security', () => {
    it('answers 401 with WWW-Authenticate without a valid credential', async () => {
      const a = api();
      const none = await a.request('POST', '/v1/identify', { json: { userId: 'x' } });
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/Basic/);
      expect(codeOf(none)).toBe('UNAUTHORIZED');
      const wrongKey = await a.send('identify', { userId: 'x' }, 'not-a-key');
      expect(wrongKey.status).toBe(401);
      const noToken = await a.request('GET', '/v1/customers?identifier=user_id:ada-1');
      expect(noToken.status).toBe(401);
      expect(noToken.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const wrongToken = await a.request('GET', '/v1/customers?identifier=user_id:ada-1', { token: 'nope' });
      expect(wrongToken.status).toBe(401);
      expect(wrongToken.headers.get('www-authenticate')).toMatch(/invalid_token/);
      // a write key is for sending events only: a valid one is a credential without the scope (403)
      const keyAsApi = await a.request('GET', '/v1/customers?identifier=user_id:ada-1', { writeKey: a.keys.acmeWrite });
      expect(keyAsApi.status).toBe(403);
      expect(codeOf(keyAsApi)).toBe('FORBIDDEN');
      const wrongKeyAsApi = await a.request('GET', '/v1/customers?identifier=user_id:ada-1', { writeKey: 'not-a-key' });
      expect(wrongKeyAsApi.status).toBe(401);
    });

    it('answers 403 when the credential lacks the scope, and lets an ingest-scoped token ingest', async () => {
      const a = api();
      expect((await a.request('POST', '/v1/admin/rebuild', { token: a.keys.acmeReader })).status).toBe(403);
      expect((await a.request('GET', '/v1/quarantine', { token: a.keys.acmeReader })).status).toBe(403);
      const readWithIngest = await a.request('GET', '/v1/customers?identifier=user_id:ada-1', { token: a.keys.acmeIngestToken });
      expect(readWithIngest.status).toBe(403);
      expect(codeOf(readWithIngest)).toBe('FORBIDDEN');
      expect((await a.request('POST', '/v1/identify', { token: a.keys.acmeReader, json: { userId: 'x' } })).status).toBe(403);
      const viaToken = await a.request('POST', '/v1/identify', {
        token: a.keys.acmeIngestToken,
        json: { userId: 'hal', timestamp: at(80), traits: { email: 'hal@example.com' } },
      });
      expect(viaToken.status).toBe(200);
      await a.settle();
      expect((await a.lookup('email:hal@example.com')).status).toBe(200);
    });

    it("never shows one tenant another tenant's customers", async () => {
      const a = api();
      const ada = (await a.lookup('user_id:ada-1')).body.customerId as string;
      const other = { token: a.keys.globexAdmin };
      for (const path of [
        `/v1/customers/${ada}`,
        `/v1/customers/${ada}/timeline`,
        `/v1/customers/${ada}/explain`,
        '/v1/customers?identifier=user_id:ada-1',
        '/v1/customers?identifier=email:ada@example.com',
      ]) {
        const res = await a.request('GET', path, other);
        expect(res.status, path).toBe(404);
        expect(codeOf(res)).toBe('CUSTOMER_NOT_FOUND');
      }
      await a.send('identify', { userId: 'globex-1', timestamp: at(90) }, a.keys.globexWrite);
      await a.settle();
      const mine = (await a.lookup('user_id:globex-1', a.keys.globexAdmin)).body.customerId as string;
      expect((await a.request('POST', `/v1/customers/${mine}/merge`, { ...other, json: { otherId: ada } })).status).toBe(404);
      // the same user id sent by another tenant is another customer
      await a.send('identify', { userId: 'ada-1', timestamp: at(91) }, a.keys.globexWrite);
      await a.settle();
      expect((await a.lookup('user_id:ada-1', a.keys.globexAdmin)).body.customerId).not.toBe(ada);
      const globexQuarantine = await a.request('GET', '/v1/quarantine?limit=500', other);
      expect(globexQuarantine.body.items).toEqual([]);
    });

    it('rate limits per credential with 429 and Retry-After, on the injected clock', async () => {
      const a = api();
      const get = () => a.request('GET', '/v1/customers?identifier=user_id:ada-1', { token: a.keys.acmeLimited });
      // 2 per second, burst of 2 seconds' worth
      for (let i = 0; i < 4; i++) expect((await get()).status).toBe(200);
      const limited = await get();
      expect(limited.status).toBe(429);
      expect(codeOf(limited)).toBe('RATE_LIMITED');
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
      // other credentials are not affected
      expect((await a.request('GET', '/v1/customers?identifier=user_id:ada-1', { token: a.keys.acmeReader })).status).toBe(200);
      a.clock.advance(retryAfter * 1000);
      expect((await get()).status).toBe(200);
    });

    it('keeps serving after all of the above', async () => {
      const a = api();
      expect((await a.send('track', { userId: 'ada-1', timestamp: at(99), event: 'Still Here' })).status).toBe(200);
      await a.settle();
      const ada = await a.lookup('user_id:ada-1');
      expect(ada.status).toBe(200);
      expect(ada.body.timeline.map((t: { title: string }) => t.title)).toContain('Still Here');
    });
  });
};
