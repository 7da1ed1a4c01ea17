import { describe, expect, it } from 'vitest';
import { MemoryEventStore } from '../../../src/adapters/memory/memory.event-store.js';
import { append } from '../../../src/testing/builders.js';

// readAll attaches each event's position once, on its first read, and hands the same positioned
// event to every later read (a rebuild reads the log twice); the events as committed, what
// readStream answers and dump holds, stay as they were.

const TENANT = 't1';

describe('MemoryEventStore.readAll', () => {
  it('positions each event once: later reads get the same event, streams and the dump keep the committed ones', async () => {
    const store = new MemoryEventStore();
    const a = append(TENANT, 'a', 0, 2);
    const b = append(TENANT, 'b', 0, 1);
    await store.commit({ tenant: TENANT, streams: [a, b], claims: [] });
    const dumped = store.dump();

    const first = await store.readAll(TENANT, { limit: 2 });
    const rest = await store.readAll(TENANT, { after: first.next, limit: 10 });
    const all = [...first.events, ...rest.events];
    expect(all.map((e) => e.position)).toEqual(['0000000000000001', '0000000000000002', '0000000000000003']);
    // the committed events themselves are not changed: each read event is a positioned copy
    expect(all.map(({ position, ...e }) => e)).toEqual([...a.events, ...b.events]);
    for (const [i, e] of [...a.events, ...b.events].entries()) {
      expect(e.position).toBeUndefined();
      expect(all[i]).not.toBe(e);
    }

    const again = await store.readAll(TENANT, { limit: 10 });
    expect(again.events).toHaveLength(3);
    for (const [i, e] of again.events.entries()) expect(e).toBe(all[i]);

    expect(await store.readStream(TENANT, 'a')).toEqual(a.events);
    expect((await store.readStream(TENANT, 'a')).map((e) => e.position)).toEqual([undefined, undefined]);
    expect(store.dump()).toEqual(dumped);
  });
});

describe('MemoryEventStore.commit', () => {
  it('answers the new versions as a plain object, as `{}` would be, in commit order', async () => {
    const store = new MemoryEventStore();
    const result = await store.commit({ tenant: TENANT, streams: [append(TENANT, 'b', 0, 2), append(TENANT, 'a', 0, 1)], claims: [] });
    expect(result.status).toBe('committed');
    const { versions } = result as Extract<typeof result, { status: 'committed' }>;
    // held as a dictionary (see byStreamId), which must not show: same prototype, keys and JSON
    expect(Object.getPrototypeOf(versions)).toBe(Object.prototype);
    expect(Object.keys(versions)).toEqual(['b', 'a']);
    expect(JSON.stringify(versions)).toBe('{"b":2,"a":1}');
    expect('hasOwnProperty' in versions).toBe(true);
    expect(`${versions}`).toBe('[object Object]');
  });
});
