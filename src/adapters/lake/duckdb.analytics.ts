import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { readFileSync } from 'node:fs';
import {
  ANALYTICS_PAGE,
  ANALYTICS_QUERIES,
  type AnalyticsPageRequest,
  type AnalyticsQueryName,
  KEYED_ANALYTICS,
  parseAnalyticsParams,
} from '../../application/lake/analytics.params.js';
import type { AnalyticsPage, AnalyticsQueries, AnalyticsRow } from '../../application/ports/lake.port.js';
import { DEFAULT_SCORE_CONFIG, type ScoreConfig } from '../../domain/projection/scores.js';
import { DuckDbLakeWriter } from './duckdb.lake-writer.js';
import { dropStaleSnapshots, lit, snapshotTenant, type Snapshot } from './lake.files.js';
import { TABLES } from './lake.tables.js';

// The ten queries on DuckDB over the tenant's Parquet files. Each run gets its own connection in
// which every table name is a view over that tenant's files only: a query cannot reach another
// tenant's rows. The SQL files name tables and `$parameters` only, as Athena runs them (there the
// tables are Glue tables filtered by the tenant partition, and parameters are bound by position).

export const querySql = (name: string): string => readFileSync(new URL(`./queries/${name}.sql`, import.meta.url), 'utf8');

const usedParams = (sql: string): string[] => [...new Set([...sql.matchAll(/\$([a-z_0-9]+)/g)].map((m) => m[1]!))];

const plain = (v: unknown): string | number | boolean | null => {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  return String(v);
};

const plainRow = (r: Record<string, unknown>): AnalyticsRow => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)]));

/**
 * Makes every lake table a view over the tenant's files (an empty table where there are none), as
 * they are now: the views read links to these files (snapshotTenant), so a file the writer replaces
 * or removes meanwhile leaves the query's files as they were. Call `release` once the queries over
 * the views have ended.
 */
export const tenantViews = async (conn: DuckDBConnection, root: string, tenant: string): Promise<Snapshot> => {
  const snapshot = snapshotTenant(
    root,
    tenant,
    TABLES.map((t) => t.name),
  );
  try {
    await viewsOver(conn, snapshot.files);
  } catch (e) {
    snapshot.release();
    throw e;
  }
  return snapshot;
};

/**
 * The orders the queries count: each order once per customer (merged ids under their survivor). A
 * row repeating an order_id the customer already has (a retry, a reloaded thank-you page) stays in
 * fact_order and is not counted; the earliest by (observed_at, event_id) is, as in the 360 view. An
 * order sent without an id has its event id as order_id, so each of those counts.
 */
const COUNTED_ORDERS = `CREATE OR REPLACE TEMP VIEW counted_orders AS
  SELECT event_id, order_id, survivor_id, channel, currency, revenue_minor, observed_at, date_key
  FROM (
    SELECT o.*, m.survivor_id,
      row_number() OVER (PARTITION BY m.survivor_id, o.order_id ORDER BY o.observed_at, o.event_id) AS nth
    FROM fact_order o
    JOIN dim_customer m ON m.customer_id = o.customer_id
  ) ranked
  WHERE nth = 1`;

const viewsOver = async (conn: DuckDBConnection, snapshot: ReadonlyMap<string, readonly string[]>): Promise<void> => {
  for (const t of TABLES) {
    const files = snapshot.get(t.name) ?? [];
    if (files.length === 0) {
      await conn.run(`CREATE OR REPLACE TEMP TABLE ${t.name} (${t.columns.map((c) => `"${c.name}" ${c.type}`).join(', ')})`);
      continue;
    }
    const cols = t.columns.map((c) => `"${c.name}"`).join(', ');
    await conn.run(`CREATE OR REPLACE TEMP VIEW ${t.name} AS SELECT ${cols} FROM read_parquet([${files.map(lit).join(', ')}], hive_partitioning = false)`);
  }
  // over the views above: every query reads its orders from it
  await conn.run(COUNTED_ORDERS);
};

export class DuckDbAnalytics implements AnalyticsQueries {
  readonly names = ANALYTICS_QUERIES;

