import { describe, expect, it } from 'vitest';
import { createHttpApp } from '../../src/adapters/http/app.js';
import { createCore, createPorts, defaultSourceOf, MemoryMetrics, StaticAuthenticator, syncIntake } from '../../src/public/index.js';
import { memoryStores } from '../../src/public/memory.js';

// A consent recorded without a source takes one derived from the actor: `operator:<actor>` where
// that names no more than a system may (it is stored unencrypted), else `operator`, never a refusal
// blaming a source the caller did not give. An actor like an email address is kept by the audit
// log only. Through the library and through HTTP (the actor is the credential's id there).

const tenant = 'shop';
const admin = 'admin-token-0123456789abcdef';

const embedded = () => {
  const stores = memoryStores();
  const core = createCore(createPorts({ stores, claimSecret: 'consent-default-source-claim-secret-0123' }), {
    inlineProjection: true,
    sourceOf: defaultSourceOf,
  });
  return { stores, core };
};

const customerOf = async (core: ReturnType<typeof embedded>['core']): Promise<string> => {
  const r = await core.ingest.ingest(tenant, defaultSourceOf(tenant, 'web'), { type: 'identify', userId: 'u1', traits: { email: 'a@shop.example' } });
  if (r.status !== 'accepted') throw new Error('setup call refused');
  return r.customerId;
};

describe('a consent recorded without a source', () => {
  it('through the library: an actor that is an email address gives the source `operator`, and the audit log keeps the actor', async () => {
    const { stores, core } = embedded();
    const id = await customerOf(core);
    const done = await core.consents.record(tenant, id, { purpose: 'marketing', status: 'granted' }, { actor: 'ops@shop' });
    expect(done).toMatchObject({ customerId: id, purpose: 'marketing', status: 'granted', source: 'operator', duplicate: false });
    const withdrawn = await core.consents.record(tenant, id, { purpose: 'marketing', status: 'withdrawn' }, { actor: 'agent-7' });
    expect(withdrawn.source).toBe('operator:agent-7');
    const audit = (await stores.audit.list(tenant, { limit: 10 })).entries.filter((e) => e.action === 'customer.consent');
    expect(audit.map((e) => e.actor)).toEqual(expect.arrayContaining(['ops@shop', 'agent-7']));
    // a source given that is no system's name is still refused, naming the field and what was given
    const bad = await core.consents.record(tenant, id, { purpose: 'sms', status: 'granted', source: 'ops@shop' }, { actor: 'x' }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'VALIDATION_FAILED', path: ['source'] });
    expect((bad as Error).message).toContain('got "ops@shop"');
  });

  it('over HTTP: a credential whose id holds "@" records it as `operator`', async () => {
    const { core } = embedded();
    const id = await customerOf(core);
    const http = createHttpApp({
      core,
      intake: syncIntake(core.ingest),
      sourceOf: defaultSourceOf,
      metrics: new MemoryMetrics(),
      now: Date.now,
      auth: new StaticAuthenticator([{ id: 'ops@shop.example', tenant, kind: 'token', secret: admin, scopes: ['read', 'admin', 'gdpr'] }]),
    });
    const res = await http.request(`/v1/customers/${id}/consents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ purpose: 'newsletter', status: 'granted' }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ customerId: id, purpose: 'newsletter', source: 'operator' });
    const view = await http.request(`/v1/customers/${id}`, { headers: { authorization: `Bearer ${admin}` } });
    expect(((await view.json()) as { consents: Record<string, unknown> }).consents.newsletter).toMatchObject({ granted: true, source: 'operator' });
  });
});
