import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { LakeBatch, LakeEraser, LakeWriter } from '../../application/ports/lake.port.js';
import { bufferBatch, dateRows, dimensionRows, dropBuffered, dropBufferedEvents, pendingFrom, type Cell, type Pending } from './lake.buffer.js';
import { DIMENSIONS, FACTS, TABLES, partitionPath, statePath, tenantPath, type FactName, type TableSpec } from './lake.tables.js';
import { emptyTenant, tenantFrom, type SavedState, type TenantState } from './lake.state.js';
import { decodeRows, encodeRows } from './parquet.codec.js';

// The lake writer on S3, for a Lambda: the same objects as the DuckDB writer writes files
// (<prefix><table>/tenant=<t>/[year=<y>/month=<m>/]part-0.parquet, zstd Parquet, the columns of
// lake.tables.ts) and the same state object (<prefix>_state/tenant=<t>/state.json: checkpoint and
// erased ids). Pure JS: hyparquet-writer writes a partition, hyparquet reads one back when new rows
// join it (rows already there win: a repeated delivery writes nothing twice) or an erasure or an
// unmerge rewrites it. A PUT replaces an object whole, so a reader (Athena) sees the old one or
// the new one. One writer at a time per prefix (the function runs with a concurrency of one). In a
// versioned bucket an erasure also deletes the old versions of the tenant's objects: a rewrite
// alone would leave the erased rows in them until the lifecycle expired them.

const DAY = 86_400_000;
const FACT_TABLES: readonly TableSpec[] = Object.values(FACTS);

export type S3LakeOptions = {
  readonly client: S3Client;
  readonly bucket: string;
  /** prepended to every key, e.g. `lake/` (default: none) */
  readonly prefix?: string | undefined;
  readonly clock?: (() => number) | undefined;
  /**
   * the bucket keeps old versions: an erasure then also deletes every old version of the tenant's
   * table objects (they hold the erased rows), so no version of any object holds one (default false)
   */
  readonly versioned?: boolean | undefined;
};

const compare = (a: Cell, b: Cell): number => {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  return a < b ? -1 : 1;
};

const keyOf = (t: TableSpec, row: readonly Cell[]): string => t.key.map((k) => String(row[t.columns.findIndex((c) => c.name === k)])).join('\u0000');

/** facts by time then key, dimensions by key: the order the DuckDB writer writes them in */
const sortRows = (t: TableSpec, rows: Cell[][]): Cell[][] => {
  const order = (t.kind === 'fact' ? ['observed_at', ...t.key] : t.key).map((n) => t.columns.findIndex((c) => c.name === n));
  return rows.sort((a, b) => {
    for (const i of order) {
      const c = compare(a[i], b[i]);
      if (c !== 0) return c;
    }
    return 0;
  });
};

const column = (t: TableSpec, name: string): number => t.columns.findIndex((c) => c.name === name);

export class S3LakeWriter implements LakeWriter, LakeEraser {
  private readonly tenants = new Map<string, TenantState>();
  private readonly pending = new Map<string, Pending>();
  private tail: Promise<unknown> = Promise.resolve();
  private readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  private readonly clock: () => number;
  private readonly versioned: boolean;

  constructor(options: S3LakeOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this.clock = options.clock ?? Date.now;
    this.versioned = options.versioned ?? false;
  }

  private exclusive<T>(f: () => Promise<T>): Promise<T> {
    const run = this.tail.then(f);
    this.tail = run.catch(() => {});
    return run;
  }

  // --- objects ---

