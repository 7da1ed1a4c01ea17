import type { DuckDBConnection } from '@duckdb/node-api';
import { join } from 'node:path';
import { CHANNELS } from '../../domain/customer/customer.events.js';
import type { LakeBatch, LakeEraser, LakeWriter } from '../../application/ports/lake.port.js';
import { dropTenant, rewriteFacts, stagedColumns, stageRows, writeDimension, writeFacts, type Cell } from './duckdb.tables.js';
import { lit, parquetFiles, readJson, tenantDir, writeJson } from './lake.files.js';
import { DIMENSIONS, FACTS, TABLES, locationKey, type FactName } from './lake.tables.js';
import { emptyTenant, loadTenant, survivorOf, type TenantState } from './lake.state.js';

// The lake writer on DuckDB: batches are buffered per tenant and flushed to Parquet (facts to
// their month partitions, dimensions rewritten whole), then the checkpoint moves. Erased ids are
// kept beside the tables (ids only, as the erasure ledger keeps them): a row of an erased customer
// is never written again, whatever a late page of the log still carries.

type Pending = { rows: Record<FactName, Cell[][]>; position: string | undefined; dims: boolean; reassign: Map<string, string>; erase: Set<string> };
const noRows = (): Record<FactName, Cell[][]> => ({
  fact_order: [],
  fact_order_line: [],
  fact_view: [],
  fact_product_event: [],
  fact_tracked_event: [],
  fact_engagement_decision: [],
  fact_location: [],
});
const ids = (xs: Iterable<string>): string => [...xs].map(lit).join(', ');

