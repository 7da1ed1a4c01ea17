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
  private readonly cache = new RecentStates();
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

  async load(tenant: string, id: string): Promise<CustomerState> {
    // refreshes its recency for the LRU
    const cached = this.cache.get(tenant, id);
    if (cached) return cached;
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
    this.rememberState(tenant, id, state);
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
    this.rememberState(tenant, state.id, state);
  }

  evict(tenant: string, id: string): void {
    this.cache.delete(tenant, id);
  }

  clear(): void {
    this.cache.clear();
  }

  private rememberState(tenant: string, id: string, state: CustomerState): void {
    if (state.status === 'initial') return;
    this.cache.set(tenant, id, state);
    if (this.cache.size > this.maxCached) this.cache.dropOldest();
  }
}

type Cached = { readonly tenant: string; readonly id: string; state: CustomerState; older: Cached | undefined; newer: Cached | undefined };

/**
 * The cached states, least recently used first: a Map per tenant, so a lookup hashes the id alone
 * (no `${tenant}\0${id}` key built per load), and one recency list over all tenants, so a hit moves
 * an entry instead of deleting and re-inserting it. Evicts in the order one Map of composite keys
 * with delete-then-set on every hit would (customer.repository.test.ts checks it against that).
 */
export class RecentStates {
  private readonly tenants = new Map<string, Map<string, Cached>>();
  private oldest: Cached | undefined;
  private newest: Cached | undefined;
  size = 0;

  /** the state, now the most recently used; undefined when not cached */
  get(tenant: string, id: string): CustomerState | undefined {
    const entry = this.tenants.get(tenant)?.get(id);
    if (!entry) return undefined;
    this.unlink(entry);
    this.append(entry);
    return entry.state;
  }

  /** caches the state as the most recently used */
  set(tenant: string, id: string, state: CustomerState): void {
    let ids = this.tenants.get(tenant);
    if (!ids) this.tenants.set(tenant, (ids = new Map()));
    const entry = ids.get(id);
    if (entry) {
      entry.state = state;
      this.unlink(entry);
      this.append(entry);
      return;
    }
    const added: Cached = { tenant, id, state, older: undefined, newer: undefined };
    ids.set(id, added);
    this.append(added);
    this.size++;
  }

  delete(tenant: string, id: string): void {
    const ids = this.tenants.get(tenant);
    const entry = ids?.get(id);
    if (!ids || !entry) return;
    this.remove(ids, entry);
  }

  dropOldest(): void {
    const entry = this.oldest;
    if (entry) this.remove(this.tenants.get(entry.tenant)!, entry);
  }

  clear(): void {
    this.tenants.clear();
    this.oldest = this.newest = undefined;
    this.size = 0;
  }

  private remove(ids: Map<string, Cached>, entry: Cached): void {
    ids.delete(entry.id);
    if (ids.size === 0) this.tenants.delete(entry.tenant);
    this.unlink(entry);
    this.size--;
  }

  private unlink(entry: Cached): void {
    if (entry.older) entry.older.newer = entry.newer;
    else this.oldest = entry.newer;
    if (entry.newer) entry.newer.older = entry.older;
    else this.newest = entry.older;
    entry.older = entry.newer = undefined;
  }

  private append(entry: Cached): void {
    entry.older = this.newest;
    if (this.newest) this.newest.newer = entry;
    else this.oldest = entry;
    this.newest = entry;
  }
}
