import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from '../vitest.js';
import type { SnapshotStore } from '../../application/ports/snapshot.port.js';

// What every SnapshotStore promises. Loaders race to save snapshots, so the one rule that matters
// is that a newer snapshot is never replaced by an older one, whatever order the puts land in.

const newTenant = (): string => `t-${randomUUID()}`;
const snap = (version: number, extra: Record<string, unknown> = {}) => ({ schema: 1, version, keys: [`k-${version}`], ...extra });

export const snapshotStoreContract = (name: string, make: () => Promise<SnapshotStore> | SnapshotStore): void => {
  describe(`SnapshotStore contract: ${name}`, () => {
    let store: SnapshotStore;
    let tenant: string;
    beforeEach(async () => {
      store = await make();
      tenant = newTenant();
    });

    it('has nothing for a stream never snapshotted', async () => {
      await expect(store.get(tenant, 'c-404')).resolves.toBeUndefined();
    });

    it('gives back the JSON value it kept, with its version', async () => {
      const value = { schema: 1, nested: [[1, 2.5, -3], { a: null, b: false }], text: 'ünïcode ✓ "quoted" \\ slash', empty: '', big: 2 ** 53 - 1 };
      await store.put(tenant, 'c-1', 42, value);
      await expect(store.get(tenant, 'c-1')).resolves.toEqual({ version: 42, snapshot: value });
    });

    it('keeps what was put, not later changes to the object', async () => {
      const value = { keys: ['a'] };
      await store.put(tenant, 'c-1', 1, value);
      value.keys.push('b');
      expect((await store.get(tenant, 'c-1'))?.snapshot).toEqual({ keys: ['a'] });
    });

    it('replaces a snapshot only with a higher version', async () => {
      await store.put(tenant, 'c-1', 200, snap(200));
      await store.put(tenant, 'c-1', 100, snap(100));
      await store.put(tenant, 'c-1', 200, snap(200, { other: true }));
      await expect(store.get(tenant, 'c-1')).resolves.toEqual({ version: 200, snapshot: snap(200) });
      await store.put(tenant, 'c-1', 300, snap(300));
      await expect(store.get(tenant, 'c-1')).resolves.toEqual({ version: 300, snapshot: snap(300) });
    });

    it('ends with the highest version when puts race, in any order', async () => {
      const versions = [5, 1, 9, 3, 7, 2, 8, 4, 6];
      await Promise.all(versions.map((v) => store.put(tenant, 'c-1', v, snap(v))));
      await expect(store.get(tenant, 'c-1')).resolves.toEqual({ version: 9, snapshot: snap(9) });
    });

    it('keeps streams and tenants apart', async () => {
      const other = newTenant();
      await store.put(tenant, 'c-1', 10, snap(10));
      await store.put(tenant, 'c-2', 20, snap(20));
      await store.put(other, 'c-1', 30, snap(30));
      await expect(store.get(tenant, 'c-1')).resolves.toEqual({ version: 10, snapshot: snap(10) });
      await expect(store.get(tenant, 'c-2')).resolves.toEqual({ version: 20, snapshot: snap(20) });
      await expect(store.get(other, 'c-1')).resolves.toEqual({ version: 30, snapshot: snap(30) });
      await expect(store.get(other, 'c-2')).resolves.toBeUndefined();
    });
  });
};
