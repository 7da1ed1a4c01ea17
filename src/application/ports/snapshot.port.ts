// Snapshots of aggregate states, so loading a long stream reads one item plus the tail. A cache:
// losing one costs a longer fold, never a wrong answer, so callers validate what they get back.

export type StoredSnapshot = { readonly version: number; readonly snapshot: unknown };

export interface SnapshotStore {
  /** the latest snapshot kept for the stream; it may lag behind the newest put */
  get(tenant: string, streamId: string): Promise<StoredSnapshot | undefined>;
  /**
   * Keeps `snapshot` (a JSON value) as the state after `version`, unless a snapshot of the same or
   * a higher version is already kept: that is not an error, concurrent loaders race here.
   */
  put(tenant: string, streamId: string, version: number, snapshot: unknown): Promise<void>;
  /** forgets the stream's snapshot (erasure); deleting what is not there is a no-op */
  delete(tenant: string, streamId: string): Promise<void>;
}
