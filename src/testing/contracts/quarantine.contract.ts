import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from '../vitest.js';
import type { Quarantine, QuarantineEntry } from '../../application/ports/quarantine.port.js';
import { UuidV7Generator } from '../../adapters/crypto/uuid-v7.id-generator.js';
import { quarantineEntry } from '../builders.js';
import { drain, entriesPage } from '../paging.js';

const newTenant = (): string => `t-${randomUUID()}`;
/** ids as the ingest use case makes them (UUIDv7), a millisecond apart, oldest first */
const timeOrderedIds = (n: number): string[] => {
  let now = 1_767_225_600_000;
  const ids = new UuidV7Generator(() => (now += 1));
  return Array.from({ length: n }, () => ids.newId());
};

const listAll = (q: Quarantine, tenant: string, limit: number, status?: QuarantineEntry['status']): Promise<QuarantineEntry[]> =>
  drain((after) => q.list(tenant, { after, limit, status }).then(entriesPage));

export const quarantineContract = (name: string, make: () => Promise<Quarantine> | Quarantine): void => {
  describe(`Quarantine contract: ${name}`, () => {
    let q: Quarantine;
    let tenant: string;
    beforeEach(async () => {
      q = await make();
      tenant = newTenant();
    });

    it('keeps the raw payload and reason exactly as received', async () => {
      const entry = quarantineEntry(tenant, 'q-1', { payload: { weird: [1, 'two', { three: null }], ünïcode: '✓' } });
      await q.put(entry);
      await expect(q.get(tenant, 'q-1')).resolves.toEqual(entry);
      await expect(q.get(tenant, 'q-404')).resolves.toBeUndefined();
    });

    it('keeps the keyed hashes an entry was put with (an erasure matches unparseable bodies by them), on get and on list', async () => {
      const matchKeys = ['k1-hash', 'k2-hash'];
      await q.put({ ...quarantineEntry(tenant, 'q-keys', { payload: '{"email": "broken' }), matchKeys });
      await q.put(quarantineEntry(tenant, 'q-none', { payload: 'no keys' }));
      expect([...((await q.get(tenant, 'q-keys'))?.matchKeys ?? [])].sort()).toEqual(matchKeys);
      expect((await q.get(tenant, 'q-none'))?.matchKeys ?? []).toEqual([]);
      const listed = await listAll(q, tenant, 10);
      expect([...(listed.find((e) => e.id === 'q-keys')?.matchKeys ?? [])].sort()).toEqual(matchKeys);
    });

    it('lists oldest first (ids are time-ordered UUIDv7s), a page at a time', async () => {
      const ids = timeOrderedIds(5);
      for (const id of ids) await q.put(quarantineEntry(tenant, id));
      for (const limit of [1, 2, 5, 10]) expect((await listAll(q, tenant, limit)).map((e) => e.id)).toEqual(ids);
      const page = await q.list(tenant, { limit: 2 });
      expect(page.next).toBe(ids[1]);
      const last = await q.list(tenant, { after: ids[3], limit: 2 });
      expect(last.entries.map((e) => e.id)).toEqual([ids[4]]);
      expect(last.next).toBeUndefined();
    });

    it('takes any id as a cursor, one never handed out too: the entries that sort after it, never an error', async () => {
      const ids = timeOrderedIds(4);
      for (const id of ids) await q.put(quarantineEntry(tenant, id));
      // between ids[1] and ids[2]; before every id; after every id
      expect((await q.list(tenant, { after: `${ids[1]}0`, limit: 10 })).entries.map((e) => e.id)).toEqual(ids.slice(2));
      expect((await q.list(tenant, { after: '0', limit: 10 })).entries.map((e) => e.id)).toEqual(ids);
      await expect(q.list(tenant, { after: 'zzz', limit: 10 })).resolves.toEqual({ entries: [] });
    });

    it('filters by status and marks entries replayed with the time', async () => {
      for (const id of ['q-1', 'q-2', 'q-3', 'q-4']) await q.put(quarantineEntry(tenant, id));
      await q.markReplayed(tenant, 'q-2', 1_767_300_000_000);
      await q.markReplayed(tenant, 'q-4', 1_767_300_000_001);

      await expect(q.get(tenant, 'q-2')).resolves.toMatchObject({
        status: 'replayed',
        replayedAt: 1_767_300_000_000,
        payload: quarantineEntry(tenant, 'q-2').payload,
      });
      expect((await listAll(q, tenant, 1, 'pending')).map((e) => e.id)).toEqual(['q-1', 'q-3']);
      expect((await listAll(q, tenant, 1, 'replayed')).map((e) => e.id)).toEqual(['q-2', 'q-4']);
      expect((await listAll(q, tenant, 10)).map((e) => e.status)).toEqual(['pending', 'replayed', 'pending', 'replayed']);
    });

    it('finds the few matches of a status among many others, and hands out no cursor past the last', async () => {
      const ids = timeOrderedIds(30);
      for (const id of ids) await q.put(quarantineEntry(tenant, id));
      for (const [i, id] of ids.entries()) if (i !== 7 && i !== 25) await q.markReplayed(tenant, id, 1);
      const first = await q.list(tenant, { limit: 1, status: 'pending' });
      expect(first).toEqual({ entries: [expect.objectContaining({ id: ids[7] })], next: ids[7] });
      const second = await q.list(tenant, { after: ids[7], limit: 1, status: 'pending' });
      expect(second.entries.map((e) => e.id)).toEqual([ids[25]]);
      expect(second.next).toBeUndefined();
      expect((await listAll(q, tenant, 4, 'pending')).map((e) => e.id)).toEqual([ids[7], ids[25]]);
      await expect(q.list(newTenant(), { limit: 3, status: 'pending' })).resolves.toEqual({ entries: [] });
    });

    it('a second put of the same id replaces the entry, and it is listed once', async () => {
      const ids = timeOrderedIds(2);
      for (const id of ids) await q.put(quarantineEntry(tenant, id));
      const again = quarantineEntry(tenant, ids[0]!, { reason: { code: 'IDEMPOTENCY_CONFLICT', message: 'changed payload', issues: [] } });
      await q.put(again);
      await expect(q.get(tenant, ids[0]!)).resolves.toEqual(again);
      expect((await listAll(q, tenant, 10)).map((e) => e.id)).toEqual(ids);
    });

    it('keeps a payload as large as a whole Segment batch (500 KB) exactly', async () => {
      const batch = Array.from({ length: 1_100 }, (_, i) => ({
        type: 'track',
        event: `Viewed ${i}`,
        userId: `u-${i}`,
        properties: { note: 'ü✓'.repeat(100) },
      }));
      const payload = { batch };
      expect(Buffer.byteLength(JSON.stringify(payload))).toBeGreaterThan(500_000);
      const entry = quarantineEntry(tenant, timeOrderedIds(1)[0]!, { payload });
      await q.put(entry);
      await expect(q.get(tenant, entry.id)).resolves.toEqual(entry);
    });

    it('keeps a non-finite number (JSON.parse reads 1e400 as Infinity) recognisable, as a {$nonFinite} marker, never as null', async () => {
      const payload = { type: 'track', properties: { total: Number.POSITIVE_INFINITY, low: [Number.NEGATIVE_INFINITY], odd: Number.NaN, none: null } };
      const entry = quarantineEntry(tenant, timeOrderedIds(1)[0]!, { payload });
      await q.put(entry);
      const kept = {
        type: 'track',
        properties: { total: { $nonFinite: 'Infinity' }, low: [{ $nonFinite: '-Infinity' }], odd: { $nonFinite: 'NaN' }, none: null },
      };
      expect((await q.get(tenant, entry.id))?.payload).toEqual(kept);
      expect((await listAll(q, tenant, 10))[0]?.payload).toEqual(kept);
    });

    it('keeps what a payload that is not a call is (its intake), on get and on list', async () => {
      const [body, call] = timeOrderedIds(2);
      const excerpt = { bytes: 5_000_000, kept: 3, text: '{"a' };
      await q.put(quarantineEntry(tenant, body!, { payload: excerpt, intake: 'body' }));
      await q.put(quarantineEntry(tenant, call!));
      expect(await q.get(tenant, body!)).toMatchObject({ intake: 'body', payload: excerpt });
      expect((await q.get(tenant, call!))?.intake).toBeUndefined();
      expect((await listAll(q, tenant, 10)).map((e) => e.intake)).toEqual(['body', undefined]);
    });

    it("rewrites an entry in place (an erasure taking one person's calls out): new payload, reason and keys; same id, place, status and times", async () => {
      const ids = timeOrderedIds(3);
      for (const id of ids) await q.put({ ...quarantineEntry(tenant, id, { intake: 'batch' }), matchKeys: ['k-gina', 'k-hank'] });
      await q.markReplayed(tenant, ids[1]!, 1_767_300_000_000);
      const change = {
        reason: { code: 'BATCH_CALLS_REFUSED', message: '1 of the 3 calls', issues: [{ path: 'batch[1].event', message: 'Required' }] },
        payload: { batch: [{ type: 'track', userId: 'hank-1', big: Number.POSITIVE_INFINITY }], refused: [{ index: 1 }] },
        matchKeys: ['k-hank'],
        ifReason: quarantineEntry(tenant, ids[0]!).reason,
      };
      for (const id of [ids[0]!, ids[1]!]) await expect(q.rewrite(tenant, id, change)).resolves.toBe(true);
      const expected = (id: string) => ({
        ...quarantineEntry(tenant, id, { intake: 'batch' }),
        reason: change.reason,
        payload: { ...change.payload, batch: [{ type: 'track', userId: 'hank-1', big: { $nonFinite: 'Infinity' } }] },
        matchKeys: ['k-hank'],
      });
      await expect(q.get(tenant, ids[0]!)).resolves.toEqual(expected(ids[0]!));
      await expect(q.get(tenant, ids[1]!)).resolves.toEqual({ ...expected(ids[1]!), status: 'replayed', replayedAt: 1_767_300_000_000 });
      // again over the entry as first read (an erasure retried from a stale read): refused, nothing changed
      await expect(q.rewrite(tenant, ids[0]!, { ...change, payload: { batch: [] } })).resolves.toBe(false);
      await expect(q.get(tenant, ids[0]!)).resolves.toEqual(expected(ids[0]!));
      const listed = await listAll(q, tenant, 1);
      expect(listed.map((e) => e.id)).toEqual(ids);
      expect(listed[0]).toEqual(expected(ids[0]!));
      expect(listed[2]).toEqual({ ...quarantineEntry(tenant, ids[2]!, { intake: 'batch' }), matchKeys: ['k-gina', 'k-hank'] });
      // no keys left: none listed
      await q.rewrite(tenant, ids[2]!, { ...change, matchKeys: [] });
      expect((await q.get(tenant, ids[2]!))?.matchKeys ?? []).toEqual([]);
    });

    it('rewrites only over the reason as read (ifReason): a compare-and-set, so two rewrites at once cannot undo each other', async () => {
      const [id] = timeOrderedIds(1);
      const read = quarantineEntry(tenant, id!);
      await q.put(read);
      const first = { reason: { ...read.reason, message: 'first' }, payload: { batch: ['first'] }, matchKeys: ['k-1'] };
      const second = { reason: { ...read.reason, message: 'second' }, payload: { batch: ['second'] }, matchKeys: ['k-2'] };
      await expect(q.rewrite(tenant, id!, { ...first, ifReason: read.reason })).resolves.toBe(true);
      // the second was decided over the entry as first read: refused, the first kept
      await expect(q.rewrite(tenant, id!, { ...second, ifReason: read.reason })).resolves.toBe(false);
      await expect(q.get(tenant, id!)).resolves.toMatchObject({ reason: first.reason, payload: first.payload, matchKeys: first.matchKeys });
      await expect(q.rewrite(tenant, id!, { ...second, ifReason: first.reason })).resolves.toBe(true);
      await expect(q.get(tenant, id!)).resolves.toMatchObject({ reason: second.reason, payload: second.payload });
    });

    it("rewrites nothing that is not held: an unknown, a deleted or another tenant's entry answers false and is not created", async () => {
      const change = { reason: quarantineEntry(tenant, 'x').reason, payload: { batch: [] }, matchKeys: [], ifReason: quarantineEntry(tenant, 'x').reason };
      await expect(q.rewrite(tenant, 'q-404', change)).resolves.toBe(false);
      await q.put(quarantineEntry(tenant, 'q-gone'));
      await q.delete(tenant, 'q-gone');
      await expect(q.rewrite(tenant, 'q-gone', change)).resolves.toBe(false);
      const other = newTenant();
      await q.put(quarantineEntry(other, 'q-theirs'));
      await expect(q.rewrite(tenant, 'q-theirs', change)).resolves.toBe(false);
      await expect(q.get(tenant, 'q-404')).resolves.toBeUndefined();
      await expect(q.get(tenant, 'q-gone')).resolves.toBeUndefined();
      await expect(q.get(other, 'q-theirs')).resolves.toEqual(quarantineEntry(other, 'q-theirs'));
      await expect(q.list(tenant, { limit: 10 })).resolves.toEqual({ entries: [] });
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
