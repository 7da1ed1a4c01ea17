import { fc } from '@fast-check/vitest';
import { expect } from 'vitest';
import type { Core } from '../../src/application/core.js';
import type { CorePorts } from '../../src/application/deps.js';
import type { ErasureReceipt } from '../../src/application/ports/erasure-ledger.port.js';
import type { EventStore } from '../../src/application/ports/event-store.port.js';
import type { IngestSource } from '../../src/application/ingest/ingest.use-case.js';
import { DomainError } from '../../src/domain/shared/errors.js';
import { leaked } from './store-dump.js';

// The erasure race: a cluster of four customers built by manual merges, then erasures of its
// members racing unmerges and re-merges of the same cluster. Whatever the interleaving, an
// erasure that answers has erased the requested id's whole cluster as it stands when its
// tombstone commits, nothing an unmerge restores afterwards carries erased data, and erasures of
// one cluster share one erasure id.

export type RaceOp = { readonly kind: 'erase' | 'unmerge' | 'merge'; readonly member: number };

export type RaceTarget = {
  readonly core: Core;
  readonly ports: CorePorts;
  readonly source: IngestSource;
  /** everything the deployment holds, lower-cased */
  readonly dump: () => Promise<string>;
};

export type Customer = { readonly id: string; readonly userId: string; readonly email: string; readonly name: string };

/** Personal values unique to a tenant and a member, so a dump search finds only what this run wrote. */
const personOf = (tenant: string, k: number) => ({
  userId: `u-${tenant}-${k}`,
  email: `member${k}.${tenant}@race-example.org`,
  name: `Quillon${k}${tenant.replace(/[^a-z0-9]/gi, '')} Brackenwhistle`,
});

/** Four customers merged into one cluster by hand; returns them in creation order and the survivor. */
export const buildCluster = async (t: RaceTarget, tenant: string): Promise<{ readonly members: readonly Customer[]; readonly survivorId: string }> => {
  const members: Customer[] = [];
  for (let k = 0; k < 4; k++) {
    const p = personOf(tenant, k);
    const out = await t.core.ingest.ingest(tenant, t.source, {
      type: 'identify',
      messageId: `seed-${k}`,
      userId: p.userId,
      traits: { email: p.email, name: p.name },
      timestamp: new Date(Date.UTC(2026, 0, 1, 9, k)).toISOString(),
    });
    if (out.status !== 'accepted' || !out.created) throw new Error(`seed ${k}: ${JSON.stringify(out)}`);
    members.push({ id: out.customerId, ...p });
  }
  let survivorId = members[0]!.id;
  for (const m of members.slice(1)) survivorId = (await t.core.identity.merge(tenant, survivorId, m.id, { actor: 'seed', force: true })).survivorId;
  const survivor = await t.core.repo.loadSurvivor(tenant, members[3]!.id);
  expect(survivor.id).toBe(survivorId);
  expect([...survivor.members].sort()).toEqual(
    members
      .map((m) => m.id)
      .filter((id) => id !== survivorId)
      .sort(),
  );
  return { members, survivorId };
};

export type OpOutcome =
  | { readonly op: RaceOp; readonly ok: true; readonly receipt?: ErasureReceipt | undefined }
  | { readonly op: RaceOp; readonly ok: false; readonly code: string };

/** Codes a merge or an unmerge may meet when the cluster changed (or went) under it. */
const EXPECTED_IDENTITY_CODES = new Set([
  'CUSTOMER_ERASED',
  'CUSTOMER_NOT_FOUND',
  'MERGE_SAME_CUSTOMER',
  'MERGE_NOT_UNDOABLE',
  'MERGE_NOT_FOUND',
  'CONCURRENCY_CONFLICT',
]);

/** Runs one op of the race: an erasure of a member, an unmerge of its merge, or a re-merge of it into the cluster. */
export const runOp = async (t: RaceTarget, tenant: string, members: readonly Customer[], anchor: string, op: RaceOp): Promise<OpOutcome> => {
  const target = members[op.member % members.length]!.id;
  try {
    if (op.kind === 'erase') return { op, ok: true, receipt: await t.core.gdpr.erase(tenant, target, { actor: 'race' }) };
    if (op.kind === 'merge') {
      await t.core.identity.merge(tenant, anchor, target, { actor: 'race', force: true });
      return { op, ok: true };
    }
    t.core.repo.evict(tenant, target);
    const survivor = await t.core.repo.loadSurvivor(tenant, target);
    const records = [...survivor.merges.values()];
    const record = records.find((r) => r.absorbedId === target) ?? records[0];
    if (!record) return { op, ok: false, code: 'NOTHING_TO_UNMERGE' };
    await t.core.identity.unmerge(tenant, survivor.id, record.mergeId, { actor: 'race' });
    return { op, ok: true };
  } catch (e) {
    if (!(e instanceof DomainError)) throw e;
    // an erasure may give up after its retries (a 409 asking to send it again); nothing else
    if (op.kind === 'erase') expect(e.code, `${op.kind} ${target}: ${e.message}`).toBe('CONCURRENCY_CONFLICT');
    else expect(EXPECTED_IDENTITY_CODES, `${op.kind} ${target}: ${e.code} ${e.message}`).toContain(e.code);
    return { op, ok: false, code: e.code };
  }
};

