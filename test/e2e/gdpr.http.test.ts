import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from '../support/harness.js';
import { at, harnessBackend, startApi, type Api, type HttpBackend } from '../support/http-fixture.js';
import { pagesOf } from '../support/paging.js';
import { memoryDump } from '../support/store-dump.js';

// The GDPR surface over real loopback HTTP on the in-memory store: access export, consent,
// restriction, erasure with its receipt, and the audit log, which must never hold a personal value.

let h: Harness;
const backend = async (): Promise<HttpBackend> => {
  h = makeHarness();
  return harnessBackend(h);
};

const PERSONAL = ['grace@example.com', 'Grace Hopper', '+442079460018', '1 Navy Yard', 'anon-grace', 'crm-grace'];

describe('GDPR over HTTP (in-memory store)', () => {
  let api: Api;
  let survivor: string;
  let absorbed: string;
  const admin = () => api.keys.acmeAdmin;

  beforeAll(async () => {
    api = await startApi(backend);
    // the core's clock a day after the calls' timestamps, so consents may be dated between them
    h.clock.advance(24 * 3_600_000);
    const web = { anonymousId: 'anon-grace', timestamp: at(1), context: { consent: { categoryPreferences: { Marketing: true } } } };
    expect((await api.send('identify', { ...web, messageId: 'g-1', traits: { email: 'Grace@Example.com', name: 'Grace Hopper' } })).status).toBe(200);
    const crm = { userId: 'crm-grace', timestamp: at(2), traits: { phone: '+44 20 7946 0018', address: { street: '1 Navy Yard' } } };
    expect((await api.request('POST', '/v1/identify', { token: api.keys.acmeIngestToken, json: { ...crm, messageId: 'g-2' } })).status).toBe(200);
    absorbed = (await api.lookup('user_id:crm-grace')).body.customerId;
    // the same email from the CRM ties the two together
    expect(
      (
        await api.request('POST', '/v1/identify', {
          token: api.keys.acmeIngestToken,
          json: { userId: 'crm-grace', timestamp: at(3), messageId: 'g-3', traits: { email: 'grace@example.com' } },
        })
      ).status,
    ).toBe(200);
    survivor = (await api.lookup('anonymous_id:anon-grace')).body.customerId;
    expect(survivor).not.toBe(absorbed);
  });
  afterAll(async () => {
    await api?.close();
  });

  it('exports the whole cluster with decrypted values, merge evidence and consents, from either id', async () => {
    const res = await api.request('GET', `/v1/customers/${absorbed}/export`, { token: admin() });
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body.metadata).toMatchObject({ requestedId: absorbed, customerId: survivor });
    expect([...res.body.metadata.customers].sort()).toEqual([survivor, absorbed].sort());
    for (const value of ['grace@example.com', 'Grace Hopper', '+442079460018', '1 Navy Yard']) expect(res.text).toContain(value);
    expect(res.body.identity.merges).toEqual([
      expect.objectContaining({ absorbedId: absorbed, evidence: expect.objectContaining({ rule: 'shared-identifier', triggeringEventId: 'g-3' }) }),
    ]);
    expect(res.body.consents.current.marketing).toMatchObject({ granted: true });
    expect(res.body.customer360.customerId).toBe(survivor);
    expect(res.body.engagement.decisions).toEqual([]);
    const reader = await api.request('GET', `/v1/customers/${survivor}/export`, { token: api.keys.acmeReader });
    expect(reader.status).toBe(403);
    expect(reader.body.error.code).toBe('FORBIDDEN');
  });

  it('records a consent that the 360 view shows, once per operationId, matching Segment purposes case-insensitively', async () => {
    const path = `/v1/customers/${absorbed}/consents`;
    const body = { purpose: 'Marketing', status: 'withdrawn', at: at(10), source: 'preference-center', operationId: 'consent-1' };
    const first = await api.request('POST', path, { token: admin(), json: body });
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({ customerId: survivor, purpose: 'marketing', status: 'withdrawn', duplicate: false });
    const again = await api.request('POST', path, { token: admin(), json: body });
    expect(again.body).toMatchObject({ duplicate: true, eventId: first.body.eventId });
    const view = await api.request('GET', `/v1/customers/${survivor}`, { token: api.keys.acmeReader });
    expect(view.body.consents).toEqual({ marketing: { granted: false, status: 'withdrawn', at: at(10), source: 'preference-center' } });

    const bad = await api.request('POST', path, { token: admin(), json: { purpose: 'email', status: 'maybe' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues.map((i: { path: string }) => i.path)).toContain('status');
    // well-formed JSON with a field missing: the message blames the body's field, not the JSON
    const missing = await api.request('POST', path, { token: admin(), json: { purpose: 'email' } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toMatch(/^invalid request body: status: /);
    expect((await api.request('POST', path, { token: api.keys.acmeIngestToken, json: { purpose: 'email', status: 'granted' } })).status).toBe(403);
    // a purpose is stored readable and outlives an erasure: free text naming someone is refused, naming the field
    const freeText = await api.request('POST', path, { token: admin(), json: { purpose: 'newsletter for erin.private@example.org', status: 'granted' } });
    expect(freeText.status, freeText.text).toBe(400);
    expect(freeText.body.error.code).toBe('VALIDATION_FAILED');
    expect(freeText.body.error.issues.map((i: { path: string }) => i.path)).toEqual(['purpose']);
    expect((await api.request('GET', `/v1/customers/${survivor}`, { token: api.keys.acmeReader })).body.consents).toEqual(view.body.consents);
  });

  it('restricts and lifts processing', async () => {
    const path = `/v1/customers/${survivor}/restriction`;
    const on = await api.request('POST', path, { token: admin(), json: { reason: 'art18-request' } });
    expect(on.status, on.text).toBe(200);
    expect(on.body).toMatchObject({ customerId: survivor, restricted: true, changed: true });
    expect((await api.request('POST', path, { token: admin() })).body).toMatchObject({ restricted: true, changed: false });
    // the state shows in the 360 view and in the access export
    const view = (await api.request('GET', `/v1/customers/${survivor}`, { token: admin() })).body;
    expect(view.restriction).toEqual({ restricted: true, decidedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect((await api.request('GET', `/v1/customers/${survivor}/export`, { token: admin() })).body.customer360.restriction).toEqual(view.restriction);
    h.clock.advance(1_000); // the harness clock stands still: the lift is decided a moment later, as it would be
    expect((await api.request('DELETE', path, { token: admin() })).body).toMatchObject({ restricted: false, changed: true });
    const lifted = (await api.request('GET', `/v1/customers/${survivor}`, { token: admin() })).body.restriction;
    expect(lifted.restricted).toBe(false);
    expect(lifted.decidedAt > view.restriction.decidedAt).toBe(true);
    // the subject's export names the credential that restricted and lifted by its kind only; the audit log keeps its id
    const exported = await api.request('GET', `/v1/customers/${survivor}/export`, { token: admin() });
    expect(exported.text).not.toContain('acme-admin');
    const decisions = exported.body.events.filter((e: { type: string }) => e.type.startsWith('ProcessingRestrict'));
    expect(decisions.map((e: { source: string; data: { actor: string } }) => [e.source, e.data.actor])).toEqual([
      ['operator', 'operator'],
      ['operator', 'operator'],
    ]);
    const audit = await api.request('GET', '/v1/admin/audit?limit=500', { token: admin() });
    expect(audit.body.items.filter((e: { action: string }) => e.action.startsWith('customer.restrict')).map((e: { actor: string }) => e.actor)).toContain(
      'acme-admin',
    );
    const freeText = await api.request('POST', path, { token: admin(), json: { reason: 'Grace called us' } });
    expect(freeText.status).toBe(400);
  });

  it('erases by DELETE with a receipt, answers the same receipt again, and then nothing is found', async () => {
    // a manual merge and unmerge first, so the audit log holds admin actions too
    const other = (await api.send('identify', { anonymousId: 'anon-other', messageId: 'o-1', timestamp: at(4), traits: { email: 'other@example.com' } }))
      .status;
    expect(other).toBe(200);
    const otherId = (await api.lookup('anonymous_id:anon-other')).body.customerId;
    const merged = await api.request('POST', `/v1/customers/${survivor}/merge`, { token: admin(), json: { otherId, reason: 'test' } });
    expect(merged.status, merged.text).toBe(200);
    expect((await api.request('POST', `/v1/customers/${survivor}/unmerge`, { token: admin(), json: { mergeId: merged.body.mergeId } })).status).toBe(200);

    // a body that does not parse, naming her email and a last name: quarantined as raw text
    const malformed = await api.request('POST', '/v1/identify', {
      token: api.keys.acmeIngestToken,
      headers: { 'content-type': 'application/json' },
      body: '{"userId": "x", "traits": {"email": "GRACE@example.com", "lastName": "Hopperton-Unparsed"',
    });
    expect(malformed.status, malformed.text).toBe(400);
    expect(malformed.body.error.code).toBe('MALFORMED_JSON');
    const heldId: string = malformed.body.error.quarantineId;
    expect(memoryDump(h)).toContain('hopperton-unparsed');
    const listed = await api.request('GET', `/v1/customers/${absorbed}/export`, { token: admin() });
    expect(listed.body.quarantine.entries.map((e: { id: string }) => e.id)).toContain(heldId);

    expect((await api.request('DELETE', `/v1/customers/${survivor}`, { token: api.keys.acmeReader })).status).toBe(403);
    const erased = await api.request('DELETE', `/v1/customers/${absorbed}?reason=art17-request`, { token: admin() });
    expect(erased.status, erased.text).toBe(200);
    expect(erased.body).toMatchObject({ requestedId: absorbed, actor: 'acme-admin' });
    expect([...erased.body.customers].sort()).toEqual([survivor, absorbed].sort());
    // the unparseable body went with her, whole
    expect(await h.ports.quarantine.get('acme', heldId)).toBeUndefined();
    expect(memoryDump(h)).not.toContain('hopperton-unparsed');
    const again = await api.request('DELETE', `/v1/customers/${survivor}`, { token: admin() });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(erased.body);

    // every route that names an erased customer answers 410 with the erasure's id, as the export does
    for (const id of [survivor, absorbed]) {
      for (const path of [`/v1/customers/${id}`, `/v1/customers/${id}/timeline`, `/v1/customers/${id}/engagements`]) {
        const res = await api.request('GET', path, { token: api.keys.acmeReader });
        expect(res.status, path).toBe(410);
        expect(res.body.error.code).toBe('CUSTOMER_ERASED');
        expect(res.body.error.message).toContain(erased.body.erasureId);
      }
      const merge = await api.request('POST', `/v1/customers/${otherId}/merge`, { token: admin(), json: { otherId: id } });
      expect(merge.status, merge.text).toBe(410);
    }
    const unknown = await api.request('GET', '/v1/customers/never-seen', { token: api.keys.acmeReader });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'CUSTOMER_NOT_FOUND']);
    for (const identifier of ['email:grace@example.com', 'user_id:crm-grace', 'anonymous_id:anon-grace'])
      expect((await api.lookup(identifier)).status).toBe(404);
    const exported = await api.request('GET', `/v1/customers/${survivor}/export`, { token: admin() });
    expect(exported.status).toBe(410);
    expect(exported.body.error.code).toBe('CUSTOMER_ERASED');
    // the write routes too: 410 naming customerId and the erasure, as every other 410
    for (const [method, path, json] of [
      ['POST', `/v1/customers/${survivor}/consents`, { purpose: 'email', status: 'granted' }],
      ['POST', `/v1/customers/${absorbed}/consents`, { purpose: 'email', status: 'withdrawn', operationId: 'op-after-erasure' }],
      ['POST', `/v1/customers/${survivor}/restriction`, undefined],
      ['DELETE', `/v1/customers/${absorbed}/restriction`, undefined],
    ] as const) {
      const res = await api.request(method, path, { token: admin(), ...(json ? { json } : {}) });
      expect(res.status, `${method} ${path}`).toBe(410);
      expect(res.body.error, `${method} ${path}`).toMatchObject({ code: 'CUSTOMER_ERASED', issues: [expect.objectContaining({ path: 'customerId' })] });
      expect(res.body.error.message).toContain(erased.body.erasureId);
    }
    // and an id no customer ever had: 404 naming customerId
    for (const [method, path, json] of [
      ['POST', '/v1/customers/never-seen/consents', { purpose: 'email', status: 'granted' }],
      ['POST', '/v1/customers/never-seen/restriction', undefined],
    ] as const) {
      const res = await api.request(method, path, { token: admin(), ...(json ? { json } : {}) });
      expect([res.status, res.body.error.code], `${method} ${path}`).toEqual([404, 'CUSTOMER_NOT_FOUND']);
      expect(res.body.error.issues, `${method} ${path}`).toEqual([expect.objectContaining({ path: 'customerId' })]);
    }
    // the other customer is untouched
    expect((await api.lookup('email:other@example.com')).body.customerId).toBe(otherId);

    const ledger = await api.request('GET', '/v1/admin/erasures', { token: admin() });
    expect(ledger.status).toBe(200);
    expect(ledger.body.items).toEqual([erased.body]);
    expect((await api.request('GET', '/v1/admin/erasures', { token: api.keys.globexAdmin })).body.items).toEqual([]);
  });

  it('keeps an audit log of every GDPR and admin action, paged by cursor, holding no personal value', async () => {
    const texts: string[] = [];
    const pages = await pagesOf(
      async (cursor) => {
        const page = await api.request('GET', `/v1/admin/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: admin() });
        expect(page.status, page.text).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(2);
        texts.push(page.text);
        return {
          items: page.body.items as { action: string; actor: string; customerId?: string; outcome: string }[],
          next: page.body.next as string | undefined,
        };
      },
      { maxPages: 50 },
    );
    const items = pages.flat();
    expect(pages.length).toBeGreaterThan(1);
    const actions = items.map((e) => e.action);
    for (const a of ['customer.export', 'customer.consent', 'customer.restrict', 'customer.unrestrict', 'customer.merge', 'customer.unmerge', 'customer.erase'])
      expect(actions).toContain(a);
    expect(items.find((e) => e.action === 'customer.erase')).toMatchObject({ actor: 'acme-admin', outcome: 'ok' });
    expect(items.filter((e) => e.action === 'customer.export' && e.outcome === 'refused')).toHaveLength(1);

    const everything = [...texts, JSON.stringify(h.ports.audit.dump()), JSON.stringify(h.ports.ledger.dump())].join('\n').toLowerCase();
    for (const value of PERSONAL) expect(everything).not.toContain(value.toLowerCase());
    expect((await api.request('GET', '/v1/admin/audit', { token: api.keys.acmeReader })).status).toBe(403);
    expect((await api.request('GET', '/v1/admin/audit', { token: api.keys.globexAdmin })).body.items).toEqual([]);
  });

  it('documents every GDPR route in the OpenAPI document', async () => {
    const doc = (await api.request('GET', '/openapi.json')).body;
    expect(Object.keys(doc.paths['/v1/customers/{id}'])).toEqual(expect.arrayContaining(['get', 'delete']));
    expect(Object.keys(doc.paths['/v1/customers/{id}/restriction'])).toEqual(expect.arrayContaining(['post', 'delete']));
    for (const p of ['/v1/customers/{id}/export', '/v1/customers/{id}/consents', '/v1/admin/audit', '/v1/admin/erasures']) expect(doc.paths[p]).toBeDefined();
    for (const s of ['ErasureReceipt', 'CustomerExport', 'ConsentRequest', 'AuditPage', 'ErasurePage']) expect(doc.components.schemas[s]).toBeDefined();
  });
});
