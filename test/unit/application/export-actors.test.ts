import { afterEach, describe, expect, it } from 'vitest';
import { AUTO_MERGE_ACTOR } from '../../../src/application/matching/match-book.projection.js';
import { closeHarnesses, makeHarness } from '../../support/harness.js';
import { accepted, TENANT } from './ingest-support.js';

// An access export shows the subject what was done with their data, not who on the controller's
// staff did it: an operator's merge, unmerge, consent and restriction name their actor and source
// as "operator", never the credential id or account (a credentials file's id, the env admin
// token's, `cli:<os user>`). An automated decision keeps its name, and a call's source is the
// system it came from. The audit log still names the staff member, for the controller.

afterEach(closeHarnesses);

const STAFF = ['jane-doe-ops', 'cli:jdoe', 'env-admin-token'];

describe.each(['memory', 'sqlite'] as const)('who acted, in an access export (on %s)', (store) => {
  it('names staff actions by their kind, "operator", automated ones by the system, and keeps the ids in the audit log', async () => {
    const h = makeHarness({}, { store });
    const ann = accepted(
      await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'ann', userId: 'u-ann', traits: { email: 'ann@example.com' } }),
    );
    const crm = accepted(await h.core.ingest.ingest(TENANT, h.crm, { type: 'identify', messageId: 'ann-crm', userId: 'crm-ann' }));
    const app = accepted(await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'ann-app', userId: 'app-ann' }));
    const first = await h.core.identity.merge(TENANT, ann.customerId, crm.customerId, { actor: 'jane-doe-ops', reason: 'same person', force: true });
    await h.core.identity.unmerge(TENANT, first.survivorId, first.mergeId, { actor: 'cli:jdoe', reason: 'not the same' });
    await h.core.identity.merge(TENANT, ann.customerId, crm.customerId, { actor: 'env-admin-token', force: true });
    await h.core.identity.merge(TENANT, ann.customerId, app.customerId, { actor: AUTO_MERGE_ACTOR, force: true });
    await h.core.consents.record(TENANT, ann.customerId, { purpose: 'marketing', status: 'granted' }, { actor: 'jane-doe-ops' });
    await h.core.consents.record(TENANT, ann.customerId, { purpose: 'analytics', status: 'granted', source: 'preference-center' }, { actor: 'jane-doe-ops' });
    await h.core.gdpr.restrict(TENANT, ann.customerId, { actor: 'cli:jdoe' });
    await h.core.gdpr.unrestrict(TENANT, ann.customerId, { actor: 'env-admin-token' });

    const doc = await h.core.export.export(TENANT, ann.customerId, { actor: 'dpo' });
    const text = JSON.stringify(doc);
    for (const id of STAFF) expect(text).not.toContain(id);
    expect(text).not.toContain('operator:');

    const sources = new Set(doc.events.map((e) => e.source));
    expect([...sources].sort()).toEqual(['crm', 'operator', 'preference-center', 'system:auto-merge', 'web']);
    const actorOf = (type: string) =>
      doc.events
        .filter((e) => e.type === type)
        .map((e) => (e.data as { actor?: string; evidence?: { actor?: string } }).evidence?.actor ?? (e.data as { actor?: string }).actor);
    expect(actorOf('CustomerMerged').sort()).toEqual(['operator', 'operator', 'system:auto-merge']);
    expect(actorOf('CustomerUnmerged')).toEqual(['operator']);
    expect(actorOf('ProcessingRestricted')).toEqual(['operator']);
    expect(actorOf('ProcessingRestrictionLifted')).toEqual(['operator']);
    if (doc.identity.status !== 'active') throw new Error('the cluster is active');
    expect(doc.identity.merges.map((m) => m.evidence.actor).sort()).toEqual(['operator', 'system:auto-merge']);
    expect(doc.identity.unmerges.map((u) => u.actor)).toEqual(['operator']);
    expect(doc.consents.history.map((c) => [c.purpose, c.source]).sort()).toEqual([
      ['analytics', 'preference-center'],
      ['marketing', 'operator'],
    ]);
    expect(doc.customer360?.consents.marketing?.source).toBe('operator');
    expect(doc.metadata.actors).toMatch(/names its actor and source as "operator", not the account or credential/);

    // the controller's own record keeps who did what
    const audit = (await h.core.gdpr.auditLog(TENANT, { limit: 100 })).entries.map((e) => e.actor);
    for (const id of STAFF) expect(audit).toContain(id);
    // and the stored events and the 360 view over the API are as recorded
    const stored = await h.ports.store.readStream(TENANT, ann.customerId);
    expect(stored.map((e) => e.source)).toContain('operator:jane-doe-ops');
    expect((await h.core.queries.get360(TENANT, ann.customerId)).kind === 'view').toBe(true);
  });
});
