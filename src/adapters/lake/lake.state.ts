import type { DuckDBConnection } from '@duckdb/node-api';
import { lit, parquetFiles, tenantDir } from './lake.files.js';

// What the writer keeps of a tenant between flushes: the dimensions (small: one row per customer
// id, product, location and day) and the erased ids. Loaded from the tenant's files on first use.

export type CustomerRow = { mergedInto: string | undefined; firstSeenAt: number | undefined; lastSeenAt: number | undefined };
export type ProductRow = { name: string | undefined; category: string | undefined; updatedAt: number };
export type LocationRow = { country: string | undefined; region: string | undefined; city: string | undefined };
export type TenantState = {
  checkpoint: string | undefined;
  /** the log the checkpoint is a position of (LakeWriter.follows); undefined in a state saved before it was recorded */
  log: string | undefined;
  readonly erased: Set<string>;
  /**
   * erased ids whose rows a crash may have left in the lake: barred, but not yet purged by a run
   * that completed (the S3 writer saves them before it purges, and drops them once it has)
   */
  readonly unpurged: Set<string>;
  readonly customers: Map<string, CustomerRow>;
  readonly products: Map<string, ProductRow>;
  readonly locations: Map<string, LocationRow>;
  /** days (since the epoch) that hold a fact: dim_date spans them */
  readonly days: Set<number>;
};
export type SavedState = { readonly checkpoint?: string; readonly log?: string; readonly erased?: readonly string[]; readonly unpurged?: readonly string[] };

export const emptyTenant = (): TenantState => ({
  checkpoint: undefined,
  log: undefined,
  erased: new Set(),
  unpurged: new Set(),
  customers: new Map(),
  products: new Map(),
  locations: new Map(),
  days: new Set(),
});

const MAX_DEPTH = 64;
/** the customer id's current survivor: merged-into pointers followed to the end */
export const survivorOf = (customers: ReadonlyMap<string, CustomerRow>, id: string): string => {
  let at = id;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const next = customers.get(at)?.mergedInto;
    if (next === undefined || next === at) return at;
    at = next;
  }
  return at;
};

const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));
const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));

const rowsOf = async (conn: DuckDBConnection, root: string, table: string, tenant: string, select: string): Promise<Record<string, unknown>[]> => {
  const files = parquetFiles(tenantDir(root, table, tenant));
  if (files.length === 0) return [];
  const r = await conn.runAndReadAll(`SELECT ${select} FROM read_parquet([${files.map(lit).join(', ')}], hive_partitioning = false)`);
  return r.getRowObjectsJS() as Record<string, unknown>[];
};

/** The tenant's state from its saved checkpoint and erased ids and the rows of its dimension files. */
export const tenantFrom = (
  saved: SavedState | undefined,
  rows: {
    readonly dim_customer: readonly Record<string, unknown>[];
    readonly dim_product: readonly Record<string, unknown>[];
    readonly dim_location: readonly Record<string, unknown>[];
    readonly days: readonly number[];
  },
): TenantState => {
  const s = emptyTenant();
  s.checkpoint = saved?.checkpoint;
  s.log = saved?.log;
  for (const id of saved?.erased ?? []) s.erased.add(id);
  for (const id of saved?.unpurged ?? []) {
    s.erased.add(id);
    s.unpurged.add(id);
  }
  for (const r of rows.dim_customer)
    s.customers.set(String(r.customer_id), { mergedInto: str(r.merged_into), firstSeenAt: num(r.first_seen_at), lastSeenAt: num(r.last_seen_at) });
  for (const r of rows.dim_product) s.products.set(String(r.product_id), { name: str(r.name), category: str(r.category), updatedAt: num(r.updated_at) ?? 0 });
  for (const r of rows.dim_location) s.locations.set(String(r.location_key), { country: str(r.country), region: str(r.region), city: str(r.city) });
  for (const d of rows.days) s.days.add(d);
  // an erasure cut short may have left its customers in dim_customer: the next write leaves them out
  for (const id of s.unpurged) s.customers.delete(id);
  return s;
};

export const loadTenant = async (conn: DuckDBConnection, root: string, tenant: string, saved: SavedState | undefined): Promise<TenantState> =>
  tenantFrom(saved, {
    dim_customer: await rowsOf(conn, root, 'dim_customer', tenant, '*'),
    dim_product: await rowsOf(conn, root, 'dim_product', tenant, '*'),
    dim_location: await rowsOf(conn, root, 'dim_location', tenant, '*'),
    days: (await rowsOf(conn, root, 'dim_date', tenant, "CAST(date_key - DATE '1970-01-01' AS INTEGER) AS d")).map((r) => Number(r.d)),
  });
