import { CHANNELS } from '../../domain/customer/customer.events.js';
import type { LakeBatch } from '../../application/ports/lake.port.js';
import { DIMENSIONS, FACTS, locationKey, type FactName, type TableSpec } from './lake.tables.js';
import { survivorOf, type TenantState } from './lake.state.js';

// What every lake writer does before its engine writes: a batch's rows buffered per fact table
// (erased customers left out), the tenant's dimensions brought up to date, merges, unmerges and
// erasures noted. The DuckDB writer and the S3 writer both buffer here; they differ in how rows
// reach their files.

/** one cell of a row, in the table's column order (dates as days since the epoch) */
export type Cell = string | number | null | undefined;

export type Pending = {
  readonly rows: Record<FactName, Cell[][]>;
  position: string | undefined;
  dims: boolean;
  /**
   * events whose rows leave the lake: the originals an unmerge gave back (the copies in the
   * absorbed customer's stream count instead, as in the 360 view; when that customer is erased,
   * the originals are that person's data and may stay under no other id)
   */
  readonly drop: Set<string>;
  readonly erase: Set<string>;
};

export const noRows = (): Record<FactName, Cell[][]> => ({
  fact_order: [],
  fact_order_line: [],
  fact_view: [],
  fact_product_event: [],
  fact_tracked_event: [],
  fact_engagement_decision: [],
  fact_location: [],
});

/** an erasure that a crash interrupted (ids saved as unpurged) is purged again by the next flush */
export const pendingFrom = (s: TenantState): Pending => ({
  rows: noRows(),
  position: s.checkpoint,
  dims: s.unpurged.size > 0,
  drop: new Set(),
  erase: new Set(s.unpurged),
});

/** a fact's columns as buffered: every file column but date_key, which is derived from observed_at */
export const stagedColumns = (t: TableSpec) => t.columns.filter((c) => c.name !== 'date_key');

const applyCustomers = (s: TenantState, p: Pending, batch: LakeBatch): void => {
  for (const c of batch.customers) {
    // the events an unmerge gave back: the originals' rows (the survivor's, written or buffered)
    // go, whether or not their customer is erased since; the copies are that customer's rows
    if (c.kind === 'reassigned') {
      for (const e of c.eventIds) p.drop.add(e);
      continue;
    }
    if (s.erased.has(c.customerId)) continue;
    const row = s.customers.get(c.customerId) ?? { mergedInto: undefined, firstSeenAt: undefined, lastSeenAt: undefined };
    switch (c.kind) {
      case 'seen':
        row.firstSeenAt = Math.min(row.firstSeenAt ?? c.firstSeenAt, c.firstSeenAt);
        row.lastSeenAt = Math.max(row.lastSeenAt ?? c.lastSeenAt, c.lastSeenAt);
        break;
      case 'merged':
        row.mergedInto = c.into;
        break;
      case 'restored':
        row.mergedInto = undefined;
        break;
      case 'erased':
        s.erased.add(c.customerId);
        s.customers.delete(c.customerId);
        p.erase.add(c.customerId);
        continue;
    }
    s.customers.set(c.customerId, row);
  }
};