export class DuckDbLakeWriter implements LakeWriter, LakeEraser {
  private readonly tenants = new Map<string, TenantState>();
  private readonly pending = new Map<string, Pending>();
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly conn: DuckDBConnection,
    readonly root: string,
    private readonly clock: () => number = Date.now,
  ) {}

  private exclusive<T>(f: () => Promise<T>): Promise<T> {
    const run = this.tail.then(f);
    this.tail = run.catch(() => {});
    return run;
  }

  private stateFile(tenant: string): string {
    return join(tenantDir(this.root, '_state', tenant), 'state.json');
  }

  private async state(tenant: string): Promise<TenantState> {
    let s = this.tenants.get(tenant);
    if (!s) {
      s = await loadTenant(this.conn, this.root, tenant, readJson(this.stateFile(tenant)));
      this.tenants.set(tenant, s);
    }
    return s;
  }

  async checkpoint(tenant: string): Promise<string | undefined> {
    return this.exclusive(async () => this.pending.get(tenant)?.position ?? (await this.state(tenant)).checkpoint);
  }

  write(tenant: string, batch: LakeBatch, position: string | undefined): Promise<void> {
    return this.exclusive(async () => {
      const s = await this.state(tenant);
      let p = this.pending.get(tenant);
      if (!p) this.pending.set(tenant, (p = { rows: noRows(), position: s.checkpoint, dims: false, reassign: new Map(), erase: new Set() }));
      this.applyCustomers(s, p, batch);
      const live = <T extends { customerId: string }>(xs: readonly T[]) => xs.filter((x) => !s.erased.has(x.customerId));
      const r = p.rows;
      for (const o of live(batch.orders)) r.fact_order.push([o.eventId, o.orderId, o.customerId, o.channel, o.currency, o.revenueMinor, o.observedAt]);
      for (const l of live(batch.orderLines))
        r.fact_order_line.push([l.eventId, l.lineNo, l.orderId, l.customerId, l.productId, l.category, l.quantity, l.priceMinor, l.currency, l.observedAt]);
      for (const v of live(batch.views)) r.fact_view.push([v.eventId, v.customerId, v.kind, v.name, v.category, v.channel, v.observedAt]);
      for (const x of live(batch.productEvents))
        r.fact_product_event.push([x.eventId, x.customerId, x.productId, x.category, x.action, x.channel, x.observedAt]);
      for (const x of live(batch.trackedEvents)) r.fact_tracked_event.push([x.eventId, x.customerId, x.event, x.channel, x.observedAt]);
      for (const d of live(batch.decisions))
        r.fact_engagement_decision.push([d.eventId, d.decisionId, d.customerId, d.trigger, d.outcome, d.reason, d.offerId, d.channel, d.observedAt]);
      for (const l of live(batch.locations)) {
        const key = locationKey(l);
        if (!s.locations.has(key)) s.locations.set(key, { country: l.country, region: l.region, city: l.city });
        r.fact_location.push([l.eventId, l.customerId, key, l.observedAt]);
      }
      for (const x of batch.products) {
        const prev = s.products.get(x.productId);
        if (!prev || x.observedAt >= prev.updatedAt)
          s.products.set(x.productId, { name: x.name ?? prev?.name, category: x.category ?? prev?.category, updatedAt: x.observedAt });
      }
      for (const xs of [batch.orders, batch.views, batch.productEvents, batch.trackedEvents, batch.decisions, batch.locations])
        for (const x of xs) s.days.add(Math.floor(x.observedAt / 86_400_000));
      p.dims = true;
      p.position = position ?? p.position;
    });
  }

  private applyCustomers(s: TenantState, p: Pending, batch: LakeBatch): void {
    for (const c of batch.customers) {
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
        case 'reassigned':
          for (const e of c.eventIds) p.reassign.set(e, c.customerId);
          break;
        case 'erased':
          s.erased.add(c.customerId);
          s.customers.delete(c.customerId);
          p.erase.add(c.customerId);
          continue;
      }
      s.customers.set(c.customerId, row);
    }
  }

  flush(tenant: string): Promise<void> {
    return this.exclusive(async () => {
      const p = this.pending.get(tenant);
      if (!p) return;
      const s = await this.state(tenant);
      for (const t of Object.values(FACTS)) {
        const rows = p.rows[t.name as FactName];
        if (rows.length === 0) continue;
        await stageRows(this.conn, t, 'lake_stage', rows);
        await writeFacts(this.conn, this.root, tenant, t, 'lake_stage');
      }
      if (p.reassign.size > 0) await this.reassign(tenant, p.reassign);
      if (p.erase.size > 0) await this.purge(tenant, p.erase);
      if (p.dims) await this.writeDimensions(tenant, s);
      s.checkpoint = p.position;
      this.saveState(tenant, s);
      this.pending.delete(tenant);
    });
  }

  private saveState(tenant: string, s: TenantState): void {
    writeJson(this.stateFile(tenant), { checkpoint: s.checkpoint, erased: [...s.erased].sort(), writtenAt: this.clock() });
  }

  private async reassign(tenant: string, to: ReadonlyMap<string, string>): Promise<void> {
    // an unmerge gives these events back to the absorbed customer: their rows change owner
    const pairs = [...to].map(([e, c]) => `(${lit(e)}, ${lit(c)})`).join(', ');
    await this.conn.run(`CREATE OR REPLACE TABLE lake_reassign AS SELECT * FROM (VALUES ${pairs}) v(event_id, owner)`);
    await rewriteFacts(this.conn, this.root, tenant, 'f.event_id IN (SELECT r.event_id FROM lake_reassign r)', (t) =>
      t.columns
        .map((c) => (c.name === 'customer_id' ? '(SELECT r.owner FROM lake_reassign r WHERE r.event_id = f.event_id) AS customer_id' : `"${c.name}"`))
        .join(', '),
    );
  }

  private purge(tenant: string, customers: ReadonlySet<string>): Promise<number> {
    return rewriteFacts(this.conn, this.root, tenant, `customer_id IN (${ids(customers)})`, null);
  }

  private async writeDimensions(tenant: string, s: TenantState): Promise<void> {
    const customers = [...s.customers].map(([id, c]) => [id, survivorOf(s.customers, id), c.mergedInto, c.firstSeenAt, c.lastSeenAt] as Cell[]);
    const products = [...s.products].map(([id, x]) => [id, x.name, x.category, x.updatedAt] as Cell[]);
    const locations = [...s.locations].map(([key, l]) => [key, l.country, l.region, l.city] as Cell[]);
    const channels = CHANNELS.map((c) => [c] as Cell[]);
    for (const [t, rows] of [
      [DIMENSIONS.dim_customer, customers],
      [DIMENSIONS.dim_product, products],
      [DIMENSIONS.dim_location, locations],
      [DIMENSIONS.dim_channel, channels],
    ] as const) {
      await stageRows(this.conn, t, 'lake_stage', rows);
      await writeDimension(this.conn, this.root, tenant, t, 'lake_stage');
    }
    if (s.days.size === 0) return;
    const days = [...s.days];
    const [from, to] = [Math.min(...days), Math.max(...days)];
    await this.conn.run(`CREATE OR REPLACE TABLE lake_stage AS SELECT CAST(d AS DATE) AS date_key, CAST(year(d) AS INTEGER) AS year,
      CAST(month(d) AS INTEGER) AS month, CAST(day(d) AS INTEGER) AS day, CAST(weekofyear(d) AS INTEGER) AS iso_week, CAST(isodow(d) AS INTEGER) AS day_of_week
      FROM range(CAST(epoch_ms(${from * 86_400_000}) AS DATE), CAST(epoch_ms(${to * 86_400_000}) AS DATE) + INTERVAL 1 DAY, INTERVAL 1 DAY) r(d)`);
    await writeDimension(this.conn, this.root, tenant, DIMENSIONS.dim_date, 'lake_stage');
  }

  reset(tenant: string): Promise<void> {
    return this.exclusive(async () => {
      const s = await this.state(tenant);
      dropTenant(this.root, tenant, TABLES);
      const fresh = emptyTenant();
      for (const id of s.erased) fresh.erased.add(id);
      this.tenants.set(tenant, fresh);
      this.pending.delete(tenant);
      this.saveState(tenant, fresh);
    });
  }

  /** Removes every row of these customers now; the ids stay barred from the lake for good. */
  erase(tenant: string, customerIds: readonly string[]): Promise<{ readonly cleanAt: number; readonly filesRewritten: number }> {
    return this.exclusive(async () => {
      const s = await this.state(tenant);
      for (const id of customerIds) {
        s.erased.add(id);
        s.customers.delete(id);
      }
      // barred first: a crash after this line leaves ids that the next flush purges again
      this.saveState(tenant, s);
      const p = this.pending.get(tenant);
      if (p)
        for (const t of Object.values(FACTS)) {
          const owner = stagedColumns(t).findIndex((c) => c.name === 'customer_id');
          const rows = p.rows[t.name as FactName];
          rows.splice(0, rows.length, ...rows.filter((r) => !customerIds.includes(String(r[owner]))));
        }
      let files = await this.purge(tenant, new Set(customerIds));
      if (parquetFiles(tenantDir(this.root, 'dim_customer', tenant)).length > 0) {
        await this.writeDimensions(tenant, s);
        files++;
      }
      return { cleanAt: this.clock(), filesRewritten: files };
    });
  }

  /** whether any file of the tenant still names one of these customers (tests, the erasure check) */
  async holds(tenant: string, customerIds: readonly string[]): Promise<boolean> {
    for (const t of TABLES) {
      const col = t.columns.some((c) => c.name === 'customer_id') ? 'customer_id' : undefined;
      if (!col) continue;
      for (const file of parquetFiles(tenantDir(this.root, t.name, tenant))) {
        const where =
          t.name === 'dim_customer' ? `customer_id IN (${ids(customerIds)}) OR survivor_id IN (${ids(customerIds)})` : `customer_id IN (${ids(customerIds)})`;
        const n = (
          await this.conn.runAndReadAll(`SELECT count(*) AS n FROM read_parquet(${lit(file)}, hive_partitioning = false) WHERE ${where}`)
        ).getRowObjectsJS()[0] as { n: bigint };
        if (Number(n.n) > 0) return true;
      }
    }
    return false;
  }
}
