import { CustomerQueries } from '../../../src/application/customers/customer.queries.js';
import { describe, expect, it } from 'vitest';
import { ExportUseCase } from '../../../src/application/gdpr/export.use-case.js';
import { makeHarness, type Harness } from '../../support/harness.js';
import { accepted, domainError, iso, quarantined, TENANT } from './ingest-support.js';

// The access export over the whole core on in-memory adapters: what a person asking "what do you
// hold about me?" gets, for the whole identity cluster, and what the audit log keeps of it.

const HOUR = 3_600_000;

const exporter = (h: Harness) => new ExportUseCase(h.ports, h.core.repo, h.core.codec, h.core.queries);

/** Two customers (web anonymous, then CRM with the same email) merged by the shared email. */
const twoMerged = async (h: Harness) => {
  const t = h.clock.now();
  const web = accepted(
    await h.core.ingest.ingest(TENANT, h.web, {
      type: 'identify',
      messageId: 'w-1',
      anonymousId: 'anon-ada',
      traits: { email: 'Ada@Example.com', name: 'Ada Lovelace' },
      context: { consent: { categoryPreferences: { Marketing: true, Analytics: false } }, ip: '203.0.113.7' },
      timestamp: iso(t + HOUR),
    }),
  );
  const crm = accepted(
    await h.core.ingest.ingest(TENANT, h.crm, {
      type: 'identify',
      messageId: 'c-1',
      userId: 'crm-42',
      traits: { phone: '+44 20 7946 0018', address: { city: 'London' } },
      timestamp: iso(t + 2 * HOUR),
    }),
  );
  const link = accepted(
    await h.core.ingest.ingest(TENANT, h.crm, {
      type: 'identify',
      messageId: 'c-2',
      userId: 'crm-42',
      traits: { email: 'ada@example.com' },
      timestamp: iso(t + 3 * HOUR),
    }),
  );
  expect(link.merged).toEqual([crm.customerId]);
  return { survivor: web.customerId, absorbed: crm.customerId };
};

