import { fold, initialState, type CustomerState } from '../../domain/customer/customer.state.js';
import type { RecordedEvent } from '../../domain/customer/customer.events.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { EventStore, StoredEvent } from '../ports/event-store.port.js';

// Loads Customer aggregates. Identity state needs no decryption, so a load is a read and a fold.
// Cached states are trusted optimistically: every stream a decision writes to is written with its
// expected version, so a stale cache surfaces as a commit conflict and the use case retries.

const MAX_POINTER_DEPTH = 32;

/** The identity part of a stored event, decoded without keys (data is stored readable). */
const identityView = (s: StoredEvent): RecordedEvent => ({
  eventId: s.eventId,
  streamId: s.streamId,
  version: s.version,
  observedAt: s.observedAt,
  source: s.source,
  sourcePriority: s.sourcePriority,
  channel: s.channel,
  messageId: s.messageId,
  identifierKeys: s.identifierKeys,
  event: { type: s.type, v: s.v, data: s.data } as RecordedEvent['event'],
});

export class CustomerRepository {
  private readonly cache = new Map<string, CustomerState>();

  constructor(
    private readonly store: EventStore,
    private readonly maxCached = 50_000,
  ) {}

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
    const events = await this.store.readStream(tenant, id, 0);
    const state = fold(id, events.map(identityView), initialState(id));
    this.rememberKey(key, state);
    return state;
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
