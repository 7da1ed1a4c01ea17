import type { DuckDBInstance } from '@duckdb/node-api';
import { join } from 'node:path';
import { tenantViews } from './duckdb.analytics.js';
import { lit, readJson, tenantDir, type Snapshot } from './lake.files.js';
import { FACTS, TABLES } from './lake.tables.js';

// The lake's data-quality report: schema, nulls, duplicates, value ranges, freshness and
// referential integrity, each a pass or a fail with the number of offending rows, so that a
// schedule can alert on a failing run (`c360 quality` exits non-zero).

export type QualityCheck = {
  readonly check: 'schema' | 'nulls' | 'duplicates' | 'ranges' | 'freshness' | 'referential';
  readonly table: string;
  readonly rule: string;
  readonly ok: boolean;
  /** offending rows, or for freshness the age in hours */
  readonly value: number;
};
export type QualityReport = { readonly tenant: string; readonly ok: boolean; readonly checks: readonly QualityCheck[] };
export type QualityOptions = { readonly now: number; readonly maxAgeHours: number };

const EARLIEST = Date.UTC(2000, 0, 1);
const RANGES: readonly { readonly table: string; readonly rule: string; readonly bad: string }[] = [
  { table: 'fact_order', rule: 'revenue_minor >= 0', bad: 'revenue_minor < 0' },
  { table: 'fact_order', rule: 'currency is 3 letters', bad: 'length(currency) <> 3' },
  { table: 'fact_order_line', rule: 'quantity > 0', bad: 'quantity <= 0' },
  { table: 'fact_order_line', rule: 'price_minor >= 0', bad: 'price_minor < 0' },
];
const REFERENCES: readonly { readonly table: string; readonly column: string; readonly to: string; readonly toColumn: string }[] = [
  { table: 'fact_order', column: 'customer_id', to: 'dim_customer', toColumn: 'customer_id' },
  { table: 'fact_order_line', column: 'customer_id', to: 'dim_customer', toColumn: 'customer_id' },
  { table: 'fact_order_line', column: 'product_id', to: 'dim_product', toColumn: 'product_id' },
  { table: 'fact_order_line', column: 'event_id', to: 'fact_order', toColumn: 'event_id' },
  { table: 'fact_product_event', column: 'product_id', to: 'dim_product', toColumn: 'product_id' },
  { table: 'fact_location', column: 'location_key', to: 'dim_location', toColumn: 'location_key' },
  { table: 'dim_customer', column: 'survivor_id', to: 'dim_customer', toColumn: 'customer_id' },
];

export const qualityReport = async (instance: DuckDBInstance, root: string, tenant: string, o: QualityOptions): Promise<QualityReport> => {
  const conn = await instance.connect();
  const checks: QualityCheck[] = [];
  const count = async (sql: string): Promise<number> => Number(((await conn.runAndReadAll(sql)).getRowObjectsJS()[0] as { n: bigint }).n);
  const add = (check: QualityCheck['check'], table: string, rule: string, value: number, ok = value === 0) => checks.push({ check, table, rule, ok, value });
  let views: Snapshot | undefined;
  try {
    // every check reads the files as they were now (a snapshot: the writer may replace them meanwhile)
    views = await tenantViews(conn, root, tenant);
    for (const t of TABLES) {
      const files = views.files.get(t.name) ?? [];
      if (files.length === 0) continue;
      const described = (
        await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet([${files.map(lit).join(', ')}], hive_partitioning = false, union_by_name = true)`)
      )
        .getRowObjectsJS()
        .map((r) => `${r.column_name} ${r.column_type}`);
      const expected = t.columns.map((c) => `${c.name} ${c.type}`);
      const wrong = expected.filter((c) => !described.includes(c)).length + described.filter((c) => !expected.includes(c)).length;
      add('schema', t.name, `columns are ${t.columns.map((c) => c.name).join(', ')}`, wrong);
    }
    for (const t of TABLES) {
      for (const c of t.columns.filter((x) => x.required))
        add('nulls', t.name, `${c.name} is never null`, await count(`SELECT count(*) AS n FROM ${t.name} WHERE "${c.name}" IS NULL`));
      const key = t.key.map((k) => `"${k}"`).join(', ');
      add('duplicates', t.name, `one row per ${t.key.join(', ')}`, await count(`SELECT count(*) - count(DISTINCT (${key})) AS n FROM ${t.name}`));
    }
    for (const r of RANGES) add('ranges', r.table, r.rule, await count(`SELECT count(*) AS n FROM ${r.table} WHERE ${r.bad}`));
    for (const t of Object.values(FACTS))
      add(
        'ranges',
        t.name,
        'observed_at between 2000-01-01 and a day after now',
        await count(`SELECT count(*) AS n FROM ${t.name} WHERE observed_at < ${EARLIEST} OR observed_at > ${o.now + 86_400_000}`),
      );
    for (const r of REFERENCES)
      add(
        'referential',
        r.table,
        `${r.column} is in ${r.to}.${r.toColumn}`,
        await count(
          `SELECT count(*) AS n FROM ${r.table} x WHERE x.${r.column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${r.to} y WHERE y.${r.toColumn} = x.${r.column})`,
        ),
      );
    const state = readJson<{ writtenAt?: number }>(join(tenantDir(root, '_state', tenant), 'state.json'));
    const ageHours = state?.writtenAt === undefined ? Number.POSITIVE_INFINITY : Math.max(0, (o.now - state.writtenAt) / 3_600_000);
    add('freshness', 'lake', `written within ${o.maxAgeHours} h`, Math.round(ageHours * 100) / 100, ageHours <= o.maxAgeHours);
  } finally {
    conn.closeSync();
    views?.release();
  }
  return { tenant, ok: checks.every((c) => c.ok), checks };
};
