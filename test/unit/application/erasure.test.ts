import { describe, expect, it } from 'vitest';
import { aliceValues, ALICE, BOB, seedScenario, scenarioCalls } from '../../support/erasure-scenario.js';
import { dumpViews, makeHarness, type Harness } from '../../support/harness.js';
import { leaked, memoryDump } from '../../support/store-dump.js';
import { accepted, domainError, TENANT } from './ingest-support.js';

const seeded = async (h: Harness = makeHarness()) => {
  const s = await seedScenario((call) => h.core.ingest.ingest(TENANT, h.web, call));
  h.clock.advance(60_000);
  return { h, ...s };
};

const othersOf = (docs: unknown[], erased: readonly string[]) => docs.filter((d) => !erased.includes((d as { customerId: string }).customerId));

describe('erasure (in memory)', () => {
  it('leaves none of the erased cluster’s personal values in any store, and every other view as it was', async () => {
    const { h, alice, aliceSurvivor } = await seeded();
    expect(leaked(memoryDump(h), aliceValues).length).toBeGreaterThan(0); // the search can find them
    const before = othersOf(await dumpViews(h, TENANT), alice);
    expect(before.length).toBeGreaterThan(2);

    // erase through an absorbed id: the whole cluster goes
    const receipt = await h.core.gdpr.erase(TENANT, alice[1]!, { actor: 'dpo@test', reason: 'art17' });

    expect(receipt).toMatchObject({ tenant: TENANT, requestedId: alice[1], actor: 'dpo@test' });
    expect([...receipt.customers].sort()).toEqual([...alice].sort());
    expect(receipt.customers[0]).toBe(aliceSurvivor);
    expect(receipt.removed).toMatchObject({ streams: 3, dataKeys: 3, views: 3, quarantined: 2 });
    expect(receipt.removed.claims).toBeGreaterThanOrEqual(7);
    expect(leaked(memoryDump(h), aliceValues)).toEqual([]);
    expect(othersOf(await dumpViews(h, TENANT), alice)).toEqual(before);
    // Bob's quarantined call stays
    expect(memoryDump(h)).toContain(BOB.email.toLowerCase());
    // audited with ids and counts only; recorded in the ledger
    const audit = await h.ports.audit.list(TENANT, { limit: 10 });
    expect(audit.entries).toEqual([
      expect.objectContaining({
        action: 'customer.erase',
        customerId: alice[1],
        actor: 'dpo@test',
        outcome: 'ok',
        detail: expect.objectContaining({ erasureId: receipt.erasureId, reason: 'art17' }),
      }),
    ]);
    expect(await h.ports.ledger.find(TENANT, alice[2]!)).toEqual(receipt);
  });

  it('is idempotent: any id of the cluster answers the same receipt, with nothing new recorded', async () => {
    const { h, alice } = await seeded();
    const first = await h.core.gdpr.erase(TENANT, alice[0]!, { actor: 'a' });
    const events = JSON.stringify(h.ports.store.dump());
    for (const id of alice) expect(await h.core.gdpr.erase(TENANT, id, { actor: 'b' })).toEqual(first);
    expect(JSON.stringify(h.ports.store.dump())).toBe(events);
  });

  it('refuses every later command on an erased stream with CUSTOMER_ERASED', async () => {
    const { h, alice } = await seeded();
    await h.core.gdpr.erase(TENANT, alice[0]!, { actor: 'a' });
    for (const id of alice) {
      expect(await domainError(h.core.gdpr.restrict(TENANT, id, { actor: 'a' }))).toMatchObject({ code: 'CUSTOMER_ERASED' });
    }
    expect((await domainError(h.core.identity.merge(TENANT, alice[0]!, alice[1]!, { actor: 'a' }))).code).toMatch(/CUSTOMER_ERASED|CUSTOMER_NOT_FOUND/);
  });

  it('starts a fresh customer for the same email afterwards, holding nothing of the old one', async () => {
    const { h, alice } = await seeded();
    await h.core.gdpr.erase(TENANT, alice[0]!, { actor: 'a' });
    const out = accepted(
      await h.core.ingest.ingest(TENANT, h.web, {
        type: 'identify',
        messageId: 'm-new',
        anonymousId: 'anon-new-1',
        traits: { email: ALICE.email },
        timestamp: new Date(h.clock.now()).toISOString(),
      }),
    );
    expect(out.created).toBe(true);
    expect(alice).not.toContain(out.customerId);
    const doc = await h.ports.readModels.get(TENANT, out.customerId);
    if (doc?.kind !== 'view') throw new Error('expected a view');
    expect(doc.view.aliases).toEqual([]);
    expect(
      Object.values(doc.view.identifiers)
        .map((i) => i.value)
        .sort(),
    ).toEqual([ALICE.email.toLowerCase(), 'anon-new-1']);
    expect(doc.view.orders.count).toBe(0);
    expect(leaked(JSON.stringify(doc).toLowerCase(), aliceValues)).toEqual([ALICE.email.toLowerCase()]);
  });

  it('resurrects nothing when an old messageId is replayed: the idempotency record answers duplicate', async () => {
    const { h, alice } = await seeded();
    await h.core.gdpr.erase(TENANT, alice[0]!, { actor: 'a' });
    const dump = memoryDump(h);
    for (const call of scenarioCalls().valid.filter((c) => String(c.messageId).startsWith('m-a'))) {
      expect((await h.core.ingest.ingest(TENANT, h.web, call)).status).toBe('duplicate');
    }
    expect(memoryDump(h)).toBe(dump);
  });

  it('finishes an erasure that died after its tombstone, keeping its erasure id', async () => {
    const { h, alice } = await seeded();
    const destroy = h.ports.keys.destroy.bind(h.ports.keys);
    let calls = 0;
    h.ports.keys.destroy = async (t, id) => {
      if (++calls === 2) throw new Error('process died');
      return destroy(t, id);
    };
    await expect(h.core.gdpr.erase(TENANT, alice[2]!, { actor: 'a' })).rejects.toThrow('process died');
    expect(await h.ports.ledger.find(TENANT, alice[0]!)).toBeUndefined();
    h.ports.keys.destroy = destroy;

    const receipt = await h.core.gdpr.erase(TENANT, alice[0]!, { actor: 'b' });
    expect(receipt.requestedId).toBe(alice[2]);
    const tombstone = (await h.ports.store.readStream(TENANT, alice[0]!)).at(-1)!;
    expect(tombstone).toMatchObject({ type: 'CustomerErased', data: { erasureId: receipt.erasureId, requestedId: alice[2] } });
    expect(leaked(memoryDump(h), aliceValues)).toEqual([]);
  });

  it('re-applies every recorded erasure after a restore from an older backup', async () => {
    const { h, alice, others } = await seeded();
    const backup = makeHarness();
    await seedScenario((call) => backup.core.ingest.ingest(TENANT, backup.web, call));
    const receipt = await h.core.gdpr.erase(TENANT, alice[0]!, { actor: 'a' });

    // the "restore": a deployment holding the data from before the erasure, plus the kept ledger
    await backup.ports.ledger.record(receipt);
    expect((await dumpViews(backup, TENANT)).length).toBe(alice.length + others.length);
    // customer ids are random, so the backup's own ids of Alice's cluster stand in for the restored ones
    await backup.ports.ledger.record({ ...receipt, erasureId: `${receipt.erasureId}-b`, customers: await clusterIds(backup, ALICE.email) });

    const report = await backup.core.gdpr.reapply(TENANT, { actor: 'ops' });
    expect(report).toMatchObject({ erasures: 2, tombstoned: 3, dataKeys: 3, views: 3, quarantined: 2 });
    expect(leaked(memoryDump(backup), aliceValues)).toEqual([]);
    expect(await backup.core.gdpr.reapply(TENANT)).toMatchObject({ erasures: 2, tombstoned: 0, dataKeys: 0, views: 0, quarantined: 0 });
  });

  it('re-applies an erasure to the quarantine only up to its time: a new customer with the same email keeps their refused calls', async () => {
    const { h, alice } = await seeded();
    const receipt = await h.core.gdpr.erase(TENANT, alice[0]!, { actor: 'a' });
    h.clock.advance(60_000);
    // someone takes up the erased email afterwards: a fresh customer, and a call of theirs refused
    const fresh = accepted(
      await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'new-1', userId: 'u-new', traits: { email: ALICE.email } }),
    );
    expect(receipt.customers).not.toContain(fresh.customerId);
    const refused = await h.core.ingest.ingest(TENANT, h.web, {
      type: 'identify',
      messageId: 'new-2',
      userId: 'u-new',
      timestamp: '2024-02-30',
      traits: { email: ALICE.email, plan: 'pro' },
    });
    expect(refused.status).toBe('quarantined');
    const entryId = refused.status === 'quarantined' ? refused.quarantineId : '';

    const report = await h.core.gdpr.reapply(TENANT, { actor: 'ops' });
    expect(report).toMatchObject({ erasures: 1, quarantined: 0 });
    expect(await h.ports.quarantine.get(TENANT, entryId)).toBeDefined();
    expect((await h.core.export.export(TENANT, fresh.customerId, { actor: 'dpo' })).quarantine.entries.map((e) => e.id)).toEqual([entryId]);
    // an erasure of the new customer takes it, as ever
    expect((await h.core.gdpr.erase(TENANT, fresh.customerId, { actor: 'a' })).removed.quarantined).toBe(1);
  });
});

const clusterIds = async (h: Harness, email: string): Promise<string[]> => {
  const key = h.ports.hasher.claimKey(TENANT, 'email', email.toLowerCase());
  const owner = (await h.ports.store.readClaims(TENANT, [key])).get(key);
  if (!owner) throw new Error(`nobody holds ${email}`);
  const survivor = await h.core.repo.loadSurvivor(TENANT, owner);
  return [survivor.id, ...survivor.members];
};
