import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyLakeBatch, type LakeBatch } from '../../../src/application/ports/lake.port.js';
import { tempLake } from '../../support/lake-fixture.js';

// The DuckDB lake writer on its own: repeats write nothing twice, a later batch joins the
// partition it falls in, an unmerge gives rows back, erasure reaches buffered rows and files.

const T = 't';
const at = (m: number, d: number): number => Date.UTC(2025, m - 1, d);
let lake: Awaited<ReturnType<typeof tempLake>>;
beforeEach(async () => {
  lake = await tempLake();
});
afterEach(() => lake.cleanup());

const orders = (...xs: [string, string, number][]): LakeBatch => {
  const b = emptyLakeBatch();
  for (const [id, customerId, when] of xs) {
    b.orders.push({ eventId: id, orderId: id, customerId, channel: 'web', currency: 'USD', revenueMinor: 1_000, observedAt: when });
    b.customers.push({ kind: 'seen', customerId, firstSeenAt: when, lastSeenAt: when });
  }
  return b;
};
const ownerOf = async () => {
  const rows = await lake.lake.analytics.run(T, 'customer-lifetime-value', { now: String(at(12, 31)) });
  return Object.fromEntries(rows.map((r) => [r.customer_id, r.orders]));
};

describe('the DuckDB lake writer', () => {
  it('writes a repeated delivery once and adds later rows to the partition they fall in', async () => {
    const w = lake.lake.writer;
    await w.write(T, orders(['e1', 'a', at(1, 5)], ['e2', 'b', at(2, 5)]), 'p2');
    await w.write(T, orders(['e1', 'a', at(1, 5)]), 'p2');
    await w.flush(T);
    await w.write(T, orders(['e2', 'b', at(2, 5)], ['e3', 'b', at(1, 9)]), 'p3');
    await w.flush(T);
    expect(await ownerOf()).toEqual({ a: 1, b: 2 });
    expect(await w.checkpoint(T)).toBe('p3');
  });

  it("an unmerge gives the reassigned events' rows to the absorbed customer", async () => {
    const w = lake.lake.writer;
    const b = orders(['e1', 'a', at(1, 5)], ['e2', 'a', at(1, 6)], ['e3', 'b', at(1, 7)]);
    b.customers.push({ kind: 'merged', customerId: 'b', into: 'a' });
    await w.write(T, b, 'p1');
    await w.flush(T);
    expect(await ownerOf()).toEqual({ a: 3 });
    const undo = emptyLakeBatch();
    undo.customers.push({ kind: 'restored', customerId: 'b' }, { kind: 'reassigned', customerId: 'b', eventIds: ['e2'] });
    await w.write(T, undo, 'p2');
    await w.flush(T);
    expect(await ownerOf()).toEqual({ a: 1, b: 2 });
  });

  it("a tombstone read from the log purges the customer's rows at the flush", async () => {
    const w = lake.lake.writer;
    await w.write(T, orders(['e1', 'a', at(1, 5)], ['e2', 'b', at(1, 6)]), 'p1');
    await w.flush(T);
    const tomb = orders(['e3', 'a', at(2, 5)]);
    tomb.customers.push({ kind: 'erased', customerId: 'a' });
    await w.write(T, tomb, 'p2');
    await w.flush(T);
    expect(await w.holds(T, ['a'])).toBe(false);
    expect(await ownerOf()).toEqual({ b: 1 });
  });

  it('erasure drops buffered rows and file rows, and bars the ids from later batches and a reset', async () => {
    const w = lake.lake.writer;
    await w.write(T, orders(['e1', 'a', at(1, 5)], ['e2', 'b', at(1, 6)]), 'p1');
    await w.flush(T);
    await w.write(T, orders(['e3', 'a', at(3, 5)]), 'p2');
    const { filesRewritten } = await w.erase(T, ['a']);
    expect(filesRewritten).toBeGreaterThan(0);
    await w.flush(T);
    await w.write(T, orders(['e4', 'a', at(4, 5)]), 'p3');
    await w.flush(T);
    expect(await w.holds(T, ['a'])).toBe(false);
    expect(await w.holds(T, ['b'])).toBe(true);
    await w.reset(T);
    await w.write(T, orders(['e1', 'a', at(1, 5)], ['e2', 'b', at(1, 6)]), 'p1');
    await w.flush(T);
    expect(await ownerOf()).toEqual({ b: 1 });
  });
});
