import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGuardsSuite } from './http-e2e-guards.js';
import { at, startApi, type Api, type MakeBackend } from './http-fixture.js';
import { drain, pagesOf } from './paging.js';

// The HTTP API end to end over real loopback HTTP. Exported so every backend (in-memory,
// DynamoDB Local) runs the same suite: `httpE2eSuite('dynamodb', makeDynamoBackend)`.

export const httpE2eSuite = (name: string, make: MakeBackend): void => {
  describe(`HTTP API end to end (${name})`, () => {
    let api: Api;
    beforeAll(async () => {
      api = await startApi(make);
    });
    afterAll(async () => {
      await api?.close();
    });

    it('ingests identify, track and an order through the Segment routes and serves the 360 by identifier and by id', async () => {
      const user = { userId: 'ada-1', timestamp: at(1) };
      const identified = (
        await api.send('identify', { ...user, messageId: 'ada-m1', traits: { email: ' Ada@Example.com ', name: 'Ada Lovelace', plan: 'pro' } })
      ).body;
      // Segment's answer, plus the customer and the view version to wait for (queued: decided later)
      if (identified.queued) expect(identified).toEqual({ success: true, queued: true });
      else {
        expect(identified).toEqual({ success: true, customerId: expect.any(String), viewVersion: expect.any(Number) });
        const view = await api.request('GET', `/v1/customers/${identified.customerId}?minVersion=${identified.viewVersion}`, { token: api.keys.acmeReader });
        expect(view.status, view.text).toBe(200);
        expect(view.body.version).toBeGreaterThanOrEqual(identified.viewVersion);
      }
      // Segment also takes the write key in the body instead of the header
      const viaBody = await api.request('POST', '/v1/track', { json: { ...user, timestamp: at(2), event: 'Newsletter Opened', writeKey: api.keys.acmeWrite } });
      expect(viaBody.status).toBe(200);
      const order = { ...user, timestamp: at(3), event: 'Order Completed', properties: { order_id: 'o-1', revenue: 42.5, currency: 'EUR' } };
      expect((await api.send('track', order)).status).toBe(200);
      expect((await api.send('page', { ...user, timestamp: at(4), name: 'Pricing', properties: { path: '/pricing' } })).status).toBe(200);
      await api.settle();

      const found = await api.lookup('email:ada@example.com');
      expect(found.status).toBe(200);
      expect(found.body.traits.name.value).toBe('Ada Lovelace');
      expect(found.body.orders.count).toBe(1);
      expect(found.body.identifiers).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: 'email', value: 'ada@example.com' }),
          expect.objectContaining({ type: 'user_id', value: 'ada-1' }),
        ]),
      );
      const byId = await api.request('GET', `/v1/customers/${found.body.customerId}`, { token: api.keys.acmeReader });
      expect(byId.status).toBe(200);
      // scores are computed at read time: only their clock stamp may differ between two reads
      const stable = (b: { scores: Record<string, unknown> }) => ({ ...b, scores: { ...b.scores, computedAt: undefined } });
      expect(stable(byId.body)).toEqual(stable(found.body));
      expect(byId.headers.get('c360-view-version')).toBe(String(byId.body.version));
      // any identifier type, split on the first colon
      expect((await api.lookup('user_id:ada-1')).body.customerId).toBe(found.body.customerId);
      expect((await api.lookup('email:nobody@example.com')).status).toBe(404);
    });

    it('counts an order sent twice under two messageIds once, and shows the repeat', async () => {
      const user = { userId: 'rex-1' };
      const order = (messageId: string, t: number, orderId: string) => ({
        ...user,
        messageId,
        timestamp: at(t),
        event: 'Order Completed',
        properties: { order_id: orderId, revenue: 25, currency: 'USD' },
      });
      // a reloaded thank-you page fires the same order again: a new messageId, the same order id
      for (const call of [order('rex-o1', 1, 'r-1'), order('rex-o1-again', 2, 'r-1'), order('rex-o2', 3, 'r-2')])
        expect((await api.send('track', call)).status).toBe(200);
      await api.settle();
      const found = await api.lookup('user_id:rex-1');
      expect(found.status).toBe(200);
      expect(found.body.orders).toMatchObject({
        count: 2,
        revenue: { USD: 50 },
        firstOrderAt: at(1),
        lastOrderAt: at(3),
        repeated: 1,
        repeatsByOrderId: { 'r-1': 1 },
      });
      // the repeat is kept: its call is on the timeline
      expect(found.body.timeline.filter((t: { type: string }) => t.type === 'OrderPlaced')).toHaveLength(3);
    });

    it('pages the timeline with cursors, newest first, with no item twice', async () => {
      const id = (await api.lookup('user_id:ada-1')).body.customerId as string;
      const full = (await api.request('GET', `/v1/customers/${id}`, { token: api.keys.acmeReader })).body.timeline as { eventId: string }[];
      expect(full.length).toBeGreaterThanOrEqual(4);
      const pages = await pagesOf(
        async (cursor) => {
          const page = await api.request('GET', `/v1/customers/${id}/timeline?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: api.keys.acmeReader });
          expect(page.status).toBe(200);
          expect(page.body.items.length).toBeLessThanOrEqual(2);
          return { items: page.body.items.map((i: { eventId: string }) => i.eventId) as string[], next: page.body.next as string | undefined };
        },
        { maxPages: 100 },
      );
      expect(pages.flat()).toEqual(full.map((t) => t.eventId));
      expect(pages).toHaveLength(Math.ceil(full.length / 2));
      const bad = await api.request('GET', `/v1/customers/${id}/timeline?cursor=not-a-cursor`, { token: api.keys.acmeReader });
      expect(bad.status).toBe(400);
      expect(bad.body.error.issues[0].path).toBe('cursor');
      expect((await api.request('GET', `/v1/customers/${id}/timeline?limit=0`, { token: api.keys.acmeReader })).body.error.issues[0].path).toBe('limit');
    });

    it('merges two customers when a call carries identifiers of both, and answers 307 for the absorbed id', async () => {
      expect((await api.send('identify', { anonymousId: 'anon-bob', timestamp: at(10), traits: { email: 'bob@example.com' } })).status).toBe(200);
      expect((await api.send('identify', { userId: 'bob-42', timestamp: at(20), traits: { plan: 'free' } })).status).toBe(200);
      await api.settle();
      const first = (await api.lookup('email:bob@example.com')).body.customerId as string;
      const second = (await api.lookup('user_id:bob-42')).body.customerId as string;
      expect(first).not.toBe(second);

      expect((await api.send('track', { userId: 'bob-42', anonymousId: 'anon-bob', timestamp: at(30), event: 'Logged In' })).status).toBe(200);
      await api.settle();
      // the survivor is the customer first seen
      expect((await api.lookup('user_id:bob-42')).body.customerId).toBe(first);
      const moved = await api.request('GET', `/v1/customers/${second}`, { token: api.keys.acmeReader });
      expect(moved.status).toBe(307);
      expect(moved.headers.get('location')).toBe(`/v1/customers/${first}`);
      const sub = await api.request('GET', `/v1/customers/${second}/timeline?limit=2`, { token: api.keys.acmeReader });
      expect(sub.status).toBe(307);
      expect(sub.headers.get('location')).toBe(`/v1/customers/${first}/timeline?limit=2`);
      // the 307 says so in a JSON body too, naming the survivor and the Location
      const explainMoved = await api.request('GET', `/v1/customers/${second}/explain`, { token: api.keys.acmeReader });
      expect(explainMoved.status).toBe(307);
      expect(explainMoved.headers.get('location')).toBe(`/v1/customers/${first}/explain`);
      expect(explainMoved.headers.get('content-type')).toMatch(/^application\/json/);
      expect(explainMoved.body).toEqual({
        status: 'merged',
        customerId: second,
        survivorId: first,
        location: `/v1/customers/${first}/explain`,
        message: `${second} was merged into ${first}: ask /v1/customers/${first}/explain`,
      });
      expect(sub.body).toMatchObject({ status: 'merged', customerId: second, survivorId: first, location: `/v1/customers/${first}/timeline?limit=2` });

      const why = await api.request('GET', `/v1/customers/${first}/explain`, { token: api.keys.acmeReader });
      expect(why.status).toBe(200);
      expect(why.body.merges).toEqual([expect.objectContaining({ absorbedId: second, evidence: expect.objectContaining({ rule: 'shared-identifier' }) })]);
      expect(why.body.identifiers.map((i: { type: string }) => i.type).sort()).toEqual(['anonymous_id', 'email', 'user_id']);
    });

    it('merges and unmerges by hand with an admin token', async () => {
      await api.send('identify', { userId: 'cleo', timestamp: at(40), traits: { email: 'cleo@example.com' } });
      await api.send('identify', { userId: 'dan', timestamp: at(41), traits: { email: 'dan@example.com' } });
      await api.settle();
      const cleo = (await api.lookup('user_id:cleo')).body.customerId as string;
      const dan = (await api.lookup('user_id:dan')).body.customerId as string;

      // two user ids in one customer break the user_id limit: refused unless forced
      const refused = await api.request('POST', `/v1/customers/${cleo}/merge`, { token: api.keys.acmeAdmin, json: { otherId: dan } });
      expect(refused.status).toBe(409);
      expect(refused.body.error).toMatchObject({ code: 'IDENTIFIER_LIMIT_EXCEEDED', issues: [expect.objectContaining({ path: 'force' })] });
      const merged = await api.request('POST', `/v1/customers/${cleo}/merge`, {
        token: api.keys.acmeAdmin,
        json: { otherId: dan, force: true, reason: 'same person (support ticket 7)', operationId: 'op-merge-cleo-dan' },
      });
      expect(merged.status).toBe(200);
      expect(merged.body).toMatchObject({ survivorId: cleo, absorbedId: dan, forced: true, duplicate: false });
      // a retry with the same operationId answers what the first did
      const retried = await api.request('POST', `/v1/customers/${cleo}/merge`, {
        token: api.keys.acmeAdmin,
        json: { otherId: dan, force: true, operationId: 'op-merge-cleo-dan' },
      });
      expect(retried.body).toMatchObject({ mergeId: merged.body.mergeId, duplicate: true });
      await api.settle();
      expect((await api.request('GET', `/v1/customers/${dan}`, { token: api.keys.acmeReader })).status).toBe(307);
      const again = await api.request('POST', `/v1/customers/${cleo}/merge`, { token: api.keys.acmeAdmin, json: { otherId: dan } });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('MERGE_SAME_CUSTOMER');

      const undone = await api.request('POST', `/v1/customers/${cleo}/unmerge`, {
        token: api.keys.acmeAdmin,
        json: { mergeId: merged.body.mergeId, reason: 'not the same person' },
      });
      expect(undone.status).toBe(200);
      expect(undone.body).toMatchObject({ survivorId: cleo, restoredId: dan });
      await api.settle();
      const back = await api.request('GET', `/v1/customers/${dan}`, { token: api.keys.acmeReader });
      expect(back.status).toBe(200);
      expect(back.body.identifiers.map((i: { value: string }) => i.value)).toContain('dan@example.com');
      expect((await api.request('GET', `/v1/customers/${cleo}/explain`, { token: api.keys.acmeReader })).body.doNotLink).toContain(dan);

      // the merge exists and was undone: a second unmerge (another operation) is a 409 saying so, not a 404
      const twice = await api.request('POST', `/v1/customers/${cleo}/unmerge`, { token: api.keys.acmeAdmin, json: { mergeId: merged.body.mergeId } });
      expect(twice.status).toBe(409);
      expect(twice.body.error).toMatchObject({ code: 'MERGE_NOT_UNDOABLE', issues: [expect.objectContaining({ path: 'mergeId' })] });
      expect(twice.body.error.message).toMatch(
        new RegExp(`^merge ${merged.body.mergeId} of customer ${cleo} was already undone at .+: customer ${dan} is separate again`),
      );
      const unknownMerge = await api.request('POST', `/v1/customers/${cleo}/unmerge`, { token: api.keys.acmeAdmin, json: { mergeId: 'no-such-merge' } });
      expect(unknownMerge.status).toBe(404);
      expect(unknownMerge.body.error.code).toBe('MERGE_NOT_FOUND');
      const missing = await api.request('POST', `/v1/customers/${cleo}/merge`, { token: api.keys.acmeAdmin, json: { force: 'yes' } });
      expect(missing.status).toBe(400);
      expect(missing.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['force', 'otherId']);
    });

    it('accepts a batch call by call, listing the invalid ones by index, kept together in one quarantine entry', async () => {
      const res = await api.request('POST', '/v1/batch', {
        writeKey: api.keys.acmeWrite,
        json: {
          batch: [
            { type: 'identify', userId: 'eve', timestamp: at(50), traits: { email: 'eve@example.com' } },
            { type: 'track', userId: 'eve', timestamp: at(51) },
            { type: 'track', userId: 'eve', timestamp: at(52), event: 'Cart Viewed' },
            { type: 'identify', userId: 'eve', traits: { blob: 'x'.repeat(33 * 1024) } },
          ],
          context: { library: { name: 'test' } },
        },
      });
      expect(res.status).toBe(200);
      expect(res.body.success).toBe(true);
      expect(res.body.invalid).toEqual([
        {
          index: 1,
          code: 'VALIDATION_FAILED',
          message: 'invalid Segment call: event: event is required',
          issues: [expect.objectContaining({ path: 'event' })],
        },
        { index: 3, code: 'CALL_TOO_LARGE', message: expect.stringMatching(/^the call is larger than/), issues: [expect.objectContaining({ path: '(root)' })] },
      ]);
      expect(res.body.quarantineId).toEqual(expect.any(String));
      await api.settle();
      const eve = await api.lookup('user_id:eve');
      expect(eve.body.timeline.map((t: { title: string }) => t.title)).toContain('Cart Viewed');
      const held = await api.request('GET', '/v1/quarantine?status=pending&limit=500&payload=true', { token: api.keys.acmeAdmin });
      const entry = held.body.items.find((i: { id: string }) => i.id === res.body.quarantineId);
      expect(entry.payload.batch.map((c: { type: string }) => c.type)).toEqual(['track', 'identify']);
      expect(entry.payload.refused.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual([
        [1, 'VALIDATION_FAILED'],
        [3, 'CALL_TOO_LARGE'],
      ]);
    });

    it("keeps a retried batch's refused calls in one entry, and an erasure of one sender takes only her call out of it", async () => {
      await api.send('identify', { userId: 'gina-e2e', messageId: 'gina-e2e-id', traits: { email: 'gina-e2e@example.com' } });
      await api.settle();
      const gina = (await api.lookup('user_id:gina-e2e')).body.customerId as string;
      const hank = { type: 'track', userId: 'hank-e2e', messageId: 'hank-e2e-1', traits: { email: 'hank-e2e@example.com' } };
      const body = {
        batch: [{ type: 'track', userId: 'gina-e2e', messageId: 'gina-e2e-1' }, hank, { type: 'identify', userId: 'ivy-e2e', messageId: 'ivy-e2e-1' }],
      };
      const sent = await api.request('POST', '/v1/batch', { writeKey: api.keys.acmeWrite, json: { ...body, sentAt: '2026-12-07T00:00:00.000Z' } });
      expect(sent.body.invalid.map((i: { index: number }) => i.index)).toEqual([0, 1]);
      // the SDK retries the whole batch, with a new sentAt
      const again = await api.request('POST', '/v1/batch', { writeKey: api.keys.acmeWrite, json: { ...body, sentAt: '2026-12-07T00:00:05.000Z' } });
      expect(again.body.quarantineId).toBe(sent.body.quarantineId);
      const pending = async () => (await api.request('GET', '/v1/quarantine?limit=500&payload=true', { token: api.keys.acmeAdmin })).body.items;
      expect((await pending()).filter((i: { payload: { batch?: unknown[] } }) => JSON.stringify(i.payload).includes('hank-e2e'))).toHaveLength(1);

      const erased = await api.request('DELETE', `/v1/customers/${gina}`, { token: api.keys.acmeGdpr });
      expect(erased.status, erased.text).toBe(200);
      expect(erased.body.removed).toMatchObject({ quarantined: 0, quarantineRewritten: 1, quarantineCallsRemoved: 1 });
      const items = await pending();
      expect(items.find((i: { id: string }) => i.id === sent.body.quarantineId).payload.batch).toEqual([hank]);
      expect(JSON.stringify(items)).not.toContain('gina-e2e');
    });

    it('lists the quarantine a page at a time and replays an entry into a customer', async () => {
      const tenant = api.tenants.acme;
      const call = { type: 'identify', userId: 'fay', traits: { email: 'fay@example.com' }, timestamp: at(60) };
      // as if an earlier version had refused it; the fix is deployed, now replay it
      const id = await api.backend.core.quarantine.hold(tenant, 'web', call, { code: 'INTERNAL_ERROR', message: 'simulated earlier failure', issues: [] });
      const ids = await drain(
        async (cursor) => {
          const page = await api.request('GET', `/v1/quarantine?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {
            token: api.keys.acmeAdmin,
          });
          expect(page.status).toBe(200);
          expect(page.body.items.length).toBeLessThanOrEqual(1);
          for (const item of page.body.items) expect(item.payload).toBeUndefined();
          return { items: page.body.items.map((i: { id: string }) => i.id) as string[], next: page.body.next as string | undefined };
        },
        { maxPages: 100 },
      );
      expect(ids).toContain(id);
      expect(new Set(ids).size).toBe(ids.length);
      const withPayload = await api.request('GET', '/v1/quarantine?limit=500&payload=true', { token: api.keys.acmeAdmin });
      expect(withPayload.body.items.find((i: { id: string }) => i.id === id).payload).toEqual(call);

      const replayed = await api.request('POST', `/v1/quarantine/${id}/replay`, { token: api.keys.acmeAdmin });
      expect(replayed.status).toBe(200);
      expect(replayed.body.status).toBe('accepted');
      await api.settle();
      expect((await api.lookup('email:fay@example.com')).status).toBe(200);
      const done = await api.request('GET', '/v1/quarantine?status=replayed&limit=500', { token: api.keys.acmeAdmin });
      expect(done.body.items.map((i: { id: string }) => i.id)).toContain(id);

      // an entry that is still invalid stays pending and says why
      const bad = await api.send('identify', { traits: { email: 'nobody' } });
      const again = await api.request('POST', `/v1/quarantine/${bad.body.error.quarantineId}/replay`, { token: api.keys.acmeAdmin });
      expect(again.status).toBe(422);
      expect(again.body.error).toMatchObject({ code: 'REPLAY_REJECTED', cause: 'VALIDATION_FAILED' });
    });

    it('rebuilds the read models from the log and serves the same views', async () => {
      const before = (await api.lookup('email:ada@example.com')).body;
      const rebuilt = await api.request('POST', '/v1/admin/rebuild', { token: api.keys.acmeAdmin });
      expect(rebuilt.status).toBe(200);
      expect(rebuilt.body.events).toBeGreaterThan(0);
      expect(rebuilt.body.docs).toBeGreaterThan(0);
      const after = (await api.lookup('email:ada@example.com')).body;
      expect(after.traits).toEqual(before.traits);
      expect(after.timeline).toEqual(before.timeline);
    });

    it('waits for ?minVersion and says when the view is still behind', async () => {
      const view = (await api.lookup('user_id:ada-1')).body;
      const current = await api.request('GET', `/v1/customers/${view.customerId}?minVersion=${view.version}`, { token: api.keys.acmeReader });
      expect(current.status).toBe(200);
      expect(current.headers.get('c360-view-stale')).toBeNull();
      // a read that asks for the next version is answered once the write lands
      const pending = api.request('GET', `/v1/customers/${view.customerId}?minVersion=${view.version + 1}`, { token: api.keys.acmeReader });
      await new Promise((r) => setTimeout(r, 150));
      await api.send('track', { userId: 'ada-1', timestamp: at(70), event: 'Docs Read' });
      const fresh = await pending;
      expect(fresh.body.version).toBeGreaterThan(view.version);
      expect(fresh.headers.get('c360-view-stale')).toBeNull();
      const ahead = await api.request('GET', `/v1/customers/${view.customerId}?minVersion=${fresh.body.version + 1000}`, { token: api.keys.acmeReader });
      expect(ahead.status).toBe(200);
      expect(ahead.headers.get('c360-view-stale')).toBe('true');
      expect(ahead.body.version).toBe(fresh.body.version);
    });

    it('works with the official Segment Node client pointed at it', async () => {
      const analytics = new Analytics({ writeKey: api.keys.acmeWrite, host: api.baseUrl, flushAt: 1, maxRetries: 1 });
      const errors: unknown[] = [];
      analytics.on('error', (e) => errors.push(e));
      analytics.identify({ userId: 'grace-1', traits: { email: 'grace@example.com', plan: 'enterprise' } });
      analytics.track({ userId: 'grace-1', event: 'Compiler Shipped', properties: { language: 'COBOL' } });
      await analytics.closeAndFlush();
      expect(errors).toEqual([]);
      await api.settle();
      const grace = await api.lookup('user_id:grace-1');
      expect(grace.status).toBe(200);
      expect(grace.body.traits.plan.value).toBe('enterprise');
      expect(grace.body.timeline.map((t: { title: string }) => t.title)).toContain('Compiler Shipped');
    });

    it('serves health, Prometheus metrics, the OpenAPI document and a docs page', async () => {
      const health = await api.request('GET', '/health');
      expect(health.status).toBe(200);
      expect(health.body.ok).toBe(true);

      const metrics = await api.request('GET', '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(metrics.text).toMatch(/^c360_http_requests_total\{method="POST",route="\/v1\/identify",status="200"\} [1-9]\d*$/m);
      expect(metrics.text).toMatch(/^c360_ingest_accepted_total [1-9]\d*$/m);
      expect(metrics.text).toMatch(/^c360_http_request_duration_seconds_bucket\{method="GET",route="\/v1\/customers\/:id",le="\+Inf"\} [1-9]\d*$/m);
      expect(metrics.text).not.toContain(api.tenants.acme);

      const doc = await api.request('GET', '/openapi.json');
      expect(doc.status).toBe(200);
      expect(doc.body.openapi).toBe('3.1.0');
      for (const path of [
        '/v1/identify',
        '/v1/batch',
        '/v1/customers',
        '/v1/customers/{id}',
        '/v1/customers/{id}/timeline',
        '/v1/customers/{id}/merge',
        '/v1/quarantine/{id}/replay',
        '/v1/admin/rebuild',
        '/health',
        '/metrics',
      ]) {
        expect(Object.keys(doc.body.paths)).toContain(path);
      }
      expect(doc.body.paths['/v1/customers/{id}'].get.parameters).toEqual(
        expect.arrayContaining([expect.objectContaining({ name: 'id', in: 'path' }), expect.objectContaining({ name: 'minVersion', in: 'query' })]),
      );
      expect(Object.keys(doc.body.components.securitySchemes).sort()).toEqual(['bearer', 'writeKey']);

      const docs = await api.request('GET', '/docs');
      expect(docs.status).toBe(200);
      expect(docs.headers.get('content-type')).toMatch(/^text\/html/);
      expect(docs.text).toContain('openapi.json');
    });

    httpGuardsSuite(() => api);
  });
};
