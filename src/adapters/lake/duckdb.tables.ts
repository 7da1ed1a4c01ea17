import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { FACTS, type Column, type TableSpec } from './lake.tables.js';
import { stagedColumns, type Cell } from './lake.buffer.js';
import { lit, makeDir, makePrivate, parquetFiles, partitionFile, removeDir, replaceFile, tenantDir, tmpBeside } from './lake.files.js';

// Table files through DuckDB: staged rows go to their partitions (PARTITION_BY when the tenant's
// table is empty, such as a rebuild; otherwise each touched partition is read, joined with the new
// rows and written again), zstd-compressed, one file per partition.

const PARQUET = 'FORMAT parquet, COMPRESSION zstd';
const q = (name: string): string => `"${name}"`;

const selectList = (t: TableSpec): string =>
  t.columns.map((c) => (c.name === 'date_key' && t.kind === 'fact' ? 'CAST(epoch_ms(observed_at) AS DATE) AS date_key' : q(c.name))).join(', ');
const fileColumns = (t: TableSpec): string => t.columns.map((c) => q(c.name)).join(', ');
const orderBy = (t: TableSpec): string => (t.kind === 'fact' ? ['observed_at', ...t.key] : t.key).map(q).join(', ');

export const appendRow = (a: DuckDBAppender, columns: readonly Column[], row: readonly Cell[]): void => {
  columns.forEach((c, i) => {
    const v = row[i];
    if (v === null || v === undefined) a.appendNull();
    else if (c.type === 'VARCHAR') a.appendVarchar(String(v));
    else if (c.type === 'BIGINT') a.appendBigInt(BigInt(Math.trunc(Number(v))));
    else if (c.type === 'INTEGER') a.appendInteger(Math.trunc(Number(v)));
    else a.appendDouble(Number(v));
  });
  a.endRow();
};

/** Creates `stage` with the table's staged columns and appends the rows. */
export const stageRows = async (conn: DuckDBConnection, t: TableSpec, stage: string, rows: readonly (readonly Cell[])[]): Promise<void> => {
  const columns = t.kind === 'fact' ? stagedColumns(t) : t.columns;
  await conn.run(`CREATE OR REPLACE TABLE ${stage} (${columns.map((c) => `${q(c.name)} ${c.type}`).join(', ')})`);
  if (rows.length === 0) return;
  const a = await conn.createAppender(stage);
  for (const row of rows) appendRow(a, columns, row);
  a.closeSync();
};

const partitionOf = 'year(epoch_ms(observed_at)) AS year, month(epoch_ms(observed_at)) AS month';

/** Writes a fact table's staged rows into the tenant's partitions, keeping what is there. */
export const writeFacts = async (conn: DuckDBConnection, root: string, tenant: string, t: TableSpec, stage: string): Promise<number> => {
  const dir = tenantDir(root, t.name, tenant);
  if (parquetFiles(dir).length === 0) {
    makeDir(dir);
    const copy = `COPY (SELECT ${selectList(t)}, ${partitionOf} FROM ${stage} QUALIFY row_number() OVER (PARTITION BY ${t.key.map(q).join(', ')} ORDER BY observed_at) = 1 ORDER BY ${orderBy(t)})
      TO ${lit(dir)} (${PARQUET}, PARTITION_BY (year, month), FILENAME_PATTERN 'part-{i}', OVERWRITE_OR_IGNORE)`;
    await conn.run(copy);
    // DuckDB made the year= and month= folders and their files by the umask
    makePrivate(dir);
    return parquetFiles(dir).length;
  }
  const parts = (await conn.runAndReadAll(`SELECT DISTINCT ${partitionOf} FROM ${stage}`)).getRowObjectsJS() as {
    year: number | bigint;
    month: number | bigint;
  }[];
  for (const p of parts) {
    const file = partitionFile(root, t.name, tenant, Number(p.year), Number(p.month));
    const mine = `SELECT ${selectList(t)}, 1 AS src FROM ${stage} WHERE year(epoch_ms(observed_at)) = ${Number(p.year)} AND month(epoch_ms(observed_at)) = ${Number(p.month)}`;
    const old = existsSync(file) ? `SELECT ${fileColumns(t)}, 0 AS src FROM read_parquet(${lit(file)}, hive_partitioning = false) UNION ALL ` : '';
    await rewrite(
      conn,
      t,
      file,
      `SELECT ${fileColumns(t)} FROM (${old}${mine}) QUALIFY row_number() OVER (PARTITION BY ${t.key.map(q).join(', ')} ORDER BY src) = 1`,
    );
  }
  return parts.length;
};

/** Writes a dimension's staged rows as the tenant's one file. */
export const writeDimension = async (conn: DuckDBConnection, root: string, tenant: string, t: TableSpec, stage: string): Promise<void> =>
  rewrite(conn, t, partitionFile(root, t.name, tenant), `SELECT ${fileColumns(t)} FROM ${stage}`);

const rewrite = async (conn: DuckDBConnection, t: TableSpec, file: string, select: string): Promise<void> => {
  const tmp = tmpBeside(file);
  await conn.run(`COPY (${select} ORDER BY ${orderBy(t)}) TO ${lit(tmp)} (${PARQUET})`);
  replaceFile(tmp, file);
};

/**
 * Rewrites every file of the tenant's facts that holds a row matching `where` (SQL over the file's
 * columns, the file aliased f), with `change` giving the select list for those rows (dropped when
 * null). Returns the files rewritten.
 */
export const rewriteFacts = async (
  conn: DuckDBConnection,
  root: string,
  tenant: string,
  where: string,
  change: ((t: TableSpec) => string) | null,
): Promise<number> => {
  let rewritten = 0;
  for (const t of Object.values(FACTS)) {
    for (const file of parquetFiles(tenantDir(root, t.name, tenant))) {
      const src = `read_parquet(${lit(file)}, hive_partitioning = false) AS f`;
      const hit = (await conn.runAndReadAll(`SELECT count(*) AS n FROM ${src} WHERE ${where}`)).getRowObjectsJS()[0] as { n: bigint };
      if (Number(hit.n) === 0) continue;
      const keep = `SELECT ${fileColumns(t)} FROM ${src} WHERE NOT (${where})`;
      await rewrite(conn, t, file, change ? `${keep} UNION ALL SELECT ${change(t)} FROM ${src} WHERE ${where}` : keep);
      rewritten++;
    }
  }
  return rewritten;
};

export const dropTenant = (root: string, tenant: string, tables: readonly TableSpec[]): void => {
  for (const t of tables) removeDir(tenantDir(root, t.name, tenant));
};
