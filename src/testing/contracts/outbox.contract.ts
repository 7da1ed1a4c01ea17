import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from '../vitest.js';
import type { Outbox, OutboxEntry } from '../../application/ports/outbox.port.js';

// The outbox port: one suite, every adapter runs it. `due` spans tenants, so each adapter gets a
// fresh store (or table) per suite and assertions look at their own tenant only.

const T0 = Date.UTC(2026, 0, 1);

export const outboxEntry = (tenant: string, decisionId: string, o: Partial<OutboxEntry> = {}): OutboxEntry => ({
  tenant,
  decisionId,
  customerId: 'c-1',
  version: 7,
  eventId: `${decisionId}.0`,
  notification: { decisionId, tenant, customerId: 'c-1', channel: 'email', offerId: 'o-1', offerTitle: 'An offer', decidedAt: T0 },
  status: 'pending',
  confirmed: false,
  attempts: 0,
  createdAt: T0,
  nextAttemptAt: T0 + 30_000,
  ...o,
});

export const outboxContract = (name: string, make: () => Promise<Outbox> | Outbox): void => {
  describe(`Outbox contract: ${name}`, () => {
    let outbox: Outbox;
    let tenant: string;
    const mine = async (now: number) => (await outbox.due(now, 1_000)).filter((e) => e.tenant === tenant);
    beforeEach(async () => {
      outbox = await make();
      tenant = `t-${randomUUID()}`;
    });

    it('keeps a staged entry exactly, and lists it as due from its nextAttemptAt on', async () => {
      const e = outboxEntry(tenant, 'd-1');
      expect(await outbox.stage(e)).toBe(true);
      expect(await outbox.get(tenant, 'd-1')).toEqual(e);
      expect(await mine(T0 + 29_999)).toEqual([]);
      expect(await mine(T0 + 30_000)).toEqual([e]);
      expect(await outbox.get(`${tenant}-other`, 'd-1')).toBeUndefined();
    });

    it('lets a retried commit restage an unconfirmed entry, but never a confirmed or published one', async () => {
      await outbox.stage(outboxEntry(tenant, 'd-1'));
      expect(await outbox.stage(outboxEntry(tenant, 'd-1', { version: 9, eventId: 'd-1.0' }))).toBe(true);
      expect((await outbox.get(tenant, 'd-1'))?.version).toBe(9);
      await outbox.reschedule(tenant, 'd-1', { attempts: 1, nextAttemptAt: T0 + 1_000, confirmed: true, lastError: 'Error: down' });
      expect(await outbox.stage(outboxEntry(tenant, 'd-1', { version: 11 }))).toBe(false);
      expect(await outbox.get(tenant, 'd-1')).toEqual(
        outboxEntry(tenant, 'd-1', { version: 9, attempts: 1, nextAttemptAt: T0 + 1_000, confirmed: true, lastError: 'Error: down' }),
      );
      await outbox.markPublished(tenant, 'd-1', T0 + 2_000);
      expect(await outbox.stage(outboxEntry(tenant, 'd-1'))).toBe(false);
    });

    it('reschedules pending entries only, lists them by when they are due, and forgets published ones', async () => {
      await outbox.stage(outboxEntry(tenant, 'd-1', { nextAttemptAt: T0 + 5_000 }));
      await outbox.stage(outboxEntry(tenant, 'd-2', { nextAttemptAt: T0 + 1_000 }));
      await outbox.stage(outboxEntry(tenant, 'd-3', { nextAttemptAt: T0 + 3_000 }));
      expect((await mine(T0 + 10_000)).map((e) => e.decisionId)).toEqual(['d-2', 'd-3', 'd-1']);
      await outbox.reschedule(tenant, 'd-2', { attempts: 2, nextAttemptAt: T0 + 20_000, confirmed: true });
      await outbox.markPublished(tenant, 'd-3', T0 + 4_000);
      expect((await mine(T0 + 10_000)).map((e) => e.decisionId)).toEqual(['d-1']);
      expect((await mine(T0 + 20_000)).map((e) => e.decisionId)).toEqual(['d-1', 'd-2']);
      expect(await outbox.get(tenant, 'd-3')).toMatchObject({ status: 'published', confirmed: true, publishedAt: T0 + 4_000 });
      await outbox.reschedule(tenant, 'd-3', { attempts: 5, nextAttemptAt: T0, confirmed: true });
      expect(await outbox.get(tenant, 'd-3')).toMatchObject({ status: 'published', attempts: 0 });
      expect((await outbox.due(T0 + 20_000, 1)).length).toBe(1);
    });

    it('discards an unconfirmed pending entry only', async () => {
      await outbox.stage(outboxEntry(tenant, 'd-1'));
      await outbox.stage(outboxEntry(tenant, 'd-2'));
      await outbox.reschedule(tenant, 'd-2', { attempts: 1, nextAttemptAt: T0, confirmed: true });
      await outbox.discard(tenant, 'd-1');
      await outbox.discard(tenant, 'd-2');
      await outbox.discard(tenant, 'never-there');
      expect(await outbox.get(tenant, 'd-1')).toBeUndefined();
      expect(await outbox.get(tenant, 'd-2')).toMatchObject({ status: 'pending', confirmed: true });
    });
  });
};
