import type { DuckDBConnection } from '@duckdb/node-api';
import { join } from 'node:path';
import type { LakeBatch, LakeEraser, LakeWriter } from '../../application/ports/lake.port.js';
import { dropTenant, rewriteFacts, stageRows, writeDimension, writeFacts } from './duckdb.tables.js';
import { bufferBatch, dimensionRows, dropBuffered, dropBufferedEvents, pendingFrom, type Pending } from './lake.buffer.js';
import { dropStaleSnapshots, lit, parquetFiles, readJson, tenantDir, writeJson } from './lake.files.js';
import { DIMENSIONS, FACTS, TABLES, statePath, type FactName } from './lake.tables.js';
import { emptyTenant, loadTenant, type TenantState } from './lake.state.js';

// The lake writer on DuckDB: batches are buffered per tenant and flushed to Parquet (facts to
// their month partitions, dimensions rewritten whole), then the checkpoint moves. Erased ids are
// kept beside the tables (ids only, as the erasure ledger keeps them): a row of an erased customer
// is never written again, whatever a late page of the log still carries.

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
    return join(this.root, statePath(tenant));
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

  async follows(tenant: string): Promise<string | undefined> {
    return this.exclusive(async () => (await this.state(tenant)).log);
  }

  setFollows(tenant: string, log: string): Promise<void> {
    return this.exclusive(async () => {
      const s = await this.state(tenant);
      s.log = log;
      // erasures buffered for the next flush, or cut short by a crash, stay named unpurged
      this.saveState(tenant, s, [...s.unpurged, ...(this.pending.get(tenant)?.erase ?? [])]);
    });
  }

  write(tenant: string, batch: LakeBatch, position: string | undefined): Promise<void> {
    return this.exclusive(async () => {
      const s = await this.state(tenant);
      let p = this.pending.get(tenant);
      if (!p) this.pending.set(tenant, (p = pendingFrom(s)));
      bufferBatch(s, p, batch, position);
    });
  }

  flush(tenant: string): Promise<void> {
    return this.exclusive(async () => {
      const p = this.pending.get(tenant);
      if (!p) return;
      const s = await this.state(tenant);
      if (p.drop.size > 0) dropBufferedEvents(p, p.drop);
      for (const t of Object.values(FACTS)) {
        const rows = p.rows[t.name as FactName];
        if (rows.length === 0) continue;
        await stageRows(this.conn, t, 'lake_stage', rows);
        await writeFacts(this.conn, this.root, tenant, t, 'lake_stage');
      }
      if (p.drop.size > 0) await rewriteFacts(this.conn, this.root, tenant, `f.event_id IN (${ids(p.drop)})`, null);
      if (p.erase.size > 0) await this.purge(tenant, p.erase);
      // an erasure a crash cut short (loaded as unpurged) is done once this flush has purged it
      for (const id of p.erase) s.unpurged.delete(id);
      if (p.dims) await this.writeDimensions(tenant, s);
      s.checkpoint = p.position;
      this.saveState(tenant, s);
      this.pending.delete(tenant);
    });
  }

  /**
   * `unpurged`: ids barred (in `erased`) whose rows may still be in the files: an erasure between
   * barring and purging, or erasures buffered for the next flush. `erasedIds` leaves them out.
   */
  private saveState(tenant: string, s: TenantState, unpurged: Iterable<string> = []): void {
    const left = [...new Set(unpurged)].sort();
    writeJson(this.stateFile(tenant), {
      checkpoint: s.checkpoint,
      ...(s.log ? { log: s.log } : {}),
      erased: [...s.erased].sort(),
      ...(left.length ? { unpurged: left } : {}),
      writtenAt: this.clock(),
    });
  }

  /**
   * The ids the tenant's saved state names as erased and purged: no file of the lake holds a row of
   * them (what the erasure receipts of another process wait for, see lake-clean.ts).
   */
  erasedIds(tenant: string): Promise<ReadonlySet<string>> {
    return this.exclusive(async () => {
      const saved = readJson<{ erased?: string[]; unpurged?: string[] }>(this.stateFile(tenant));
      const unpurged = new Set(saved?.unpurged ?? []);
      return new Set((saved?.erased ?? []).filter((id) => !unpurged.has(id)));
    });
  }

  private purge(tenant: string, customers: ReadonlySet<string>): Promise<number> {
    return rewriteFacts(this.conn, this.root, tenant, `customer_id IN (${ids(customers)})`, null);
  }

  private async writeDimensions(tenant: string, s: TenantState): Promise<void> {
    for (const [t, rows] of dimensionRows(s)) {
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
      const p = this.pending.get(tenant);
      // barred first (and named unpurged, as are the erasures buffered for the next flush)
      this.saveState(tenant, s, [...customerIds, ...(p?.erase ?? [])]);
      if (p) dropBuffered(p, customerIds);
      let files = await this.purge(tenant, new Set(customerIds));
      if (parquetFiles(tenantDir(this.root, 'dim_customer', tenant)).length > 0) {
        await this.writeDimensions(tenant, s);
        files++;
      }
      for (const id of customerIds) s.unpurged.delete(id);
      this.saveState(tenant, s, p?.erase ?? []);
      // a query's links to the files before the purge, left by a process that ended mid-query
      dropStaleSnapshots(this.root);
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