  /** the currency the queries count revenue in unless told another */
  get currency(): string {
    return this.score?.currency ?? DEFAULT_SCORE_CONFIG.currency;
  }

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly root: string,
    private readonly clock: () => number = Date.now,
    private readonly score?: ScoreConfig,
    /** tests only: runs after the views are made, before the query (a writer replacing files then) */
    private readonly afterViews?: () => Promise<void>,
  ) {}

  async run(tenant: string, name: string, raw: Readonly<Record<string, string | undefined>>): Promise<readonly AnalyticsRow[]> {
    const rows: AnalyticsRow[] = [];
    for await (const chunk of this.chunks(tenant, name, raw)) rows.push(...chunk);
    return rows;
  }

  async page(tenant: string, name: string, raw: Readonly<Record<string, string | undefined>>, page: AnalyticsPageRequest): Promise<AnalyticsPage> {
    const { query, sql, values } = this.prepare(name, raw);
    const limit = Math.trunc(page.limit);
    if (!(limit >= 1 && limit <= ANALYTICS_PAGE.maxLimit)) throw new RangeError(`page limit ${page.limit} out of range`);
    // one row past the page says whether another follows; DuckDB keeps only the top rows it needs
    const key = KEYED_ANALYTICS[query];
    let paged: string;
    if (key !== undefined) {
      const after = page.after !== undefined && 'key' in page.after ? page.after.key : undefined;
      if (after !== undefined) values.page_after = after;
      paged = `SELECT * FROM (${sql}) page${after === undefined ? '' : ` WHERE "${key}" > $page_after`} ORDER BY "${key}" LIMIT ${limit + 1}`;
    } else {
      const offset = page.after !== undefined && 'offset' in page.after ? Math.trunc(page.after.offset) : 0;
      if (!(offset >= 0 && Number.isSafeInteger(offset))) throw new RangeError(`page offset ${offset} out of range`);
      paged = `${sql.trimEnd()}\nLIMIT ${limit + 1} OFFSET ${offset}`;
    }
    const rows = await this.read(tenant, paged, values);
    if (rows.length <= limit) return { rows };
    rows.length = limit;
    const last = rows.at(-1)!;
    const before = page.after !== undefined && 'offset' in page.after ? page.after.offset : 0;
    return { rows, next: key !== undefined ? { key: String(last[key]) } : { offset: before + limit } };
  }

  async *chunks(tenant: string, name: string, raw: Readonly<Record<string, string | undefined>>): AsyncIterable<readonly AnalyticsRow[]> {
    const { sql, values } = this.prepare(name, raw);
    const conn = await this.instance.connect();
    let views: { release(): void } | undefined;
    try {
      views = await tenantViews(conn, this.root, tenant);
      await this.afterViews?.();
      const result = await conn.stream(sql, values);
      for await (const chunk of result.yieldRowObjectJs()) yield chunk.map(plainRow);
    } finally {
      conn.closeSync();
      views?.release();
    }
  }

  private prepare(
    name: string,
    raw: Readonly<Record<string, string | undefined>>,
  ): { query: AnalyticsQueryName; sql: string; values: Record<string, DuckDBValue> } {
    const { query, params } = parseAnalyticsParams(name, raw, this.clock(), this.score);
    const sql = querySql(query);
    const values: Record<string, DuckDBValue> = {};
    for (const p of usedParams(sql)) values[p] = params[p] as DuckDBValue;
    return { query, sql, values };
  }

  private async read(tenant: string, sql: string, values: Record<string, DuckDBValue>): Promise<AnalyticsRow[]> {
    const conn = await this.instance.connect();
    let views: { release(): void } | undefined;
    try {
      views = await tenantViews(conn, this.root, tenant);
      await this.afterViews?.();
      return (await conn.runAndReadAll(sql, values)).getRowObjectsJS().map(plainRow);
    } finally {
      conn.closeSync();
      views?.release();
    }
  }
}

export type DuckDbLake = {
  readonly writer: DuckDbLakeWriter;
  readonly analytics: DuckDbAnalytics;
  readonly instance: DuckDBInstance;
  close(): void;
};

/** The lake under `root`: one in-process DuckDB (in memory; the Parquet files are the lake). */
export const openDuckDbLake = async (
  root: string,
  options: { clock?: () => number; score?: ScoreConfig; afterViews?: () => Promise<void> } = {},
): Promise<DuckDbLake> => {
  dropStaleSnapshots(root);
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const conn = await instance.connect();
  const writer = new DuckDbLakeWriter(conn, root, options.clock);
  return {
    writer,
    analytics: new DuckDbAnalytics(instance, root, options.clock, options.score, options.afterViews),
    instance,
    close: () => {
      conn.closeSync();
      instance.closeSync();
    },
  };
};