/** Buffers a batch's fact rows (staged columns) in `p` and brings the tenant's dimensions up to date. */
export const bufferBatch = (s: TenantState, p: Pending, batch: LakeBatch, position: string | undefined): void => {
  applyCustomers(s, p, batch);
  const live = <T extends { customerId: string }>(xs: readonly T[]) => xs.filter((x) => !s.erased.has(x.customerId));
  const r = p.rows;
  for (const o of live(batch.orders)) r.fact_order.push([o.eventId, o.orderId, o.customerId, o.channel, o.currency, o.revenueMinor, o.observedAt]);
  for (const l of live(batch.orderLines))
    r.fact_order_line.push([l.eventId, l.lineNo, l.orderId, l.customerId, l.productId, l.category, l.quantity, l.priceMinor, l.currency, l.observedAt]);
  for (const v of live(batch.views)) r.fact_view.push([v.eventId, v.customerId, v.kind, v.name, v.category, v.channel, v.observedAt]);
  for (const x of live(batch.productEvents)) r.fact_product_event.push([x.eventId, x.customerId, x.productId, x.category, x.action, x.channel, x.observedAt]);
  for (const x of live(batch.trackedEvents)) r.fact_tracked_event.push([x.eventId, x.customerId, x.event, x.channel, x.observedAt]);
  for (const d of live(batch.decisions))
    r.fact_engagement_decision.push([d.eventId, d.decisionId, d.customerId, d.trigger, d.outcome, d.reason, d.offerId, d.channel, d.observedAt]);
  // the dimensions (cities, products, days) take every event's, as a rebuild after an erasure reads
  // them again: so the incremental lake and a rebuild hold the same rows; the facts only the live customers'
  for (const l of batch.locations) {
    const key = locationKey(l);
    if (!s.locations.has(key)) s.locations.set(key, { country: l.country, region: l.region, city: l.city });
  }
  for (const l of live(batch.locations)) r.fact_location.push([l.eventId, l.customerId, locationKey(l), l.observedAt]);
  for (const x of batch.products) {
    const prev = s.products.get(x.productId);
    if (!prev || x.observedAt >= prev.updatedAt)
      s.products.set(x.productId, { name: x.name ?? prev?.name, category: x.category ?? prev?.category, updatedAt: x.observedAt });
  }
  for (const xs of [batch.orders, batch.views, batch.productEvents, batch.trackedEvents, batch.decisions, batch.locations])
    for (const x of xs) s.days.add(Math.floor(x.observedAt / 86_400_000));
  p.dims = true;
  p.position = position ?? p.position;
};

/** Drops buffered rows of these events (p.drop, before the rows are written). */
export const dropBufferedEvents = (p: Pending, eventIds: ReadonlySet<string>): void => {
  for (const t of Object.values(FACTS)) {
    const at = stagedColumns(t).findIndex((c) => c.name === 'event_id');
    const rows = p.rows[t.name as FactName];
    rows.splice(0, rows.length, ...rows.filter((r) => !eventIds.has(String(r[at]))));
  }
};

/** Drops buffered rows of these customers (an erasure before the flush). */
export const dropBuffered = (p: Pending, customerIds: readonly string[]): void => {
  for (const t of Object.values(FACTS)) {
    const owner = stagedColumns(t).findIndex((c) => c.name === 'customer_id');
    const rows = p.rows[t.name as FactName];
    rows.splice(0, rows.length, ...rows.filter((r) => !customerIds.includes(String(r[owner]))));
  }
};

/** The rows of dim_customer, dim_product, dim_location and dim_channel (dim_date: each engine spans the days). */
export const dimensionRows = (s: TenantState): readonly (readonly [TableSpec, Cell[][]])[] => [
  [DIMENSIONS.dim_customer, [...s.customers].map(([id, c]) => [id, survivorOf(s.customers, id), c.mergedInto, c.firstSeenAt, c.lastSeenAt])],
  [DIMENSIONS.dim_product, [...s.products].map(([id, x]) => [id, x.name, x.category, x.updatedAt])],
  [DIMENSIONS.dim_location, [...s.locations].map(([key, l]) => [key, l.country, l.region, l.city])],
  [DIMENSIONS.dim_channel, CHANNELS.map((c) => [c])],
];

const DAY = 86_400_000;

/** the ISO 8601 week of a UTC day (weeks start on Monday; week 1 holds the year's first Thursday) */
const isoWeek = (day: number): number => {
  const d = new Date(day * DAY);
  const dow = d.getUTCDay() || 7;
  const thursday = day + 4 - dow;
  const yearStart = Date.UTC(new Date(thursday * DAY).getUTCFullYear(), 0, 1) / DAY;
  return Math.floor((thursday - yearStart) / 7) + 1;
};

/** dim_date's rows: every day from the first to the last day holding a fact (as DuckDB's range() writes them) */
export const dateRows = (days: ReadonlySet<number>): Cell[][] => {
  if (days.size === 0) return [];
  let [from, to] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (const d of days) [from, to] = [Math.min(from, d), Math.max(to, d)];
  const rows: Cell[][] = [];
  for (let day = from; day <= to; day++) {
    const d = new Date(day * DAY);
    rows.push([day, d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), isoWeek(day), d.getUTCDay() || 7]);
  }
  return rows;
};
