import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { partitionPath, tenantPath } from './lake.tables.js';

// Where each table's files are: <root>/<table>/tenant=<t>/[year=<y>/month=<m>/]part-0.parquet, the
// layout Athena and Glue read as Hive partitions. A file is written beside its place, then renamed
// over it, so a reader sees the old file or the new one, never half of one. The lake holds personal
// data until an erasure reaches it: every folder in it is the owner's alone (0700), every file
// readable by the owner only (0600), whatever the process's umask.

/** folders of the lake: the owner's alone */
export const DIR_MODE = 0o700;
/** files of the lake: readable and writable by the owner only */
export const FILE_MODE = 0o600;

/** Makes a folder of the lake (and the folders above it that it makes) the owner's alone. */
export const makeDir = (dir: string): void => {
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
};

/**
 * Gives every folder under `dir` (and `dir`) mode 0700 and every file 0600: after DuckDB wrote a
 * partitioned COPY (its year= and month= folders and files follow the umask), and on opening a
 * lake that builds before these modes wrote 0755 and 0644.
 */
export const makePrivate = (dir: string): void => {
  if (!existsSync(dir)) return;
  chmodSync(dir, DIR_MODE);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) makePrivate(path);
    else if (entry.isFile()) chmodSync(path, FILE_MODE);
  }
};

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
  makeDir(dirname(file));
  return `${file}.tmp-${process.pid}`;
};

/** Renames a written file over its place, made 0600 first (DuckDB's COPY creates it by the umask). */
export const replaceFile = (tmp: string, file: string): void => {
  chmodSync(tmp, FILE_MODE);
  renameSync(tmp, file);
};

export const removeFile = (file: string): void => rmSync(file, { force: true });

export const removeDir = (dir: string): void => rmSync(dir, { recursive: true, force: true });

/**
 * Where readers keep the files they read: <root>/_read/<pid>-<n>/, hard links to the tenant's files
 * as they were when the query began. The writer replaces a file by renaming another over it, and
 * DuckDB reads a file more than once (its footer, then its row groups): reading the lake's paths, a
 * query running across a rename read parts of two files ('invalid TType', 'ZSTD Decompression
 * failure'). A link keeps the file it was made on, whatever is renamed over the path since.
 */
export const READ_DIR = '_read';
let snapshots = 0;
/** this process's own mark in its snapshots' names: a later process given the same pid (a container's pid 1) is another */
const RUN = randomBytes(4).toString('hex');

/** Whether a process of this pid runs (EPERM: it runs, as another user). */
export const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export type Snapshot = { readonly files: ReadonlyMap<string, readonly string[]>; release(): void };

/** Links every Parquet file of these tables of the tenant into a folder of this query's own. */
export const snapshotTenant = (root: string, tenant: string, tables: readonly string[]): Snapshot => {
  const dir = join(root, READ_DIR, `${process.pid}-${RUN}-${++snapshots}`);
  makeDir(dir);
  const files = new Map<string, string[]>();
  let n = 0;
  try {
    for (const table of tables) {
      const links: string[] = [];
      for (const file of parquetFiles(tenantDir(root, table, tenant))) {
        const link = join(dir, `${n++}.parquet`);
        try {
          linkSync(file, link);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          // removed since it was listed (a reset, a rebuild): its rows are no longer the lake's
          if (code === 'ENOENT') continue;
          // no hard links here: a copy reads one file too (an open file is not changed by a rename)
          if (code === 'EPERM' || code === 'EXDEV' || code === 'ENOTSUP' || code === 'EMLINK') copyFileSync(file, link);
          else throw e;
        }
        links.push(link);
      }
      files.set(table, links);
    }
  } catch (e) {
    removeDir(dir);
    throw e;
  }
  return { files, release: () => removeDir(dir) };
};

/**
 * Removes the snapshots of processes that have ended (a crash, a kill, a Ctrl-C mid-query): they
 * may hold rows an erasure removed since. Run when a lake is opened and by every erasure before
 * its receipt. Those of live processes are theirs to remove; one named with this process's pid but
 * not its run is an ended process's that had the same pid.
 */
export const dropStaleSnapshots = (root: string, alive: (pid: number) => boolean = processAlive): void => {
  const dir = join(root, READ_DIR);
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) {
    const [pidText, run] = entry.split('-');
    const pid = Number(pidText);
    const stale = !Number.isInteger(pid) || pid <= 0 || (pid === process.pid ? run !== RUN : !alive(pid));
    if (stale) removeDir(join(dir, entry));
  }
};

/** small JSON state (checkpoint, erased ids) beside the tables, written whole and renamed */
export const readJson = <T>(file: string): T | undefined => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined);
export const writeJson = (file: string, value: unknown): void => {
  const tmp = tmpBeside(file);
  writeFileSync(tmp, JSON.stringify(value), { mode: FILE_MODE });
  replaceFile(tmp, file);
};

/** a SQL string literal */
export const lit = (s: string): string => `'${s.replaceAll("'", "''")}'`;
