import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Quarantine, QuarantineEntry } from '../../src/application/ports/quarantine.port.js';
import { quarantineEntry } from '../support/builders.js';

const newTenant = (): string => `t-${randomUUID()}`;

const listAll = async (q: Quarantine, tenant: string, limit: number, status?: QuarantineEntry['status']): Promise<QuarantineEntry[]> => {
  const all: QuarantineEntry[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await q.list(tenant, { after, limit, status });
    all.push(...page.entries);
    if (page.next === undefined) return all;
    after = page.next;
  }
  throw new Error('list never ended');
};

export const quarantineContract = (name: string, make: () => Promise<Quarantine> | Quarantine): void => {
  describe(`Quarantine contract: ${name}`, () => {
    let q: Quarantine;
    let tenant: string;
    beforeEach(async () => {
      q = await make();
      tenant = newTenant();
    });

    it('keeps the raw payload and reason exactly as received', async () => {
      const entry = quarantineEntry(tenant, 'q-1', { payload: { weird: [1, 'two', { three: null }], 'ünïcode': '✓' } });
      await q.put(entry);
      await expect(q.get(tenant, 'q-1')).resolves.toEqual(entry);
      await expect(q.get(tenant, 'q-404')).resolves.toBeUndefined();
    });

    it('lists in insertion order, a page at a time', async () => {
      const order = ['q-c', 'q-a', 'q-e', 'q-b', 'q-d'];
      for (const id of order) await q.put(quarantineEntry(tenant, id));
      for (const limit of [1, 2, 5, 10]) expect((await listAll(q, tenant, limit)).map((e) => e.id)).toEqual(order);
      const page = await q.list(tenant, { limit: 2 });
      expect(page.next).toBe('q-a');
      const last = await q.list(tenant, { after: 'q-b', limit: 2 });
      expect(last.entries.map((e) => e.id)).toEqual(['q-d']);
      expect(last.next).toBeUndefined();
    });

    it('filters by status and marks entries replayed with the time', async () => {
      for (const id of ['q-1', 'q-2', 'q-3', 'q-4']) await q.put(quarantineEntry(tenant, id));
      await q.markReplayed(tenant, 'q-2', 1_767_300_000_000);
      await q.markReplayed(tenant, 'q-4', 1_767_300_000_001);

      await expect(q.get(tenant, 'q-2')).resolves.toMatchObject({ status: 'replayed', replayedAt: 1_767_300_000_000, payload: quarantineEntry(tenant, 'q-2').payload });
      expect((await listAll(q, tenant, 1, 'pending')).map((e) => e.id)).toEqual(['q-1', 'q-3']);
      expect((await listAll(q, tenant, 1, 'replayed')).map((e) => e.id)).toEqual(['q-2', 'q-4']);
      expect((await listAll(q, tenant, 10)).map((e) => e.status)).toEqual(['pending', 'replayed', 'pending', 'replayed']);
    });

    it('refuses to mark an unknown entry replayed', async () => {
      await expect(q.markReplayed(tenant, 'q-404', 1)).rejects.toThrow();
    });

    it('keeps tenants apart', async () => {
      const other = newTenant();
      await q.put(quarantineEntry(tenant, 'q-1'));
      await expect(q.get(other, 'q-1')).resolves.toBeUndefined();
      await expect(q.list(other, { limit: 10 })).resolves.toMatchObject({ entries: [] });
      await expect(q.markReplayed(other, 'q-1', 1)).rejects.toThrow();
      await q.put(quarantineEntry(other, 'q-1', { source: 'kinesis' }));
      await expect(q.get(tenant, 'q-1')).resolves.toMatchObject({ source: 'http:/v1/identify', status: 'pending' });
      await expect(q.get(other, 'q-1')).resolves.toMatchObject({ source: 'kinesis' });
    });
  });
};
