import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { MemoryEventStore } from '../../../src/adapters/memory/memory.event-store.js';
import { MemorySnapshotStore } from '../../../src/adapters/memory/memory.snapshot-store.js';
import { MemoryMetrics } from '../../../src/adapters/metrics/memory.metrics.js';
import { CustomerRepository, RecentStates } from '../../../src/application/customers/customer.repository.js';
import type { SnapshotStore } from '../../../src/application/ports/snapshot.port.js';
import type { CustomerEvent, RecordedEvent } from '../../../src/domain/customer/customer.events.js';
import { SNAPSHOT_SCHEMA, toSnapshot } from '../../../src/domain/customer/customer.snapshot.js';
import { fold, initialState, type CustomerState } from '../../../src/domain/customer/customer.state.js';
import { commitHistory, longHistory } from '../../support/customer-history.js';
import { keyed, linked, recordAll } from '../../support/decider-spec.js';
import { makeHarness } from '../../support/harness.js';

// Loading through a snapshot must give the very state a full fold gives, read fewer events, and
// never let a broken or foreign snapshot, or a failing snapshot store, change or fail a load.

const TENANT = 't-1';
const ID = 'c-1';

const commit = (store: MemoryEventStore, recorded: readonly RecordedEvent[]) => commitHistory(store, TENANT, recorded);

const setUp = async (count: number) => {
  const store = new MemoryEventStore();
  const all = longHistory(ID, count);
  await commit(store, all);
  return { store, all, snapshots: new MemorySnapshotStore(), metrics: new MemoryMetrics() };
};

describe('CustomerRepository with snapshots', () => {
  it('loads a 250-event customer through its snapshot, reading only the tail, into the full fold', async () => {
    const store = new MemoryEventStore();
    const snapshots = new MemorySnapshotStore();
    const all = longHistory(ID, 250);
    await commit(store, all.slice(0, 150));
    await new CustomerRepository(store, { snapshots }).load(TENANT, ID);
    expect((await snapshots.get(TENANT, ID))?.version).toBe(150);

    await commit(store, all.slice(150));
    const read = vi.spyOn(store, 'readStream');
    const state = await new CustomerRepository(store, { snapshots }).load(TENANT, ID);
    expect(read.mock.calls).toEqual([[TENANT, ID, 150]]);
    expect(await read.mock.results[0]!.value).toHaveLength(100);
    expect(state).toEqual(fold(ID, all));
    expect(toSnapshot(state)).toEqual(toSnapshot(fold(ID, all))); // same iteration order too
    expect(state.merges.size).toBeGreaterThan(0);
    // it folded 100 events past the snapshot, so the next load starts at 250 and reads nothing
    expect((await snapshots.get(TENANT, ID))?.version).toBe(250);
    read.mockClear();
    expect(await new CustomerRepository(store, { snapshots }).load(TENANT, ID)).toEqual(state);
    expect(read.mock.calls).toEqual([[TENANT, ID, 250]]);
  });

  it('writes a snapshot once a load folds `snapshotEvery` events past the last one, not before', async () => {
    const { store, snapshots } = await setUp(99);
    const put = vi.spyOn(snapshots, 'put');
    await new CustomerRepository(store, { snapshots, snapshotEvery: 100 }).load(TENANT, ID);
    expect(put).not.toHaveBeenCalled();
    await commit(store, recordAll(ID, [linked(keyed('email', 'late'))], 99));
    await new CustomerRepository(store, { snapshots, snapshotEvery: 100 }).load(TENANT, ID);
    expect(put.mock.calls.map(([tenant, id, version]) => [tenant, id, version])).toEqual([[TENANT, ID, 100]]);
  });

  it('never writes a snapshot of an erased customer, however many events a load folds', async () => {
    const { store, snapshots } = await setUp(150);
    const erased: CustomerEvent = { type: 'CustomerErased', v: 1, data: { erasureId: 'er-1', requestedId: ID } };
    await commit(store, recordAll(ID, [erased], 150));
    const put = vi.spyOn(snapshots, 'put');
    const state = await new CustomerRepository(store, { snapshots, snapshotEvery: 100 }).load(TENANT, ID);
    expect(state.status).toBe('erased');
    expect(state.version).toBe(151);
    // the erasure deleted the snapshot; its claim keys and merges must not come back with a load
    expect(put).not.toHaveBeenCalled();
    expect(await snapshots.get(TENANT, ID)).toBeUndefined();
  });

  it.each([
    ['another schema version', (s: Record<string, unknown>) => ({ ...s, schema: SNAPSHOT_SCHEMA + 1 })],
    ['the schema before operators’ reasons left the state', (s: Record<string, unknown>) => ({ ...s, schema: 1 })],
    ['not a snapshot at all', () => 'garbage'],
    ['another customer’s state', (s: Record<string, unknown>) => ({ ...s, id: 'c-2' })],
    ['a state at another version than its item', (s: Record<string, unknown>) => ({ ...s, version: 120 })],
    ['a state with an unknown field', (s: Record<string, unknown>) => ({ ...s, email: 'alice@example.com' })],
  ])('ignores %s and folds the whole stream', async (_name, corrupt) => {
    const { store, all, snapshots, metrics } = await setUp(250);
    await snapshots.put(TENANT, ID, 150, corrupt(toSnapshot(fold(ID, all.slice(0, 150)))));
    const read = vi.spyOn(store, 'readStream');
    const state = await new CustomerRepository(store, { snapshots, metrics }).load(TENANT, ID);
    expect(read.mock.calls).toEqual([[TENANT, ID, 0]]);
    expect(state).toEqual(fold(ID, all));
    expect(metrics.get('snapshot_ignored')).toBe(1);
    // the full fold went past the threshold, so a good snapshot replaces the bad one
    expect((await snapshots.get(TENANT, ID))?.version).toBe(250);
  });

  it('loads by folding when the snapshot store cannot be read or written, counting the write failure', async () => {
    const { store, all, metrics } = await setUp(250);
    const broken: SnapshotStore = {
      get: () => Promise.reject(new Error('throttled')),
      put: () => Promise.reject(new Error('item too large')),
      delete: async () => {},
    };
    const state = await new CustomerRepository(store, { snapshots: broken, metrics }).load(TENANT, ID);
    expect(state).toEqual(fold(ID, all));
    expect(metrics.snapshot()).toMatchObject({ snapshot_ignored: 1, snapshot_write_failed: 1 });
  });

  it('waits for the snapshot write before the load returns', async () => {
    const { store, snapshots } = await setUp(120);
    let written = false;
    const slow: SnapshotStore = {
      get: (t, id) => snapshots.get(t, id),
      put: async () => void (await new Promise((r) => setTimeout(r, 20)), (written = true)),
      delete: async () => {},
    };
    await new CustomerRepository(store, { snapshots: slow }).load(TENANT, ID);
    expect(written).toBe(true);
  });

  it('refuses a threshold that is not a positive integer', () => {
    for (const snapshotEvery of [0, -1, 2.5, Number.NaN])
      expect(() => new CustomerRepository(new MemoryEventStore(), { snapshotEvery })).toThrow(/snapshotEvery/);
  });
});

