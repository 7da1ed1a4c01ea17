import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncIntake } from '../../src/application/ingest/intake.js';
import { makeEngagementHarness, type EngagementHarness } from '../support/engagement-harness.js';
import { at, startApi, type Api } from '../support/http-fixture.js';

// A new user's trial, over HTTP on the in-memory store: Quentin is merged into Paula by force, an
// operator records Quentin's withdrawal of marketing consent and his restriction of processing by
// his own id while he is absorbed, and the merge is undone. Both decisions are Quentin's: they go
// back with him, so an interest he shows afterwards is answered with a suppressed offer, and Paula
// is neither restricted nor withdrawn. They were once left with Paula (the survivor), which sent
// Quentin the offer, and which an erasure of Paula would have destroyed.

describe('an operator’s decisions recorded through an absorbed id go back with that customer on unmerge', () => {
  let api: Api;
  let h: EngagementHarness;
  let paula: string;
  let quentin: string;
  let unmerge: Record<string, unknown>;
  const admin = () => api.keys.acmeAdmin;
  const view = async (id: string) => (await api.request('GET', `/v1/customers/${id}`, { token: admin() })).body;

  beforeAll(async () => {
    api = await startApi(async () => {
      h = makeEngagementHarness();
      return { core: h.core, intake: syncIntake(h.core.ingest), sourceOf: (_t, name) => (name === 'crm' ? h.crm : h.web), metrics: h.ports.metrics };
    });
    const identify = async (call: Record<string, unknown>) => expect((await api.send('identify', call)).status).toBe(200);
    await identify({ userId: 'paula', messageId: 'p-1', timestamp: at(0), traits: { email: 'p@example.com' } });
    await identify({
      userId: 'quentin',
      messageId: 'q-1',
      timestamp: at(1),
      traits: { email: 'q@example.com' },
      context: { consent: { categoryPreferences: { marketing: true } } },
    });
    paula = (await api.lookup('user_id:paula')).body.customerId;
    quentin = (await api.lookup('user_id:quentin')).body.customerId;

    const merged = await api.request('POST', `/v1/customers/${paula}/merge`, { token: admin(), json: { otherId: quentin, force: true } });
    expect(merged.status, merged.text).toBe(200);
    expect(merged.body).toMatchObject({ survivorId: paula, absorbedId: quentin });
    h.clock.advance(60_000);
    const withdrawn = await api.request('POST', `/v1/customers/${quentin}/consents`, { token: admin(), json: { purpose: 'marketing', status: 'withdrawn' } });
    expect(withdrawn.status, withdrawn.text).toBe(200);
    const restricted = await api.request('POST', `/v1/customers/${quentin}/restriction`, { token: admin(), json: { reason: 'art18' } });
    expect(restricted.body).toMatchObject({ customerId: paula, restricted: true, changed: true });
    // while they are one customer, the decisions are the cluster's
    expect((await view(paula)).restriction.restricted).toBe(true);
    h.clock.advance(60_000);
    const unmerged = await api.request('POST', `/v1/customers/${paula}/unmerge`, { token: admin(), json: { mergeId: merged.body.mergeId } });
    expect(unmerged.status, unmerged.text).toBe(200);
    unmerge = unmerged.body;
  });
  afterAll(async () => {
    await api?.close();
  });

  it('gives Quentin back the two decisions recorded through his id', () => {
    expect(unmerge).toMatchObject({ survivorId: paula, restoredId: quentin, reassignedEvents: 2 });
  });

  it('Quentin’s view holds his withdrawal and his restriction; Paula’s holds neither', async () => {
    const q = await view(quentin);
    expect(q.consents.marketing).toMatchObject({ granted: false, status: 'withdrawn' });
    expect(q.restriction.restricted).toBe(true);
    const p = await view(paula);
    expect(p.consents.marketing).toBeUndefined();
    expect(p.restriction?.restricted ?? false).toBe(false);
  });

  it('the restriction API agrees: Paula is not restricted (nothing to lift), Quentin is', async () => {
    expect((await api.request('DELETE', `/v1/customers/${paula}/restriction`, { token: admin() })).body).toMatchObject({
      customerId: paula,
      restricted: false,
      changed: false,
    });
    expect((await api.request('POST', `/v1/customers/${quentin}/restriction`, { token: admin() })).body).toMatchObject({
      customerId: quentin,
      restricted: true,
      changed: false,
    });
  });

  it('an interest Quentin shows after the unmerge sends him nothing', async () => {
    h.clock.advance(60_000);
    const res = await api.request('POST', '/v1/interests', { writeKey: api.keys.acmeWrite, json: { customerId: 'quentin', interest: 'Electronics' } });
    expect(res.status).toBe(200);
    const decisions = (await api.request('GET', `/v1/customers/${quentin}/engagements`, { token: api.keys.acmeReader })).body;
    expect(decisions).toMatchObject({ customerId: quentin, sent: 0, suppressed: 1, items: [{ outcome: 'suppressed', reason: 'RESTRICTED' }] });
    expect(h.notifier.published).toEqual([]);
  });

  it('Quentin’s access export holds his withdrawal; Paula’s does not', async () => {
    const q = (await api.request('GET', `/v1/customers/${quentin}/export`, { token: admin() })).body;
    expect(q.consents.history).toEqual(expect.arrayContaining([expect.objectContaining({ purpose: 'marketing', status: 'withdrawn', streamId: quentin })]));
    const p = (await api.request('GET', `/v1/customers/${paula}/export`, { token: admin() })).body;
    expect(p.consents.history).toEqual([]);
    expect(p.events.map((e: { type: string }) => e.type)).not.toContain('ProcessingRestricted');
  });
});
