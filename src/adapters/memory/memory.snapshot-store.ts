import type { SnapshotStore, StoredSnapshot } from '../../application/ports/snapshot.port.js';

/**
 * Snapshots kept as JSON text, as a database would keep them: what comes back is a fresh copy, so
 * nobody can change a kept snapshot through a reference, and a value JSON cannot carry shows here
 * too, not only in production.
 */
export class MemorySnapshotStore implements SnapshotStore {
  private readonly items = new Map<string, { readonly version: number; readonly json: string }>();

  async get(tenant: string, streamId: string): Promise<StoredSnapshot | undefined> {
    const item = this.items.get(keyOf(tenant, streamId));
    return item && { version: item.version, snapshot: JSON.parse(item.json) };
  }

  async put(tenant: string, streamId: string, version: number, snapshot: unknown): Promise<void> {
    const key = keyOf(tenant, streamId);
    if ((this.items.get(key)?.version ?? -1) >= version) return;
    this.items.set(key, { version, json: JSON.stringify(snapshot) });
  }

  async delete(tenant: string, streamId: string): Promise<void> {
    this.items.delete(keyOf(tenant, streamId));
  }

  /** Everything kept, as plain JSON (erasure proofs search it). */
  dump(): unknown {
    return [...this.items].map(([key, item]) => ({ key, version: item.version, snapshot: JSON.parse(item.json) }));
  }
}

const keyOf = (tenant: string, streamId: string): string => `${tenant}\u0000${streamId}`;
