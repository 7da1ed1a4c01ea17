import { existsSync, mkdirSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

// One server per data dir: <data dir>/server.lock names the server that holds it (pid, URL). A
// second `npm start` on the same dir is refused with that server's address, instead of sharing
// (and outliving) its store. A lock whose process is gone (killed, crashed) is taken over. CLI
// jobs take no lock: they are meant to run beside the server on the same data. A server on the
// embedded store also names its SQLite file (its real path), so a job on the same dir but another
// file (C360_SQLITE_FILE) knows that server is not projecting what it writes.

export const LOCK_FILE = 'server.lock';

export type LockHolder = {
  readonly pid: number;
  readonly url?: string | undefined;
  readonly startedAt?: string | undefined;
  /** the embedded store's SQLite file the server projects (its real path); absent on other stores */
  readonly sqliteFile?: string | undefined;
};

/** A file's real path (symlinks and `..` resolved), also before the file exists: its directory's, then its name. */
export const realFile = (file: string): string => {
  try {
    return realpathSync(file);
  } catch {
    try {
      return join(realpathSync(dirname(resolve(file))), basename(file));
    } catch {
      return resolve(file);
    }
  }
};

export class DataDirInUse extends Error {
  override readonly name = 'DataDirInUse';
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `another c360 server (pid ${holder.pid}${holder.url ? `, ${holder.url}` : ''}) already uses the data dir ${dataDir}. Use that one, stop it first, or start this one on another dir: C360_DATA_DIR=<dir> npm start`,
    );
  }
}

/** Whether a process with this id is running (EPERM: it is, as another user). */
export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const read = (file: string): LockHolder | undefined => {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    return typeof parsed.pid === 'number' ? (parsed as LockHolder) : undefined;
  } catch {
    return undefined; // gone, or half written by a process that died: not a holder
  }
};

/** Throws DataDirInUse when a live server holds the dir's lock; creates nothing. */
export const checkDataDirFree = (dataDir: string): void => {
  const holder = read(join(dataDir, LOCK_FILE));
  if (holder && holder.pid !== process.pid && alive(holder.pid)) throw new DataDirInUse(dataDir, holder);
};

/** The live server (another process) holding the dir's lock, if there is one. */
export const serverOnDir = (dataDir: string): LockHolder | undefined => {
  const holder = read(join(dataDir, LOCK_FILE));
  return holder && holder.pid !== process.pid && alive(holder.pid) ? holder : undefined;
};

/** The live server holding the dir's lock that projects this SQLite file (the same real path), if there is one. */
export const serverOnFile = (dataDir: string, sqliteFile: string): LockHolder | undefined => {
  const holder = serverOnDir(dataDir);
  return holder?.sqliteFile !== undefined && holder.sqliteFile === realFile(sqliteFile) ? holder : undefined;
};

export type ServerLock = { setUrl(url: string): void; release(): void };

/**
 * Takes the dir's lock for this process (taking over a dead holder's); DataDirInUse when a live
 * server holds it. `sqliteFile`: the embedded store's file this server projects.
 */
export const lockDataDir = (dataDir: string, sqliteFile?: string): ServerLock => {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, LOCK_FILE);
  const projects = sqliteFile === undefined ? {} : { sqliteFile: realFile(sqliteFile) };
  const mine = (url?: string) => `${JSON.stringify({ pid: process.pid, ...(url ? { url } : {}), ...projects, startedAt: new Date().toISOString() })}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, mine(), { flag: 'wx', mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') checkDataDirFree(dataDir);
        throw e;
      }
      checkDataDirFree(dataDir);
      // the holder is dead: its lock is stale
      try {
        unlinkSync(file);
      } catch {}
    }
  }
  const ours = () => read(file)?.pid === process.pid;
  return {
    setUrl: (url) => {
      if (ours()) writeFileSync(file, mine(url), { mode: 0o600 });
    },
    release: () => {
      if (ours() && existsSync(file)) unlinkSync(file);
    },
  };
};
