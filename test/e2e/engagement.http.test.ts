import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncIntake } from '../../src/application/ingest/intake.js';
import { decisionEvents, makeEngagementHarness, type EngagementHarness } from '../support/engagement-harness.js';
import { startApi, type Api } from '../support/http-fixture.js';
import { drain } from '../support/paging.js';

// Engagement over real loopback HTTP on the in-memory store: the interest capture compatibility
// route feeding the ingest pipeline, and a customer's decisions paged with cursors.

describe('engagement over HTTP (in-memory store)', () => {
  let api: Api;
  let h: EngagementHarness;
  beforeAll(async () => {
    api = await startApi(async () => {
      h = makeEngagementHarness();
      return { core: h.core, intake: syncIntake(h.core.ingest), sourceOf: (_t, name) => (name === 'crm' ? h.crm : h.web), metrics: h.ports.metrics };
    });
  });
  afterAll(async () => {
    await api?.close();
  });

  const capture = (json: unknown, writeKey = api.keys.acmeWrite) => api.request('POST', '/v1/interests', { writeKey, json });
  const engagements = (id: string, query = '', token = api.keys.acmeReader) => api.request('GET', `/v1/customers/${id}/engagements${query}`, { token });

  it('POST /v1/interests answers {"message": "Success"} and records the interest and place on the user id\'s customer', async () => {
    const res = await capture({ customerId: 'shopper-1', interest: 'Electronics', location: 'Cape Town' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ message: 'Success' });
    const view = await api.lookup('user_id:shopper-1');
    expect(view.status).toBe(200);
    expect(view.body.interests).toEqual([expect.objectContaining({ name: 'electronics', count: 1 })]);
    expect(view.body.locations).toEqual([expect.objectContaining({ city: 'Cape Town', count: 1 })]);
    // no marketing consent yet: the decision is recorded, suppressed, and nothing is published
    const listed = await engagements(view.body.customerId);
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({
      customerId: view.body.customerId,
      sent: 0,
      suppressed: 1,
      items: [{ outcome: 'suppressed', reason: 'NO_CONSENT', offerId: 'cpt-collect', channel: 'email' }],
    });
    expect(h.notifier.published).toEqual([]);
  });

  it('sends once marketing consent is granted ({"Marketing": true}), and pages the decisions newest first with cursors', async () => {
    const granted = await api.send('track', {
      userId: 'shopper-1',
      event: 'Preferences Saved',
      context: { consent: { categoryPreferences: { Marketing: true } } },
    });
    expect(granted.status).toBe(200);
    for (const [i, interest] of ['electronics', 'books', 'electronics'].entries()) {
      api.clock.advance(1_000);
      h.clock.advance(60_000);
      expect((await capture({ customerId: 'shopper-1', interest, messageId: `capture-${i}` })).body).toEqual({ message: 'Success' });
    }
    const id = (await api.lookup('user_id:shopper-1')).body.customerId as string;
    const all = await engagements(id, '?limit=100');
    expect(all.body).toMatchObject({ sent: 3, suppressed: 1, olderDecisionsDropped: 0 });
    expect(all.body.items.map((d: { offerId: string }) => d.offerId)).toEqual(['electronics-1', 'books-3-for-2', 'cpt-collect', 'cpt-collect']);
    expect(h.notifier.published.map((n) => n.offerId)).toEqual(['cpt-collect', 'books-3-for-2', 'electronics-1']);
    const seen = await drain(async (cursor) => {
      const page = await engagements(id, `?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      return { items: page.body.items.map((d: { decisionId: string }) => d.decisionId) as string[], next: page.body.next as string | undefined };
    });
    expect(seen).toEqual(all.body.items.map((d: { decisionId: string }) => d.decisionId));
    expect((await engagements(id, '?cursor=garbage')).body.error.issues[0].path).toBe('cursor');
    // the 360 view carries the same history
    const doc = await h.ports.readModels.get(api.tenants.acme, id);
    expect(doc?.kind === 'view' && doc.view.engagement?.decisions.map((d) => d.decisionId)).toEqual(seen);
  });

  it('retries with the same messageId record nothing twice', async () => {
    const before = (await decisionEvents(h, api.tenants.acme)).length;
    h.clock.advance(60_000);
    for (let i = 0; i < 2; i++) expect((await capture({ customerId: 'shopper-2', interest: 'books', messageId: 'same-capture' })).status).toBe(200);
    const view = await api.lookup('user_id:shopper-2');
    expect(view.body.interests).toEqual([expect.objectContaining({ name: 'books', count: 1 })]);
    expect((await decisionEvents(h, api.tenants.acme)).length).toBe(before + 1);
  });

  it('refuses a bad body naming the field, keeps it in the quarantine, and needs a write key', async () => {
    const missing = await capture({ interest: 'books' });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      issues: [expect.objectContaining({ path: 'customerId' })],
      quarantineId: expect.any(String),
    });
    const blank = await capture({ customerId: 'x', interest: '  ' });
    expect(blank.body.error.issues[0].path).toBe('interest');
    const malformed = await api.request('POST', '/v1/interests', {
      writeKey: api.keys.acmeWrite,
      body: '{"customerId":',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toMatchObject({ code: 'MALFORMED_JSON', quarantineId: expect.any(String) });
    const held = await h.ports.quarantine.list(api.tenants.acme, { limit: 10 });
    expect(held.entries.map((e) => e.id)).toEqual(expect.arrayContaining([missing.body.error.quarantineId, malformed.body.error.quarantineId]));
    expect((await api.request('POST', '/v1/interests', { json: { customerId: 'x', interest: 'books' } })).status).toBe(401);
    // Segment's body writeKey works here too
    expect((await api.request('POST', '/v1/interests', { json: { customerId: 'shopper-3', interest: 'toys', writeKey: api.keys.acmeWrite } })).status).toBe(
      200,
    );
  });

  it('takes a body without a location (optional), and refuses each bad field with exactly one issue naming it', async () => {
    const placeless = await capture({ customerId: 'u9', interest: 'running' });
    expect(placeless.status).toBe(200);
    const view = await api.lookup('user_id:u9');
    expect(view.body.interests).toEqual([expect.objectContaining({ name: 'running' })]);
    expect(view.body.locations).toEqual([]);
    // null is no location either; a number is the user id's decimal text
    expect((await capture({ customerId: 42, interest: 'cycling', location: null })).status).toBe(200);
    expect((await api.lookup('user_id:42')).body.interests).toEqual([expect.objectContaining({ name: 'cycling' })]);
    const cases: readonly [Record<string, unknown>, string, RegExp][] = [
      [{ customerId: 'u9', interest: 'running', location: '' }, 'location', /^must not be empty$/],
      [{ customerId: 'u9', interest: 'running', location: '   ' }, 'location', /^must not be empty$/],
      [{ customerId: 'u9', interest: 'running', location: 7 }, 'location', /^must be a string \(a place name\), not a number$/],
      [{ customerId: 'u9', interest: [] }, 'interest', /^must be a string \(a category\), not a list$/],
      [{ customerId: 'u9', interest: '' }, 'interest', /^must not be empty$/],
      [{ customerId: 'u9', interest: null }, 'interest', /^interest is required$/],
      [{ customerId: 'u9' }, 'interest', /^interest is required$/],
      [{ customerId: {}, interest: 'running' }, 'customerId', /^must be a string or a whole number, not an object$/],
      [{ customerId: '', interest: 'running' }, 'customerId', /^must not be empty$/],
      [{ customerId: 2 ** 60, interest: 'running' }, 'customerId', /^a number here must be a whole number no larger than/],
      [{ interest: 'running' }, 'customerId', /^customerId is required$/],
      [{ customerId: 'u9', interest: 'running', messageId: [] }, 'messageId', /^must be a string, not a list$/],
      [{ customerId: 'u9', interest: 'x'.repeat(65) }, 'interest', /^an interest is a category of at most 64 characters$/],
      [{ customerId: 'u9', interest: 'running', location: '1'.repeat(101) }, 'location', /^a location is a place name of at most 100 characters$/],
      // a field the route does not take is refused by name, never dropped with what it carried
      [{ customerId: 'u9', interest: 'running', foo: 1 }, 'foo', /^unknown field/],
    ];
    const misspelt = await capture({ customerId: 'u9', interest: 'running', locaton: 'Paris' });
    expect(misspelt.status).toBe(400);
    expect(misspelt.body.error.issues).toEqual([expect.objectContaining({ path: 'locaton', message: expect.stringMatching(/location/) })]);
    // each field refused on its own: two bad fields are two issues, one for each
    const two = await capture({ customerId: {}, interest: [], location: '' });
    expect(two.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['customerId', 'interest', 'location']);
    for (const [body, path, message] of cases) {
      const res = await capture(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error, JSON.stringify(body)).toMatchObject({ code: 'VALIDATION_FAILED', issues: [{ path, message: expect.stringMatching(message) }] });
      expect(res.body.error.issues, JSON.stringify(body)).toHaveLength(1);
      expect(res.body.error.quarantineId).toEqual(expect.any(String));
    }
  });

  it('refuses free text as an interest or a place (a street address, a sentence), naming the field, and keeps the body only in the quarantine', async () => {
    const refused = [
      [{ customerId: 'shopper-9', interest: 'books', location: '221B Baker Street, London NW1 6XE' }, 'location'],
      [{ customerId: 'shopper-9', interest: 'books', location: `Llanfair${'pwll'.repeat(30)}` }, 'location'],
      [{ customerId: 'shopper-9', interest: 'Gina Rossi called: wants a pregnancy test, call her back on 0161 496 0000' }, 'interest'],
      [{ customerId: 'shopper-9', interest: 'gina.rossi@example.com' }, 'interest'],
    ] as const;
    for (const [body, field] of refused) {
      const res = await capture(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', quarantineId: expect.any(String) });
      expect(new Set(res.body.error.issues.map((i: { path: string }) => i.path))).toEqual(new Set([field]));
      expect((await h.ports.quarantine.get(api.tenants.acme, res.body.error.quarantineId))?.id).toBe(res.body.error.quarantineId);
    }
    expect((await api.lookup('user_id:shopper-9')).status).toBe(404);
    // places and categories as people write them still pass
    for (const [interest, location] of [
      ['home & garden', 'Saint-Étienne'],
      ['Sci-Fi', "St. John's"],
      ['4K TVs', 'Washington, D.C.'],
      ['électroménager', "Côte d'Ivoire"],
    ]) {
      expect((await capture({ customerId: 'shopper-10', interest, location })).status, `${interest} / ${location}`).toBe(200);
    }
  });

  it('GET /engagements needs the read scope and answers 404 for nobody and 307 for an absorbed id', async () => {
    const id = (await api.lookup('user_id:shopper-1')).body.customerId as string;
    expect((await api.request('GET', `/v1/customers/${id}/engagements`, { writeKey: api.keys.acmeWrite })).status).toBe(403);
    expect((await engagements(id, '', api.keys.globexAdmin)).status).toBe(404);
    expect((await engagements('nobody')).status).toBe(404);
    await api.send('identify', { anonymousId: 'visitor-9', traits: { plan: 'free' } });
    const absorbed = (await api.lookup('anonymous_id:visitor-9')).body.customerId as string;
    await api.send('track', { userId: 'shopper-1', anonymousId: 'visitor-9', event: 'Logged In' });
    const moved = await engagements(absorbed, '?limit=2');
    expect(moved.status).toBe(307);
    expect(moved.headers.get('location')).toBe(`/v1/customers/${id}/engagements?limit=2`);
    expect(moved.body).toMatchObject({ status: 'merged', customerId: absorbed, survivorId: id, location: `/v1/customers/${id}/engagements?limit=2` });
  });
});
