import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from '../vitest.js';
import type { AuditEntry, AuditLog } from '../../application/ports/audit.port.js';
import { UuidV7Generator } from '../../adapters/crypto/uuid-v7.id-generator.js';
import { drain, entriesPage } from '../paging.js';

const newTenant = (): string => `t-${randomUUID()}`;
/** ids as the use cases make them (UUIDv7), a millisecond apart, oldest first */
const timeOrderedIds = (n: number): string[] => {
  let now = 1_767_225_600_000;
  const ids = new UuidV7Generator(() => (now += 1));
  return Array.from({ length: n }, () => ids.newId());
};

const entry = (tenant: string, id: string, overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  id,
  tenant,
  at: 1_767_225_600_000,
  actor: 'cred-ops',
  action: 'customer.export',
  customerId: 'c-1',
  outcome: 'ok',
  ...overrides,
});

const listAll = (log: AuditLog, tenant: string, limit: number, customerId?: string): Promise<AuditEntry[]> =>
  drain((after) => log.list(tenant, { after, limit, customerId }).then(entriesPage));

export const auditLogContract = (name: string, make: () => Promise<AuditLog> | AuditLog): void => {
  describe(`AuditLog contract: ${name}`, () => {
    let log: AuditLog;
    let tenant: string;
    beforeEach(async () => {
      log = await make();
      tenant = newTenant();
    });

    it('keeps every field of an entry exactly, detail included', async () => {
      const [id] = timeOrderedIds(1);
      const e = entry(tenant, id!, {
        action: 'customer.erase',
        outcome: 'refused',
        code: 'CUSTOMER_NOT_FOUND',
        detail: { customers: 5, dataKeys: 5, forced: false, erasureId: 'er-1' },
      });
      await log.append(e);
      await expect(log.list(tenant, { limit: 10 })).resolves.toEqual({ entries: [e] });
    });

    it('lists oldest first by id, whatever the append order, a page at a time', async () => {
      const ids = timeOrderedIds(5);
      for (const id of [ids[3]!, ids[0]!, ids[4]!, ids[1]!, ids[2]!]) await log.append(entry(tenant, id));
      for (const limit of [1, 2, 5, 10]) expect((await listAll(log, tenant, limit)).map((e) => e.id)).toEqual(ids);
      const first = await log.list(tenant, { limit: 2 });
      expect(first.next).toBe(ids[1]);
      const last = await log.list(tenant, { after: ids[3], limit: 2 });
      expect(last).toEqual({ entries: [expect.objectContaining({ id: ids[4] })] });
      await expect(log.list(tenant, { after: ids[4], limit: 2 })).resolves.toEqual({ entries: [] });
    });

    it('an entry appended twice is kept once, as first written', async () => {
      const [id] = timeOrderedIds(1);
      await log.append(entry(tenant, id!));
      await log.append(entry(tenant, id!, { outcome: 'failed', code: 'LATER' }));
      await expect(log.list(tenant, { limit: 10 })).resolves.toEqual({ entries: [entry(tenant, id!)] });
      await expect(log.list(tenant, { limit: 10, customerId: 'c-1' })).resolves.toEqual({ entries: [entry(tenant, id!)] });
    });

    it("lists one customer's entries, paged, and every entry without the filter", async () => {
      const ids = timeOrderedIds(7);
      const customers = ['c-a', 'c-b', 'c-a', undefined, 'c-a', 'c-b', 'c-a'];
      for (const [i, id] of ids.entries())
        await log.append(entry(tenant, id, { customerId: customers[i], action: customers[i] ? 'customer.export' : 'admin.rebuild' }));
      const ofA = ids.filter((_, i) => customers[i] === 'c-a');
      for (const limit of [1, 3, 10]) expect((await listAll(log, tenant, limit, 'c-a')).map((e) => e.id)).toEqual(ofA);
      const page = await log.list(tenant, { limit: 2, customerId: 'c-a' });
      expect(page).toEqual({ entries: [expect.objectContaining({ id: ofA[0] }), expect.objectContaining({ id: ofA[1] })], next: ofA[1] });
      expect((await listAll(log, tenant, 10, 'c-b')).map((e) => e.id)).toEqual([ids[1], ids[5]]);
      expect((await listAll(log, tenant, 3)).map((e) => e.id)).toEqual(ids);
      await expect(log.list(tenant, { limit: 5, customerId: 'c-nobody' })).resolves.toEqual({ entries: [] });
    });

    it('keeps tenants apart', async () => {
      const other = newTenant();
      const [id] = timeOrderedIds(1);
      await log.append(entry(tenant, id!));
      await expect(log.list(other, { limit: 10 })).resolves.toEqual({ entries: [] });
      await expect(log.list(other, { limit: 10, customerId: 'c-1' })).resolves.toEqual({ entries: [] });
      // the same id in another tenant is another entry
      await log.append(entry(other, id!, { actor: 'cli:ops' }));
      await expect(log.list(tenant, { limit: 10 })).resolves.toEqual({ entries: [entry(tenant, id!)] });
      await expect(log.list(other, { limit: 10 })).resolves.toEqual({ entries: [entry(other, id!, { actor: 'cli:ops' })] });
    });
  });
};