  private async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return r.Body ? await r.Body.transformToByteArray() : undefined;
    } catch (e) {
      // a missing key (S3 says 404 where the role may list the bucket, 403 where it may not); a missing bucket is an error
      const name = (e as Error).name;
      if (name === 'NoSuchKey' || (name !== 'NoSuchBucket' && (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404))
        return undefined;
      throw e;
    }
  }

  private async put(key: string, body: Uint8Array | string, contentType: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Body: body, ContentType: contentType }));
  }

  /** the keys under a prefix (relative to the lake's prefix), sorted */
  async list(under: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + under, ContinuationToken: token }));
      for (const o of r.Contents ?? []) if (o.Key) out.push(o.Key.slice(this.prefix.length));
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  }

  private async remove(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const Objects = keys.slice(i, i + 1000).map((k) => ({ Key: this.prefix + k }));
      await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects, Quiet: true } }));
    }
  }

  private async removeVersions(keys: readonly { readonly Key: string; readonly VersionId: string }[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000)
      await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.slice(i, i + 1000), Quiet: true } }));
  }

  /** Deletes every old version (and delete marker) under the tenant's tables; the current objects stay. Returns how many. */
  private async dropOldVersions(tenant: string): Promise<number> {
    let dropped = 0;
    for (const t of TABLES) {
      const old: { Key: string; VersionId: string }[] = [];
      let key: string | undefined;
      let version: string | undefined;
      do {
        const r = await this.client.send(
          new ListObjectVersionsCommand({
            Bucket: this.bucket,
            Prefix: `${this.prefix}${tenantPath(t.name, tenant)}/`,
            KeyMarker: key,
            VersionIdMarker: version,
          }),
        );
        // old versions, and every delete marker (the object is gone: all of it goes)
        for (const v of [...(r.Versions ?? []).filter((x) => !x.IsLatest), ...(r.DeleteMarkers ?? [])])
          if (v.Key && v.VersionId) old.push({ Key: v.Key, VersionId: v.VersionId });
        [key, version] = r.IsTruncated ? [r.NextKeyMarker, r.NextVersionIdMarker] : [undefined, undefined];
      } while (key !== undefined);
      await this.removeVersions(old);
      dropped += old.length;
    }
    return dropped;
  }

  /** the Parquet objects of a tenant's table (every table when none is named) */
  async objects(tenant: string, table?: TableSpec): Promise<string[]> {
    const out: string[] = [];
    for (const t of table ? [table] : TABLES) out.push(...(await this.list(`${tenantPath(t.name, tenant)}/`)).filter((k) => k.endsWith('.parquet')));
    return out;
  }

  /** an object's rows, cells in the table's column order */
  async readRows(t: TableSpec, key: string): Promise<Cell[][]> {
    const bytes = await this.get(key);
    return bytes ? decodeRows(t, bytes) : [];
  }

  private writeRows(t: TableSpec, key: string, rows: Cell[][]): Promise<void> {
    return this.put(key, encodeRows(t, sortRows(t, rows)), 'application/vnd.apache.parquet');
  }

  // --- state ---

  private async state(tenant: string): Promise<TenantState> {
    let s = this.tenants.get(tenant);
    if (!s) {
      const saved = await this.get(statePath(tenant));
      const rows = async (t: TableSpec) => {
        const cells = await this.readRows(t, partitionPath(t.name, tenant));
        return cells.map((r) => Object.fromEntries(t.columns.map((c, i) => [c.name, r[i]])));
      };
      s = tenantFrom(saved ? (JSON.parse(new TextDecoder().decode(saved)) as SavedState) : undefined, {
        dim_customer: await rows(DIMENSIONS.dim_customer),
        dim_product: await rows(DIMENSIONS.dim_product),
        dim_location: await rows(DIMENSIONS.dim_location),
        days: (await rows(DIMENSIONS.dim_date)).map((r) => Number(r.date_key)),
      });
      this.tenants.set(tenant, s);
    }
    return s;
  }

  /** `erased`: ids whose rows no object holds; `unpurged`: barred, their purge not yet complete */
  private saveState(tenant: string, s: TenantState): Promise<void> {
    const erased = [...s.erased].filter((id) => !s.unpurged.has(id)).sort();
    const unpurged = [...s.unpurged].sort();
    return this.put(
      statePath(tenant),
      JSON.stringify({
        checkpoint: s.checkpoint,
        ...(s.log ? { log: s.log } : {}),
        erased,
        ...(unpurged.length > 0 ? { unpurged } : {}),
        writtenAt: this.clock(),
      }),
      'application/json',
    );
  }

  // --- the port ---

  async checkpoint(tenant: string): Promise<string | undefined> {
    return this.exclusive(async () => this.pending.get(tenant)?.position ?? (await this.state(tenant)).checkpoint);
  }

  write(tenant: string, batch: LakeBatch, position: string | undefined): Promise<void> {
    return this.exclusive(async () => {
      const s = await this.state(tenant);
      let p = this.pending.get(tenant);
      if (!p) this.pending.set(tenant, (p = pendingFrom(s)));
      bufferBatch(s, p, batch, position);
      // erased by the log, purged by the next flush: until then a state saved by another path (an
      // erasure of someone else, a reset) must not name them as erased
      for (const id of p.erase) s.unpurged.add(id);
    });
  }

  flush(tenant: string): Promise<void> {
    return this.exclusive(async () => {
      const s = await this.state(tenant);
      // nothing buffered, but an erasure a crash cut short: this flush finishes its purge
      const p = this.pending.get(tenant) ?? (s.unpurged.size > 0 ? pendingFrom(s) : undefined);
      if (!p) return;
      if (p.drop.size > 0) dropBufferedEvents(p, p.drop);
      for (const t of FACT_TABLES) {
        const staged = p.rows[t.name as FactName];
        if (staged.length > 0) await this.writeFacts(tenant, t, staged);
      }
      if (p.drop.size > 0) await this.rewriteFacts(tenant, (t, row) => (p.drop.has(String(row[column(t, 'event_id')])) ? null : 'same'));
      if (p.erase.size > 0) await this.purge(tenant, p.erase);
      if (p.dims) await this.writeDimensions(tenant, s);
      // the dropped rows may be an erased person's (an unmerge to a customer erased since): no older version keeps them
      if ((p.erase.size > 0 || p.drop.size > 0) && this.versioned) await this.dropOldVersions(tenant);
      s.checkpoint = p.position;
      for (const id of p.erase) s.unpurged.delete(id);
      await this.saveState(tenant, s);
      this.pending.delete(tenant);
    });
  }

  /** New rows join the partitions they fall in; a row whose key the partition holds is skipped. */
  private async writeFacts(tenant: string, t: TableSpec, staged: readonly Cell[][]): Promise<void> {
    const observed = column(t, 'observed_at');
    const dateAt = column(t, 'date_key');
    const parts = new Map<string, Cell[][]>();
    for (const s of staged) {
      // the file's columns: date_key (the UTC day of observed_at) where the table has it
      const row = [...s.slice(0, dateAt), Math.floor(Number(s[observed]) / DAY), ...s.slice(dateAt)];
      const d = new Date(Number(row[observed]));
      const key = partitionPath(t.name, tenant, d.getUTCFullYear(), d.getUTCMonth() + 1);
      const part = parts.get(key);
      if (part) part.push(row);
      else parts.set(key, [row]);
    }
    for (const [key, rows] of parts) {
      const merged = new Map<string, Cell[]>();
      for (const row of [...(await this.readRows(t, key)), ...rows]) {
        const k = keyOf(t, row);
        if (!merged.has(k)) merged.set(k, row);
      }
      await this.writeRows(t, key, [...merged.values()]);
    }
  }

  /**
   * Rewrites every fact object holding a row that `change` changes (a new row, or null to drop it);
   * an object left without rows is deleted. Returns the objects rewritten.
   */
  private async rewriteFacts(tenant: string, change: (t: TableSpec, row: Cell[]) => Cell[] | null | 'same'): Promise<number> {
    let rewritten = 0;
    for (const t of FACT_TABLES)
      for (const key of await this.objects(tenant, t)) {
        const rows = await this.readRows(t, key);
        let changed = false;
        const out: Cell[][] = [];
        for (const row of rows) {
          const next = change(t, row);
          if (next === 'same') out.push(row);
          else {
            changed = true;
            if (next) out.push(next);
          }
        }
        if (!changed) continue;
        if (out.length === 0) await this.remove([key]);
        else await this.writeRows(t, key, out);
        rewritten++;
      }
    return rewritten;
  }

  private purge(tenant: string, customers: ReadonlySet<string>): Promise<number> {
    return this.rewriteFacts(tenant, (t, row) => (customers.has(String(row[column(t, 'customer_id')])) ? null : 'same'));
  }

  private async writeDimensions(tenant: string, s: TenantState): Promise<void> {
    for (const [t, rows] of dimensionRows(s)) await this.writeRows(t, partitionPath(t.name, tenant), rows);
    if (s.days.size > 0) await this.writeRows(DIMENSIONS.dim_date, partitionPath('dim_date', tenant), dateRows(s.days));
  }

  reset(tenant: string): Promise<void> {
    return this.exclusive(async () => {
      const s = await this.state(tenant);
      await this.remove(await this.objects(tenant));
      // an erasure cut short is complete once no object, and no old version, is left
      if (s.unpurged.size > 0 && this.versioned) await this.dropOldVersions(tenant);
      const fresh = emptyTenant();
      for (const id of s.erased) fresh.erased.add(id);
      this.tenants.set(tenant, fresh);
      this.pending.delete(tenant);
      await this.saveState(tenant, fresh);
    });
  }

  /** Removes every row of these customers now; the ids stay barred from the lake for good. */
  erase(tenant: string, customerIds: readonly string[]): Promise<{ readonly cleanAt: number; readonly filesRewritten: number }> {
    return this.exclusive(async () => {
      const s = await this.state(tenant);
      for (const id of customerIds) {
        s.erased.add(id);
        s.unpurged.add(id);
        s.customers.delete(id);
      }
      // barred first, as unpurged: a crash before the end leaves ids that the next flush purges
      // again, and that erasedIds does not name until then
      await this.saveState(tenant, s);
      const p = this.pending.get(tenant);
      if (p) dropBuffered(p, customerIds);
      let files = await this.purge(tenant, new Set(customerIds));
      if ((await this.objects(tenant, DIMENSIONS.dim_customer)).length > 0) {
        await this.writeDimensions(tenant, s);
        files++;
      }
      if (this.versioned) await this.dropOldVersions(tenant);
      for (const id of customerIds) s.unpurged.delete(id);
      await this.saveState(tenant, s);
      return { cleanAt: this.clock(), filesRewritten: files };
    });
  }

  /**
   * The ids the tenant's saved state names as erased. A flush or an erasure saves an id there only
   * after it has purged its rows (and dropped old versions), so each of these is in no object of
   * the lake; an erasure in progress, or cut short by a crash, keeps its ids under `unpurged`.
   */
  erasedIds(tenant: string): Promise<ReadonlySet<string>> {
    return this.exclusive(async () => {
      const saved = await this.get(statePath(tenant));
      const state = saved ? (JSON.parse(new TextDecoder().decode(saved)) as SavedState) : {};
      const unpurged = new Set(state.unpurged ?? []);
      return new Set((state.erased ?? []).filter((id) => !unpurged.has(id)));
    });
  }

  /** whether any object of the tenant still names one of these customers (every row of every object read) */
  async holds(tenant: string, customerIds: readonly string[]): Promise<boolean> {
    const wanted = new Set(customerIds);
    for (const t of TABLES) {
      const cols = ['customer_id', 'survivor_id'].map((n) => column(t, n)).filter((i) => i >= 0);
      if (cols.length === 0) continue;
      for (const key of await this.objects(tenant, t))
        for (const row of await this.readRows(t, key)) if (cols.some((i) => wanted.has(String(row[i])))) return true;
    }
    return false;
  }
}
