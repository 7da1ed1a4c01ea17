import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyLakeBatch, type LakeBatch, type LakeCleaner, type LakeWriter } from '../../src/application/ports/lake.port.js';
import type { Cell } from '../../src/adapters/lake/lake.buffer.js';
import { DIMENSIONS, FACTS, TABLES, type TableSpec } from '../../src/adapters/lake/lake.tables.js';
import { CHANNELS } from '../../src/domain/customer/customer.events.js';

// What every lake writer does, whatever its engine (DuckDB files, S3 objects): the rows it is given
// read back as written, in the shared tables' columns; a repeated delivery writes nothing twice;
// later rows join the partition they fall in; an unmerge gives rows back; erasure reaches buffered
// rows and written ones and bars the ids from later batches, a reset and a new writer; tenants
// never share a row.

export type LakeWriterSubject = {
  readonly writer: LakeWriter & LakeCleaner;
  /** whether any file of the tenant names one of these customers */
  holds(tenant: string, customerIds: readonly string[]): Promise<boolean>;
  /** every row of the tenant's table, read back from its files (cells in the table's column order) */
  rows(tenant: string, table: TableSpec): Promise<Cell[][]>;
  /** a new writer over the same lake (a later process or invocation) */
  reopen(): Promise<LakeWriter & LakeCleaner>;
  cleanup(): Promise<void> | void;
};

const T = 't';
const OTHER = 'u';
const DAY = 86_400_000;
const at = (m: number, d: number): number => Date.UTC(2025, m - 1, d, 10);

const orders = (...xs: [string, string, number][]): LakeBatch => {
  const b = emptyLakeBatch();
  for (const [id, customerId, when] of xs) {
    b.orders.push({ eventId: id, orderId: id, customerId, channel: 'web', currency: 'USD', revenueMinor: 1_000, observedAt: when });
    b.customers.push({ kind: 'seen', customerId, firstSeenAt: when, lastSeenAt: when });
  }
  return b;
};

const sorted = (rows: Cell[][]): Cell[][] => rows.map((r) => r.map((c) => c ?? null)).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