/** Counts the commits the store refused for a stale expected version (the races that really happened). */
export const countConflicts = (store: EventStore): { readonly conflicts: () => number } => {
  let n = 0;
  const commit = store.commit.bind(store);
  store.commit = async (c) => {
    const r = await commit(c);
    if (r.status === 'conflict') n++;
    return r;
  };
  return { conflicts: () => n };
};

/** The erasure ids of the CustomerErased events a stream holds. */
const tombstonesOf = async (ports: CorePorts, tenant: string, id: string): Promise<string[]> =>
  (await ports.store.readStream(tenant, id)).flatMap((e) => (e.type === 'CustomerErased' ? [(e.data as { erasureId: string }).erasureId] : []));

/** Everything the race must leave true, checked once every op has settled. */
export const checkRace = async (t: RaceTarget, tenant: string, members: readonly Customer[], outcomes: readonly OpOutcome[]): Promise<ErasureReceipt[]> => {
  const receipts = outcomes.flatMap((o) => (o.ok && o.receipt ? [{ receipt: o.receipt, requested: members[o.op.member % members.length]!.id }] : []));
  const byId = new Map(members.map((m) => [m.id, m]));
  const erased = new Set<string>();
  for (const { receipt, requested } of receipts) {
    // the requested id is always part of what was erased
    expect(receipt.customers, `erasure of ${requested}`).toContain(requested);
    for (const id of receipt.customers) erased.add(id);
  }
  // erasures that covered a customer in common are one erasure: one id, one cluster
  for (const a of receipts)
    for (const b of receipts) {
      if (!a.receipt.customers.some((id) => b.receipt.customers.includes(id))) continue;
      expect(b.receipt.erasureId).toBe(a.receipt.erasureId);
      expect([...b.receipt.customers].sort()).toEqual([...a.receipt.customers].sort());
    }
  for (const m of members) t.core.repo.evict(tenant, m.id);
  const states = new Map(await Promise.all(members.map(async (m) => [m.id, await t.core.repo.load(tenant, m.id)] as const)));
  for (const { receipt } of receipts) {
    for (const id of receipt.customers) {
      // every covered stream holds this erasure's tombstone, and only this one
      expect(await tombstonesOf(t.ports, tenant, id), `tombstones of ${id}`).toEqual([receipt.erasureId]);
      expect(await t.ports.keys.get(tenant, id)).toBeNull();
      expect(await t.ports.readModels.get(tenant, id)).toBeUndefined();
      // the cluster as it stood at the tombstone: its survivor and every member are inside it
      const s = states.get(id)!;
      if (s.mergedInto !== undefined) expect(receipt.customers).toContain(s.mergedInto);
      for (const m of s.members) expect(receipt.customers).toContain(m);
    }
  }
  for (const m of members) {
    const s = states.get(m.id)!;
    if (erased.has(m.id)) continue;
    // no tombstone beyond the receipts, and no live customer still tied to an erased one
    expect(await tombstonesOf(t.ports, tenant, m.id), `tombstones of live ${m.id}`).toEqual([]);
    expect(s.status === 'active' || s.status === 'merged').toBe(true);
    if (s.mergedInto !== undefined) expect(erased.has(s.mergedInto), `${m.id} merged into an erased customer`).toBe(false);
    for (const member of s.members) expect(erased.has(member), `${m.id} lists erased ${member}`).toBe(false);
  }
  // no erased customer's personal values anywhere, and its identifiers free to be claimed again
  const values = [...erased].flatMap((id) => {
    const c = byId.get(id);
    return c ? [c.userId, c.email, c.name] : [];
  });
  expect(leaked(await t.dump(), values)).toEqual([]);
  const keys = [...erased].flatMap((id) => {
    const c = byId.get(id);
    return c ? [t.ports.hasher.claimKey(tenant, 'user_id', c.userId), t.ports.hasher.claimKey(tenant, 'email', c.email)] : [];
  });
  expect([...(await t.ports.store.readClaims(tenant, keys)).values()]).toEqual([]);
  // asked again, each erasure answers its receipt; the export says the customer was erased
  for (const { receipt, requested } of receipts) {
    expect((await t.core.gdpr.erase(tenant, requested, { actor: 'again' })).erasureId).toBe(receipt.erasureId);
    await expect(t.core.export.export(tenant, requested, { actor: 'again' })).rejects.toMatchObject({ code: 'CUSTOMER_ERASED' });
  }
  return receipts.map((r) => r.receipt);
};

/** A race of merges, unmerges and two erasures on one cluster, with the delay before each op. */
export const arbRaceOps = fc.record({
  absorbed: fc.integer({ min: 1, max: 3 }),
  unmerges: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 8 }),
  merges: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 10, maxLength: 10 }),
  /** per op, in the order below: how long (ms) it waits before it starts */
  delays: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 20, maxLength: 20 }),
});