describe('access export', () => {
  it('holds the decrypted events of every stream of the cluster, the 360 view, consents and merge evidence', async () => {
    const h = makeHarness();
    const { survivor, absorbed } = await twoMerged(h);
    const doc = await exporter(h).export(TENANT, survivor, { actor: 'dpo' });

    expect(doc.metadata).toMatchObject({ tenant: TENANT, requestedId: survivor, customerId: survivor, exportedAt: iso(h.clock.now()) });
    expect([...doc.metadata.customers].sort()).toEqual([survivor, absorbed].sort());
    const stored = [...(await h.ports.store.readStream(TENANT, survivor)), ...(await h.ports.store.readStream(TENANT, absorbed))];
    expect(doc.events.map((e) => e.eventId).sort()).toEqual(stored.map((e) => e.eventId).sort());
    expect(doc.metadata.counts).toMatchObject({ streams: 2, events: stored.length, merges: 1 });
    // the stored events hold personal values only as ciphertext; the export decrypts them
    expect(JSON.stringify(stored)).not.toContain('Ada Lovelace');
    const text = JSON.stringify(doc.events);
    for (const value of ['ada@example.com', 'Ada Lovelace', '+442079460018', 'London', 'anon-ada', 'crm-42']) expect(text).toContain(value);
    const linked = doc.events.find((e) => e.type === 'IdentifierLinked' && e.streamId === absorbed && (e.data as { type: string }).type === 'phone');
    expect(linked).toMatchObject({ source: 'crm', pii: { value: '+442079460018' } });

    expect(doc.customer360?.customerId).toBe(survivor);
    expect(doc.customer360?.aliases).toEqual([absorbed]);
    expect(doc.identity.status).toBe('active');
    if (doc.identity.status !== 'active') return;
    expect(doc.identity.merges).toEqual([
      expect.objectContaining({ absorbedId: absorbed, evidence: expect.objectContaining({ rule: 'shared-identifier', triggeringEventId: 'c-2' }) }),
    ]);
    expect(doc.identity.identifiers).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'email', value: 'ada@example.com', linkedBy: expect.objectContaining({ messageId: 'w-1' }) })]),
    );

    expect(doc.consents.current).toMatchObject({ marketing: { granted: true, status: 'granted' }, analytics: { granted: false, status: 'withdrawn' } });
    expect(doc.consents.history.map((c) => [c.purpose, c.status])).toEqual(
      expect.arrayContaining([
        ['marketing', 'granted'],
        ['analytics', 'withdrawn'],
      ]),
    );
    expect(doc.engagement).toEqual({ decisions: [] });
    expect(doc.quarantine.entries).toEqual([]);
  });

  it("includes quarantined payloads that carry one of the cluster's identifiers, and only those", async () => {
    const h = makeHarness();
    const { survivor } = await twoMerged(h);
    const mine = quarantined(
      await h.core.ingest.ingest(TENANT, h.web, {
        type: 'identify',
        messageId: 'q-1',
        userId: 'u-x',
        traits: { email: ' ADA@example.com' },
        timestamp: 'not a time',
      }),
    );
    quarantined(await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'q-2', userId: 'someone-else', timestamp: 'not a time' }));
    const doc = await exporter(h).export(TENANT, survivor, { actor: 'dpo' });
    expect(doc.quarantine.entries.map((e) => e.id)).toEqual([mine.quarantineId]);
    expect(doc.quarantine.entries[0]).toMatchObject({
      status: 'pending',
      reason: { code: mine.error.code },
      payload: expect.objectContaining({ messageId: 'q-1' }),
    });
    expect(doc.metadata.counts.quarantined).toBe(1);
  });

  it("answers for a merged-away id with the survivor's whole cluster", async () => {
    const h = makeHarness();
    const { survivor, absorbed } = await twoMerged(h);
    const doc = await exporter(h).export(TENANT, absorbed, { actor: 'dpo' });
    expect(doc.metadata).toMatchObject({ requestedId: absorbed, customerId: survivor });
    expect(doc.metadata.counts.streams).toBe(2);
    expect(JSON.stringify(doc.events)).toContain('Ada Lovelace');
  });

  it('is audited with ids and counts only, never a personal value', async () => {
    const h = makeHarness();
    const { survivor, absorbed } = await twoMerged(h);
    await exporter(h).export(TENANT, absorbed, { actor: 'dpo' });
    const { entries } = await h.ports.audit.list(TENANT, { limit: 10 });
    expect(entries).toEqual([
      expect.objectContaining({
        action: 'customer.export',
        actor: 'dpo',
        customerId: survivor,
        outcome: 'ok',
        detail: expect.objectContaining({ requestedId: absorbed, customers: 2 }),
      }),
    ]);
    const dump = JSON.stringify(h.ports.audit.dump()).toLowerCase();
    for (const value of ['ada@example.com', 'ada lovelace', '+442079460018', 'london', 'anon-ada', 'crm-42']) expect(dump).not.toContain(value);
  });

  it('refuses an unknown id with CUSTOMER_NOT_FOUND, and audits the refusal', async () => {
    const h = makeHarness();
    const e = await domainError(exporter(h).export(TENANT, 'nobody', { actor: 'dpo' }));
    expect(e).toMatchObject({ code: 'CUSTOMER_NOT_FOUND', path: ['customerId'] });
    expect((await h.ports.audit.list(TENANT, { limit: 10 })).entries).toEqual([
      expect.objectContaining({ action: 'customer.export', customerId: 'nobody', outcome: 'refused', code: 'CUSTOMER_NOT_FOUND' }),
    ]);
  });

  it('refuses an id the erasure ledger covers with CUSTOMER_ERASED', async () => {
    const h = makeHarness();
    const { survivor, absorbed } = await twoMerged(h);
    const removed = { streams: 2, dataKeys: 2, claims: 4, views: 2, snapshots: 0, quarantined: 0 };
    await h.ports.ledger.record({
      erasureId: h.ports.ids.newId(),
      tenant: TENANT,
      requestedId: survivor,
      customers: [survivor, absorbed],
      erasedAt: iso(h.clock.now()),
      actor: 'dpo',
      removed,
    });
    expect(await domainError(exporter(h).export(TENANT, absorbed, { actor: 'dpo' }))).toMatchObject({ code: 'CUSTOMER_ERASED' });
  });

  it('exports every event and the 360 view folded from the log when the stored view has not caught up (asynchronous projection)', async () => {
    const h = makeHarness({}, { inlineProjection: false });
    const { survivor } = await twoMerged(h);
    expect(await h.ports.readModels.get(TENANT, survivor)).toBeUndefined();
    const doc = await exporter(h).export(TENANT, survivor, { actor: 'dpo' });
    expect(doc.customer360).toMatchObject({ customerId: survivor });
    expect(JSON.stringify(doc.customer360)).toContain('Ada Lovelace');
    expect(doc.customer360Note).toBeUndefined();
    expect(JSON.stringify(doc.events)).toContain('Ada Lovelace');
    expect(doc.consents.history.length).toBe(2);
  });

  it('says so when its queries cannot fold the view (no projector given) and the stored one has not caught up', async () => {
    const h = makeHarness({}, { inlineProjection: false });
    const { survivor } = await twoMerged(h);
    const doc = await new ExportUseCase(h.ports, h.core.repo, h.core.codec, new CustomerQueries(h.ports, h.core.repo, h.core.codec)).export(TENANT, survivor, {
      actor: 'dpo',
    });
    expect(doc.customer360).toBeNull();
    expect(doc.customer360Note).toMatch(/not caught up/);
    expect(JSON.stringify(doc.events)).toContain('Ada Lovelace');
  });
});