describe('createCore wiring', () => {
  it('passes the snapshot store to the repository, so a cold load of a long customer saves one', async () => {
    const h = makeHarness();
    let customerId = '';
    for (let i = 0; i < 105; i++) {
      const outcome = await h.core.ingest.ingest(TENANT, h.web, { type: 'page', name: 'Home', anonymousId: 'anon-1', messageId: `m-${i}` });
      if (outcome.status !== 'accepted') throw new Error(`call ${i} was ${outcome.status}`);
      customerId = outcome.customerId;
    }
    h.core.repo.clear();
    const state = await h.core.repo.load(TENANT, customerId);
    expect(state.version).toBeGreaterThanOrEqual(105);
    expect((await h.ports.snapshots.get(TENANT, customerId))?.version).toBe(state.version);
  });
});

describe('RecentStates (the repository cache)', () => {
  // the cache as it was: one Map of `${tenant}\0${id}` keys, delete-then-set on every hit and write
  class CompositeKeyLru {
    readonly map = new Map<string, CustomerState>();
    get(tenant: string, id: string): CustomerState | undefined {
      const key = `${tenant}\u0000${id}`;
      const cached = this.map.get(key);
      if (cached) {
        this.map.delete(key);
        this.map.set(key, cached);
      }
      return cached;
    }
    set(tenant: string, id: string, state: CustomerState, max: number): void {
      const key = `${tenant}\u0000${id}`;
      this.map.delete(key);
      this.map.set(key, state);
      if (this.map.size > max) this.map.delete(this.map.keys().next().value!);
    }
  }

  const tenant = fc.constantFrom('t-1', 't-2');
  const id = fc.constantFrom('a', 'b', 'c', '1\u0000a');
  const op = fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('get' as const), tenant, id }), weight: 8 },
    { arbitrary: fc.record({ kind: fc.constant('set' as const), tenant, id }), weight: 8 },
    { arbitrary: fc.record({ kind: fc.constant('delete' as const), tenant, id }), weight: 2 },
    { arbitrary: fc.record({ kind: fc.constant('clear' as const), tenant, id }), weight: 1 },
  );

  it('hits, misses and evicts exactly as the composite-key Map did, across tenants', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 60 }), (max, ops) => {
        const reference = new CompositeKeyLru();
        const cache = new RecentStates();
        ops.forEach(({ kind, tenant, id }, i) => {
          if (kind === 'get') expect(cache.get(tenant, id)).toBe(reference.get(tenant, id));
          else if (kind === 'set') {
            const state = { ...initialState(id), version: i + 1 };
            reference.set(tenant, id, state, max);
            cache.set(tenant, id, state);
            if (cache.size > max) cache.dropOldest();
          } else if (kind === 'delete') {
            reference.map.delete(`${tenant}\u0000${id}`);
            cache.delete(tenant, id);
          } else {
            reference.map.clear();
            cache.clear();
          }
          expect(cache.size).toBe(reference.map.size);
        });
        // what is left, least recently used first (reading it in that order keeps the order)
        for (const key of [...reference.map.keys()]) {
          const [tenant, id] = [key.slice(0, key.indexOf('\u0000')), key.slice(key.indexOf('\u0000') + 1)];
          expect(cache.get(tenant, id)).toBe(reference.get(tenant, id));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('evicts the least recently loaded customer once maxCached is passed', async () => {
    const store = new MemoryEventStore();
    for (const id of ['c-a', 'c-b', 'c-c']) await commitHistory(store, TENANT, longHistory(id, 3));
    const repo = new CustomerRepository(store, { maxCached: 2 });
    const read = vi.spyOn(store, 'readStream');
    await repo.load(TENANT, 'c-a');
    await repo.load(TENANT, 'c-b');
    await repo.load(TENANT, 'c-a'); // a hit: c-b is now the least recently used
    await repo.load(TENANT, 'c-c'); // evicts c-b
    await repo.load(TENANT, 'c-a');
    await repo.load(TENANT, 'c-b');
    expect(read.mock.calls.map(([, id]) => id)).toEqual(['c-a', 'c-b', 'c-c', 'c-b']);
  });
});
