import { CustomerSnapshot, fromSnapshot, toSnapshot } from '../../domain/customer/customer.snapshot.js';
import { fold, initialState, type CustomerState } from '../../domain/customer/customer.state.js';
import { DomainError } from '../../domain/shared/errors.js';
import { decodeReadable } from '../event-codec.js';
import type { EventStore } from '../ports/event-store.port.js';
import type { Metrics } from '../ports/runtime.port.js';
import type { SnapshotStore } from '../ports/snapshot.port.js';

// Loads Customer aggregates. Identity state needs no decryption, so a load is a read and a fold.
// Cached states are trusted optimistically: every stream a decision writes to is written with its
// expected version, so a stale cache surfaces as a commit conflict and the use case retries.
// With a snapshot store, a load folds the latest snapshot plus the events after it. Snapshots are
// a cache: anything unreadable or not matching the stream is ignored, and a failed write is only
// counted, so snapshots can make a load shorter but never make it fail or come out different.

const MAX_POINTER_DEPTH = 32;

export type CustomerRepositoryOptions = {
  readonly snapshots?: SnapshotStore | undefined;
  readonly metrics?: Metrics | undefined;
  /** a load that folds this many events past the last snapshot writes a new one */
  readonly snapshotEvery?: number | undefined;
  readonly maxCached?: number | undefined;
};

export class CustomerRepository {
  private readonly cache = new Map<string, CustomerState>();
  private readonly snapshots: SnapshotStore | undefined;
  private readonly metrics: Metrics | undefined;
  private readonly snapshotEvery: number;
  private readonly maxCached: number;

  constructor(
    private readonly store: EventStore,
    options: CustomerRepositoryOptions = {},
  ) {
    this.snapshots = options.snapshots;
    this.metrics = options.metrics;
    this.snapshotEvery = options.snapshotEvery ?? 100;
    this.maxCached = options.maxCached ?? 50_000;
    if (!Number.isInteger(this.snapshotEvery) || this.snapshotEvery < 1) throw new Error(`snapshotEvery must be a positive integer, got ${this.snapshotEvery}`);
  }

  private cacheKey = (tenant: string, id: string) => `${tenant}\u0000${id}`;

  async load(tenant: string, id: string): Promise<CustomerState> {
    const key = this.cacheKey(tenant, id);
    const cached = this.cache.get(key);
    if (cached) {
      // refresh recency for the LRU
      this.cache.delete(key);
      this.cache.set(key, cached);
      return cached;
    }
    const from = (await this.snapshotOf(tenant, id)) ?? initialState(id);
    const events = await this.store.readStream(tenant, id, from.version);
    const state = fold(
      id,
      events.map((e) => decodeReadable(e)),
      from,
    );
    // never of an erased customer: its erasure deleted the snapshot, whose identity state (claim
    // keys, merges) must not come back with the next load of the stream (a GET, a migrated log)
    if (this.snapshots && events.length >= this.snapshotEvery && state.status !== 'erased') await this.saveSnapshot(this.snapshots, tenant, id, state);
    this.rememberKey(key, state);
    return state;
  }

  private async snapshotOf(tenant: string, id: string): Promise<CustomerState | undefined> {
    if (!this.snapshots) return undefined;
    try {
      const stored = await this.snapshots.get(tenant, id);
      if (stored === undefined) return undefined;
      const parsed = CustomerSnapshot.safeParse(stored.snapshot);
      // another schema version, another stream's state, or a version the item itself contradicts
      if (parsed.success && parsed.data.id === id && parsed.data.version === stored.version && stored.version > 0) return fromSnapshot(parsed.data);
    } catch {
      // unreadable: the full fold below is slower, not wrong
    }
    this.metrics?.increment('snapshot_ignored');
    return undefined;
  }

  /** Awaited so a load's work is done when it returns; a failure is counted, never thrown. */
  private async saveSnapshot(snapshots: SnapshotStore, tenant: string, id: string, state: CustomerState): Promise<void> {
    try {
      await snapshots.put(tenant, id, state.version, toSnapshot(state));
    } catch {
      this.metrics?.increment('snapshot_write_failed');
    }
  }

  /** Follows merged-into pointers to the customer that currently stands for `id`. */
  async loadSurvivor(tenant: string, id: string): Promise<CustomerState> {
    let state = await this.load(tenant, id);
    for (let depth = 0; state.status === 'merged'; depth++) {
      if (depth >= MAX_POINTER_DEPTH) throw new DomainError('POINTER_CHAIN_TOO_DEEP', `merged-into chain from ${id} is longer than ${MAX_POINTER_DEPTH}`);
      state = await this.load(tenant, state.mergedInto!);
    }
    return state;
  }

  /** Remembers the state a commit of this process produced, so the next load needs no read. */
  remember(tenant: string, state: CustomerState): void {
    this.rememberKey(this.cacheKey(tenant, state.id), state);
  }

  evict(tenant: string, id: string): void {
    this.cache.delete(this.cacheKey(tenant, id));
  }

  clear(): void {
    this.cache.clear();
  }

  private rememberKey(key: string, state: CustomerState): void {
    if (state.status === 'initial') return;
    this.cache.delete(key);
    this.cache.set(key, state);
    if (this.cache.size > this.maxCached) this.cache.delete(this.cache.keys().next().value!);
  }
}
