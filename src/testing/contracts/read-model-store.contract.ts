import { randomBytes, randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from '../vitest.js';
import { matchBookNamespace, stampOf, type ReadModelStore, type ViewDoc } from '../../application/ports/read-model.port.js';
import { pointerDoc, viewDoc } from '../builders.js';
import { listAllViews } from '../paging.js';

const newTenant = (): string => `t-${randomUUID()}`;

/** A view of about `bytes` of JSON that does not compress: traits of random base64 text. */
const largeDoc = (customerId: string, version: number, bytes: number): ViewDoc => {
  const doc = viewDoc(customerId, version);
  if (doc.kind !== 'view') throw new Error('viewDoc makes views');
  const traits = Object.fromEntries(
    Array.from({ length: Math.ceil(bytes / 1_100) }, (_, i) => [
      `trait_${i}`,
      { observedAt: 1_767_225_600_000 + i, sourcePriority: 10, eventId: `e-${i}`, value: randomBytes(750).toString('base64'), source: 'web' },
    ]),
  );
  return { ...doc, view: { ...doc.view, traits } };
};

export const readModelStoreContract = (name: string, make: () => Promise<ReadModelStore> | ReadModelStore): void => {
  describe(`ReadModelStore contract: ${name}`, () => {
    let store: ReadModelStore;
    let tenant: string;
    beforeEach(async () => {
      store = await make();
      tenant = newTenant();
    });

    it('stores and returns a doc; a missing id reads as undefined', async () => {
      const doc = viewDoc('c-1', 3);
      await expect(store.put(tenant, doc)).resolves.toBe(true);
      await expect(store.get(tenant, 'c-1')).resolves.toEqual(doc);
      await expect(store.get(tenant, 'c-404')).resolves.toBeUndefined();
    });

    it('replaces a doc with a newer one, including a view turning into a pointer', async () => {
      await store.put(tenant, viewDoc('c-1', 3));
      await expect(store.put(tenant, viewDoc('c-1', 4))).resolves.toBe(true);
      await expect(store.get(tenant, 'c-1')).resolves.toMatchObject({ version: 4 });
      const pointer = pointerDoc('c-1', 'c-2', 5);
      await expect(store.put(tenant, pointer)).resolves.toBe(true);
      await expect(store.get(tenant, 'c-1')).resolves.toEqual(pointer);
    });

    it('refuses a stale doc and keeps the stored one', async () => {
      const current = viewDoc('c-1', 5, { 'c-1': 5, 'c-9': 2 });
      await store.put(tenant, current);
      await expect(store.put(tenant, viewDoc('c-1', 4, { 'c-1': 9 }))).resolves.toBe(false);
      // same version, fewer member events applied: also older
      await expect(store.put(tenant, viewDoc('c-1', 5, { 'c-1': 5, 'c-9': 1 }))).resolves.toBe(false);
      await expect(store.get(tenant, 'c-1')).resolves.toEqual(current);
      // same version, more applied: newer
      await expect(store.put(tenant, viewDoc('c-1', 5, { 'c-1': 5, 'c-9': 3 }))).resolves.toBe(true);
      await expect(store.get(tenant, 'c-1')).resolves.toMatchObject({ applied: { 'c-9': 3 } });
    });

    it('compare-and-swap: writes only over the doc the writer read, so concurrent folds never lose an update', async () => {
      // nothing stored yet: only a writer that saw nothing may create it
      await expect(store.put(tenant, viewDoc('c-1', 1), null)).resolves.toBe(true);
      await expect(store.put(tenant, viewDoc('c-1', 2), null)).resolves.toBe(false);
      const seen = stampOf(viewDoc('c-1', 1));
      // two writers read version 1 and each folded one more event from a different member stream
      await expect(store.put(tenant, viewDoc('c-1', 1, { 'c-1': 1, 'c-8': 1 }), seen)).resolves.toBe(true);
      await expect(store.put(tenant, viewDoc('c-1', 1, { 'c-1': 1, 'c-9': 1 }), seen)).resolves.toBe(false);
      await expect(store.get(tenant, 'c-1')).resolves.toMatchObject({ applied: { 'c-1': 1, 'c-8': 1 } });
      // the loser reads again and succeeds against what is stored now
      const now = stampOf((await store.get(tenant, 'c-1'))!);
      await expect(store.put(tenant, viewDoc('c-1', 1, { 'c-1': 1, 'c-8': 1, 'c-9': 1 }), now)).resolves.toBe(true);
      await expect(store.get(tenant, 'c-1')).resolves.toMatchObject({ applied: { 'c-1': 1, 'c-8': 1, 'c-9': 1 } });
    });

    it("keeps the match book's docs apart from the tenant's views, each swapped only over the version its writer read", async () => {
      const ns = matchBookNamespace(tenant);
      const entry = (id: string, version: number, ids: string[]): ViewDoc => ({
        kind: 'match',
        customerId: id,
        version,
        applied: {},
        entry: { type: 'block', key: id.slice(2), ids },
      });
      await store.put(tenant, viewDoc('c-1', 1));
      await expect(store.put(ns, entry('b:dob:1815-12-10', 1, ['c-1']), null)).resolves.toBe(true);
      await expect(store.put(ns, entry('b:dob:1815-12-10', 1, ['c-2']), null)).resolves.toBe(false);
      const seen = { version: 1, appliedSum: 0 };
      await expect(store.put(ns, entry('b:dob:1815-12-10', 2, ['c-1', 'c-2']), seen)).resolves.toBe(true);
      await expect(store.put(ns, entry('b:dob:1815-12-10', 2, ['c-1', 'c-3']), seen)).resolves.toBe(false);
      await expect(store.get(ns, 'b:dob:1815-12-10')).resolves.toEqual(entry('b:dob:1815-12-10', 2, ['c-1', 'c-2']));
      await store.put(ns, entry('c:c-1', 1, []), null);
      expect((await listAllViews(store, ns, 1)).map((d) => d.customerId)).toEqual(['b:dob:1815-12-10', 'c:c-1']);
      expect((await listAllViews(store, tenant, 10)).map((d) => d.customerId)).toEqual(['c-1']);
      await store.delete(ns, 'c:c-1');
      await expect(store.get(ns, 'c:c-1')).resolves.toBeUndefined();
    });

    it('writes a doc of equal order again (redelivery is harmless)', async () => {
      await store.put(tenant, viewDoc('c-1', 2));
      await expect(store.put(tenant, viewDoc('c-1', 2))).resolves.toBe(true);
      await expect(store.get(tenant, 'c-1')).resolves.toMatchObject({ version: 2 });
    });

    it('deletes a doc, and deleting a missing doc is harmless', async () => {
      await store.put(tenant, viewDoc('c-1', 1));
      await store.put(tenant, viewDoc('c-2', 1));
      await store.delete(tenant, 'c-1');
      await store.delete(tenant, 'c-404');
      await expect(store.get(tenant, 'c-1')).resolves.toBeUndefined();
      expect((await listAllViews(store, tenant, 10)).map((d) => d.customerId)).toEqual(['c-2']);
    });

    it('lists every doc in customer id order, a page at a time, with no duplicates', async () => {
      const customerIds = Array.from({ length: 23 }, (_, i) => `c-${String((i * 7) % 23).padStart(2, '0')}`);
      for (const id of customerIds) await store.put(tenant, viewDoc(id, 1));
      const sorted = [...customerIds].sort();
      for (const limit of [1, 5, 23, 50]) {
        expect((await listAllViews(store, tenant, limit)).map((d) => d.customerId)).toEqual(sorted);
      }
      const first = await store.list(tenant, { limit: 5 });
      expect(first.next).toBe(sorted[4]);
      const last = await store.list(tenant, { after: sorted[20], limit: 5 });
      expect(last.docs.map((d) => d.customerId)).toEqual(sorted.slice(21));
      expect(last.next).toBeUndefined();
    });

    it('lists docs written or deleted since the last listing', async () => {
      await store.put(tenant, viewDoc('c-2', 1));
      expect((await listAllViews(store, tenant, 10)).map((d) => d.customerId)).toEqual(['c-2']);
      await store.put(tenant, viewDoc('c-1', 1));
      await store.put(tenant, viewDoc('c-3', 1));
      expect((await listAllViews(store, tenant, 2)).map((d) => d.customerId)).toEqual(['c-1', 'c-2', 'c-3']);
      await store.delete(tenant, 'c-2');
      expect((await listAllViews(store, tenant, 2)).map((d) => d.customerId)).toEqual(['c-1', 'c-3']);
    });

    it('replaceAll swaps in the new generation whole: old docs not in it are gone', async () => {
      await store.put(tenant, viewDoc('c-1', 9));
      await store.put(tenant, viewDoc('c-2', 9));
      const generation = [viewDoc('c-2', 1), pointerDoc('c-3', 'c-2', 1)];
      await store.replaceAll(tenant, generation);
      await expect(store.get(tenant, 'c-1')).resolves.toBeUndefined();
      // the rebuild wins even over a higher stored version: it is the new truth
      await expect(store.get(tenant, 'c-2')).resolves.toEqual(generation[0]);
      expect((await listAllViews(store, tenant, 10)).map((d) => d.customerId)).toEqual(['c-2', 'c-3']);
    });

    it("holds a doc of any size as any other: 1.2 MB of JSON that does not compress (DynamoDB's items stop at 400 KB) is put, read, listed, swapped, shrunk, rebuilt and deleted", async () => {
      const large = largeDoc('c-big', 2, 1_200_000);
      expect(JSON.stringify(large).length).toBeGreaterThan(1_200_000);
      await store.put(tenant, viewDoc('c-a', 1));
      await expect(store.put(tenant, large)).resolves.toBe(true);
      await store.put(tenant, viewDoc('c-z', 1));
      await expect(store.get(tenant, 'c-big')).resolves.toEqual(large);
      for (const limit of [1, 2, 10]) expect((await listAllViews(store, tenant, limit)).map((d) => d.customerId)).toEqual(['c-a', 'c-big', 'c-z']);
      expect((await listAllViews(store, tenant, 10)).find((d) => d.customerId === 'c-big')).toEqual(large);
      // compare-and-swap and the order of docs hold for it as for any doc
      const larger = largeDoc('c-big', 3, 1_500_000);
      await expect(store.put(tenant, larger, stampOf(viewDoc('c-big', 1)))).resolves.toBe(false);
      await expect(store.put(tenant, largeDoc('c-big', 1, 600_000))).resolves.toBe(false);
      await expect(store.get(tenant, 'c-big')).resolves.toEqual(large);
      await expect(store.put(tenant, larger, stampOf(large))).resolves.toBe(true);
      await expect(store.get(tenant, 'c-big')).resolves.toEqual(larger);
      // back to a small doc: nothing of the large one shows
      const small = viewDoc('c-big', 4);
      await expect(store.put(tenant, small)).resolves.toBe(true);
      await expect(store.get(tenant, 'c-big')).resolves.toEqual(small);
      expect(await listAllViews(store, tenant, 1)).toEqual([viewDoc('c-a', 1), small, viewDoc('c-z', 1)]);
      // a rebuild writes it too
      await store.replaceAll(tenant, [viewDoc('c-a', 1), large]);
      await expect(store.get(tenant, 'c-big')).resolves.toEqual(large);
      expect(await listAllViews(store, tenant, 1)).toEqual([viewDoc('c-a', 1), large]);
      await store.delete(tenant, 'c-big');
      await expect(store.get(tenant, 'c-big')).resolves.toBeUndefined();
      expect((await listAllViews(store, tenant, 10)).map((d) => d.customerId)).toEqual(['c-a']);
    });

    it('keeps tenants apart for get, put, list, delete and replaceAll', async () => {
      const other = newTenant();
      await store.put(tenant, viewDoc('c-1', 5));
      await expect(store.get(other, 'c-1')).resolves.toBeUndefined();
      // a lower version in another tenant is not stale: it is a different doc
      await expect(store.put(other, viewDoc('c-1', 1))).resolves.toBe(true);
      await store.delete(other, 'c-1');
      await store.replaceAll(other, [viewDoc('c-7', 1)]);
      await expect(store.get(tenant, 'c-1')).resolves.toMatchObject({ version: 5 });
      expect((await listAllViews(store, tenant, 10)).map((d) => d.customerId)).toEqual(['c-1']);
      expect((await listAllViews(store, other, 10)).map((d) => d.customerId)).toEqual(['c-7']);
    });
  });
};