export const lakeWriterContract = (name: string, open: () => Promise<LakeWriterSubject>): void => {
  describe(`lake writer contract: ${name}`, () => {
    let lake: LakeWriterSubject;
    beforeEach(async () => {
      lake = await open();
    });
    afterEach(() => lake.cleanup());

    /** orders per customer, each counted under its survivor (dim_customer), as the queries count them */
    const owners = async (tenant = T): Promise<Record<string, number>> => {
      const survivor = new Map((await lake.rows(tenant, DIMENSIONS.dim_customer)).map((r) => [String(r[0]), String(r[1])]));
      const out: Record<string, number> = {};
      for (const r of await lake.rows(tenant, FACTS.fact_order)) {
        const id = survivor.get(String(r[2])) ?? String(r[2]);
        out[id] = (out[id] ?? 0) + 1;
      }
      return out;
    };

    it('reads back every row as written, in the shared columns and types, with the dimensions', async () => {
      const b = emptyLakeBatch();
      const t1 = at(1, 5);
      const t2 = at(3, 7);
      b.orders.push({ eventId: 'o1', orderId: 'ord-1', customerId: 'c1', channel: 'web', currency: 'EUR', revenueMinor: 2_500, observedAt: t1 });
      b.orderLines.push(
        {
          eventId: 'o1',
          lineNo: 0,
          orderId: 'ord-1',
          customerId: 'c1',
          productId: 'p1',
          category: 'shoes',
          quantity: 2,
          priceMinor: 1_000,
          currency: 'EUR',
          observedAt: t1,
        },
        { eventId: 'o1', lineNo: 1, orderId: 'ord-1', customerId: 'c1', productId: 'p2', quantity: 1, currency: 'EUR', observedAt: t1 },
      );
      b.views.push({ eventId: 'v1', customerId: 'c1', kind: 'page', name: 'Home', channel: 'web', observedAt: t2 });
      b.productEvents.push({ eventId: 'x1', customerId: 'c2', productId: 'p1', category: 'shoes', action: 'viewed', channel: 'mobile', observedAt: t2 });
      b.trackedEvents.push({ eventId: 'k1', customerId: 'c2', event: 'Signed Up', channel: 'mobile', observedAt: t1 });
      b.decisions.push({ eventId: 'd1', decisionId: 'dec-1', customerId: 'c2', trigger: 'cart', outcome: 'suppressed', reason: 'NO_CONSENT', observedAt: t2 });
      b.locations.push({ eventId: 'l1', customerId: 'c1', country: 'DE', city: 'Berlin', observedAt: t2 });
      b.products.push({ productId: 'p1', name: 'Runner', category: 'shoes', observedAt: t1 }, { productId: 'p2', observedAt: t1 });
      b.customers.push(
        { kind: 'seen', customerId: 'c1', firstSeenAt: t1, lastSeenAt: t2 },
        { kind: 'seen', customerId: 'c2', firstSeenAt: t1, lastSeenAt: t2 },
        { kind: 'merged', customerId: 'c2', into: 'c1' },
      );
      await lake.writer.write(T, b, 'p1');
      await lake.writer.flush(T);
      const [d1, d2] = [Math.floor(t1 / DAY), Math.floor(t2 / DAY)];
      expect(await lake.rows(T, FACTS.fact_order)).toEqual([['o1', 'ord-1', 'c1', 'web', 'EUR', 2_500, t1, d1]]);
      expect(sorted(await lake.rows(T, FACTS.fact_order_line))).toEqual([
        ['o1', 0, 'ord-1', 'c1', 'p1', 'shoes', 2, 1_000, 'EUR', t1, d1],
        ['o1', 1, 'ord-1', 'c1', 'p2', null, 1, null, 'EUR', t1, d1],
      ]);
      expect(await lake.rows(T, FACTS.fact_view)).toEqual([['v1', 'c1', 'page', 'Home', null, 'web', t2, d2]]);
      expect(await lake.rows(T, FACTS.fact_product_event)).toEqual([['x1', 'c2', 'p1', 'shoes', 'viewed', 'mobile', t2, d2]]);
      expect(await lake.rows(T, FACTS.fact_tracked_event)).toEqual([['k1', 'c2', 'Signed Up', 'mobile', t1, d1]]);
      expect(await lake.rows(T, FACTS.fact_engagement_decision)).toEqual([['d1', 'dec-1', 'c2', 'cart', 'suppressed', 'NO_CONSENT', null, null, t2, d2]]);
      expect(await lake.rows(T, FACTS.fact_location)).toEqual([['l1', 'c1', 'de||berlin', t2, d2]]);
      expect(sorted(await lake.rows(T, DIMENSIONS.dim_customer))).toEqual([
        ['c1', 'c1', null, t1, t2],
        ['c2', 'c1', 'c1', t1, t2],
      ]);
      expect(sorted(await lake.rows(T, DIMENSIONS.dim_product))).toEqual([
        ['p1', 'Runner', 'shoes', t1],
        ['p2', null, null, t1],
      ]);
      expect(await lake.rows(T, DIMENSIONS.dim_location)).toEqual([['de||berlin', 'DE', null, 'Berlin']]);
      expect(sorted(await lake.rows(T, DIMENSIONS.dim_channel))).toEqual(sorted(CHANNELS.map((c) => [c])));
      // every day from the first fact to the last: 2025-01-05 (a Sunday, ISO week 1) to 2025-03-07
      const days = await lake.rows(T, DIMENSIONS.dim_date);
      expect(days.length).toBe(d2 - d1 + 1);
      expect(days[0]).toEqual([d1, 2025, 1, 5, 1, 7]);
      expect(days.at(-1)).toEqual([d2, 2025, 3, 7, 10, 5]);
      expect(await lake.writer.checkpoint(T)).toBe('p1');
    });

    it('writes a repeated delivery once and adds later rows to the partition they fall in', async () => {
      const w = lake.writer;
      await w.write(T, orders(['e1', 'a', at(1, 5)], ['e2', 'b', at(2, 5)]), 'p2');
      await w.write(T, orders(['e1', 'a', at(1, 5)]), 'p2');
      await w.flush(T);
      await w.write(T, orders(['e2', 'b', at(2, 5)], ['e3', 'b', at(1, 9)]), 'p3');
      await w.flush(T);
      expect(await owners()).toEqual({ a: 1, b: 2 });
      expect(await w.checkpoint(T)).toBe('p3');
    });

    it("an unmerge takes the given-back events' rows out (the absorbed customer's copies count instead, as in the 360 view)", async () => {
      const w = lake.writer;
      const b = orders(['e1', 'a', at(1, 5)], ['e2', 'a', at(1, 6)], ['e3', 'b', at(1, 7)]);
      b.customers.push({ kind: 'merged', customerId: 'b', into: 'a' });
      await w.write(T, b, 'p1');
      await w.flush(T);
      expect(await owners()).toEqual({ a: 3 });
      const undo = emptyLakeBatch();
      undo.customers.push({ kind: 'restored', customerId: 'b' }, { kind: 'reassigned', customerId: 'b', eventIds: ['e2'] });
      // the unmerge's copy of e2, in b's stream (a new event id), is read after it
      const copy = orders(['e2-copy', 'b', at(1, 6)]);
      await w.write(T, undo, 'p2');
      await w.write(T, copy, 'p3');
      await w.flush(T);
      expect(await owners()).toEqual({ a: 1, b: 2 });
      expect(await lake.holds(T, ['a'])).toBe(true);
      const ids = (await lake.rows(T, FACTS.fact_order)).map((r) => String(r[0])).sort();
      expect(ids).toEqual(['e1', 'e2-copy', 'e3']);
    });

    it('the rows an unmerge gives back to a customer erased since leave the lake, buffered or written, none kept by the survivor', async () => {
      const w = lake.writer;
      const b = orders(['e1', 'a', at(1, 5)], ['e2', 'a', at(1, 6)], ['e3', 'b', at(1, 7)]);
      b.customers.push({ kind: 'merged', customerId: 'b', into: 'a' });
      await w.write(T, b, 'p1');
      await w.flush(T);
      await w.write(T, orders(['e4', 'a', at(2, 5)]), 'p2');
      await w.erase(T, ['b']);
      const undo = emptyLakeBatch();
      undo.customers.push({ kind: 'restored', customerId: 'b' }, { kind: 'reassigned', customerId: 'b', eventIds: ['e2', 'e4'] });
      await w.write(T, undo, 'p3');
      await w.flush(T);
      expect(await owners()).toEqual({ a: 1 });
      expect(await lake.holds(T, ['b'])).toBe(false);
    });

    it("a tombstone read from the log purges the customer's rows at the flush", async () => {
      const w = lake.writer;
      await w.write(T, orders(['e1', 'a', at(1, 5)], ['e2', 'b', at(1, 6)]), 'p1');
      await w.flush(T);
      const tomb = orders(['e3', 'a', at(2, 5)]);
      tomb.customers.push({ kind: 'erased', customerId: 'a' });
      await w.write(T, tomb, 'p2');
      await w.flush(T);
      expect(await lake.holds(T, ['a'])).toBe(false);
      expect(await owners()).toEqual({ b: 1 });
    });

    it('names an erased id (erasedIds, what receipts are marked lake-clean by) only once no file holds its rows', async () => {
      const w = lake.writer;
      await w.write(T, orders(['e1', 'a', at(1, 5)], ['e2', 'b', at(1, 6)], ['e3', 'c', at(1, 7)]), 'p1');
      await w.flush(T);
      // a's tombstone read from the log is buffered, not flushed; then b is erased directly
      const tomb = emptyLakeBatch();
      tomb.customers.push({ kind: 'erased', customerId: 'a' });
      await w.write(T, tomb, 'p2');
      await w.erase(T, ['b']);
      expect(await lake.holds(T, ['a'])).toBe(true);
      expect([...(await w.erasedIds(T))].sort()).toEqual(['b']);
      expect([...(await (await lake.reopen()).erasedIds(T))].sort()).toEqual(['b']);
      await w.flush(T);
      expect(await lake.holds(T, ['a', 'b'])).toBe(false);
      expect([...(await w.erasedIds(T))].sort()).toEqual(['a', 'b']);
      expect(await owners()).toEqual({ c: 1 });
    });

    it('erasure drops buffered rows and file rows, and bars the ids from later batches, a reset and a new writer', async () => {
      const w = lake.writer;
      await w.write(T, orders(['e1', 'a', at(1, 5)], ['e2', 'b', at(1, 6)]), 'p1');
      await w.flush(T);
      await w.write(T, orders(['e3', 'a', at(3, 5)]), 'p2');
      const erased = await w.erase(T, ['a']);
      expect(erased?.filesRewritten).toBeGreaterThan(0);
      await w.flush(T);
      await w.write(T, orders(['e4', 'a', at(4, 5)]), 'p3');
      await w.flush(T);
      expect(await lake.holds(T, ['a'])).toBe(false);
      expect(await lake.holds(T, ['b'])).toBe(true);
      await w.reset(T);
      await w.write(T, orders(['e1', 'a', at(1, 5)], ['e2', 'b', at(1, 6)]), 'p1');
      await w.flush(T);
      expect(await owners()).toEqual({ b: 1 });
      const later = await lake.reopen();
      expect(await later.checkpoint(T)).toBe('p1');
      await later.write(T, orders(['e5', 'a', at(5, 5)], ['e6', 'b', at(5, 6)]), 'p4');
      await later.flush(T);
      expect(await lake.holds(T, ['a'])).toBe(false);
      expect(await owners()).toEqual({ b: 2 });
    });

    it('after an erasure, a rebuild (reset, the same batches again) holds the same rows as the incremental lake', async () => {
      const w = lake.writer;
      const batches = [orders(['e1', 'a', at(1, 5)], ['e2', 'b', at(1, 6)]), orders(['e3', 'a', at(2, 5)])];
      batches[0]!.locations.push({ eventId: 'l1', customerId: 'a', country: 'NL', city: 'Utrecht', observedAt: at(1, 5) });
      batches[1]!.locations.push({ eventId: 'l2', customerId: 'b', country: 'NL', city: 'Delft', observedAt: at(2, 5) });
      for (const [i, b] of batches.entries()) {
        await w.write(T, b, `p${i}`);
        await w.flush(T);
      }
      await w.erase(T, ['a']);
      const snapshot = async () => Promise.all(TABLES.map(async (t) => sorted(await lake.rows(T, t))));
      const incremental = await snapshot();
      expect(incremental.flat().some((r) => r.includes('a'))).toBe(false);
      await w.reset(T);
      for (const [i, b] of batches.entries()) await w.write(T, b, `p${i}`);
      await w.flush(T);
      expect(await snapshot()).toEqual(incremental);
    });

    it("keeps tenants apart: one tenant's rows, reset and erasure never touch another's", async () => {
      const w = lake.writer;
      await w.write(T, orders(['e1', 'a', at(1, 5)]), 'p1');
      await w.write(OTHER, orders(['e1', 'z', at(1, 5)], ['e2', 'a', at(1, 6)]), 'q1');
      await w.flush(T);
      await w.flush(OTHER);
      expect(await owners(T)).toEqual({ a: 1 });
      expect(await owners(OTHER)).toEqual({ z: 1, a: 1 });
      await w.erase(T, ['a']);
      await w.reset(T);
      expect(await owners(OTHER)).toEqual({ z: 1, a: 1 });
      expect(await w.checkpoint(OTHER)).toBe('q1');
      for (const t of TABLES) expect(await lake.rows(T, t), t.name).toEqual([]);
    });
  });
};
