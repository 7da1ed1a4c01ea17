import { describe, expect, it } from 'vitest';
import { RebuildProjections } from '../../src/application/projection/rebuild.use-case.js';
import { QuarantineUseCases } from '../../src/application/quarantine/quarantine.use-cases.js';
import { makeHarness, type Harness } from '../support/harness.js';

// Admin actions leave an audit entry (who, when, which customer, counts), never a personal value:
// manual merge and unmerge through the core, rebuild and quarantine replay through their use cases
// given the audit port (as createCore should give it them).

const TENANT = 'acme';
const PERSONAL = ['ada@example.com', 'grace@example.com', 'Ada Lovelace'];

const ingest = async (h: Harness, call: Record<string, unknown>) => {
  const o = await h.core.ingest.ingest(TENANT, h.web, call);
  if (o.status !== 'accepted') throw new Error(`refused: ${JSON.stringify(o)}`);
  return o.customerId;
};

const entries = async (h: Harness) => (await h.ports.audit.list(TENANT, { limit: 100 })).entries;

describe('audit of admin actions', () => {
  it('records manual merge and unmerge, retries included, with the actor and ids only', async () => {
    const h = makeHarness();
    const a = await ingest(h, { type: 'identify', messageId: 'a', anonymousId: 'anon-a', traits: { email: 'ada@example.com', name: 'Ada Lovelace' } });
    const b = await ingest(h, { type: 'identify', messageId: 'b', anonymousId: 'anon-b', traits: { email: 'grace@example.com' } });
    const merged = await h.core.identity.merge(TENANT, a, b, { actor: 'ops-token', operationId: 'op-m' });
    await h.core.identity.merge(TENANT, a, b, { actor: 'ops-token', operationId: 'op-m' });
    const undone = await h.core.identity.unmerge(TENANT, merged.survivorId, merged.mergeId, { actor: 'cli:root' });
    expect(await entries(h)).toEqual([
      expect.objectContaining({
        action: 'customer.merge',
        actor: 'ops-token',
        customerId: merged.survivorId,
        outcome: 'ok',
        detail: { mergeId: merged.mergeId, duplicate: false, otherId: merged.absorbedId, forced: false },
      }),
      expect.objectContaining({ action: 'customer.merge', detail: expect.objectContaining({ duplicate: true }) }),
      expect.objectContaining({
        action: 'customer.unmerge',
        actor: 'cli:root',
        customerId: undone.survivorId,
        detail: expect.objectContaining({ mergeId: merged.mergeId, otherId: undone.restoredId }),
      }),
    ]);
    const dump = JSON.stringify(h.ports.audit.dump()).toLowerCase();
    for (const v of PERSONAL) expect(dump).not.toContain(v.toLowerCase());
  });

  it('records a merge the identity rules refused, and a restriction request that changed nothing, with ids and the code only', async () => {
    const h = makeHarness();
    const a = await ingest(h, { type: 'identify', messageId: 'a', userId: 'u-1', traits: { email: 'ada@example.com' } });
    const b = await ingest(h, { type: 'identify', messageId: 'b', userId: 'u-2', traits: { email: 'grace@example.com' } });
    // two user ids in one customer: refused unless forced
    await expect(h.core.identity.merge(TENANT, a, b, { actor: 'ops-token' })).rejects.toMatchObject({ code: 'IDENTIFIER_LIMIT_EXCEEDED' });
    // an id no customer has is not kept (it could be any text a caller typed)
    await expect(h.core.identity.merge(TENANT, a, 'ada@example.com', { actor: 'ops-token' })).rejects.toMatchObject({ code: 'CUSTOMER_NOT_FOUND' });
    h.clock.advance(1000); // audit ids are time-ordered
    await h.core.gdpr.restrict(TENANT, a, { actor: 'dpo', reason: 'art18-request' });
    h.clock.advance(1000);
    await h.core.gdpr.restrict(TENANT, a, { actor: 'dpo' });
    expect(await entries(h)).toEqual([
      expect.objectContaining({
        action: 'customer.merge',
        actor: 'ops-token',
        customerId: a,
        outcome: 'refused',
        code: 'IDENTIFIER_LIMIT_EXCEEDED',
        detail: { otherId: b, force: false },
      }),
      expect.objectContaining({ action: 'customer.restrict', actor: 'dpo', customerId: a, outcome: 'ok', detail: { changed: true, reason: 'art18-request' } }),
      expect.objectContaining({ action: 'customer.restrict', actor: 'dpo', customerId: a, outcome: 'ok', detail: { changed: false } }),
    ]);
    const dump = JSON.stringify(h.ports.audit.dump()).toLowerCase();
    for (const v of PERSONAL) expect(dump).not.toContain(v.toLowerCase());
  });

  it('records a rebuild with its counts and a quarantine replay with its outcome', async () => {
    const h = makeHarness();
    await ingest(h, { type: 'identify', messageId: 'a', userId: 'u-1', traits: { email: 'ada@example.com' } });
    const bad = await h.core.ingest.ingest(TENANT, h.web, {
      type: 'identify',
      messageId: 'q',
      userId: 'u-2',
      traits: { email: 'grace@example.com' },
      timestamp: 'soon',
    });
    if (bad.status !== 'quarantined') throw new Error('expected the call to be quarantined');

    const rebuild = new RebuildProjections(h.ports.store, h.ports.readModels, h.core.projector, h.clock, undefined, h.ports);
    const result = await rebuild.rebuild(TENANT, undefined, { actor: 'acme-admin' });
    const sources = (_t: string, name: string) => (name === 'web' ? h.web : h.crm);
    const replayed = await new QuarantineUseCases(h.ports.quarantine, h.core.ingest, h.clock, sources, h.ports).replay(TENANT, bad.quarantineId, {
      actor: 'cli:root',
    });
    expect(replayed.status).toBe('rejected');
    expect(await entries(h)).toEqual([
      expect.objectContaining({ action: 'admin.rebuild', actor: 'acme-admin', outcome: 'ok', detail: { events: result.events, docs: result.docs } }),
      expect.objectContaining({
        action: 'quarantine.replay',
        actor: 'cli:root',
        outcome: 'refused',
        code: 'VALIDATION_FAILED',
        detail: { quarantineId: bad.quarantineId, status: 'rejected' },
      }),
    ]);
    expect(JSON.stringify(h.ports.audit.dump())).not.toContain('grace@example.com');
  });

  it('records nothing from use cases built without the audit port, and "system" when no actor is given', async () => {
    const h = makeHarness();
    await ingest(h, { type: 'identify', messageId: 'a', userId: 'u-1' });
    await new RebuildProjections(h.ports.store, h.ports.readModels, h.core.projector, h.clock).rebuild(TENANT);
    expect(await entries(h)).toEqual([]);
    await new RebuildProjections(h.ports.store, h.ports.readModels, h.core.projector, h.clock, undefined, h.ports).rebuild(TENANT);
    expect(await entries(h)).toEqual([expect.objectContaining({ action: 'admin.rebuild', actor: 'system' })]);
  });
});
