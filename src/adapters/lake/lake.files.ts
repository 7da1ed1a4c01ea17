import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { partitionPath, tenantPath } from './lake.tables.js';

// Where each table's files are: <root>/<table>/tenant=<t>/[year=<y>/month=<m>/]part-0.parquet, the
// layout Athena and Glue read as Hive partitions. A file is written beside its place, then renamed
// over it, so a reader sees the old file or the new one, never half of one.

export const tenantDir = (root: string, table: string, tenant: string): string => join(root, tenantPath(table, tenant));

export const partitionFile = (root: string, table: string, tenant: string, year?: number, month?: number): string =>
  join(root, partitionPath(table, tenant, year, month));

/** every Parquet file under a folder */
export const parquetFiles = (dir: string): string[] => {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...parquetFiles(path));
    else if (entry.name.endsWith('.parquet')) out.push(path);
  }
  return out.sort();
};

export const tmpBeside = (file: string): string => {
  mkdirSync(dirname(file), { recursive: true });
  return `${file}.tmp-${process.pid}`;
};

export const replaceFile = (tmp: string, file: string): void => renameSync(tmp, file);

export const removeFile = (file: string): void => rmSync(file, { force: true });

export const removeDir = (dir: string): void => rmSync(dir, { recursive: true, force: true });

/** small JSON state (checkpoint, erased ids) beside the tables, written whole and renamed */
export const readJson = <T>(file: string): T | undefined => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined);
export const writeJson = (file: string, value: unknown): void => {
  const tmp = tmpBeside(file);
  writeFileSync(tmp, JSON.stringify(value));
  renameSync(tmp, file);
};

/** a SQL string literal */
export const lit = (s: string): string => `'${s.replaceAll("'", "''")}'`;
