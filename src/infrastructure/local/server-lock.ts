import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// One server per data dir: <data dir>/server.lock names the server that holds it (pid, URL). A
// second `npm start` on the same dir is refused with that server's address, instead of sharing
// (and outliving) its store. A lock whose process is gone (killed, crashed) is taken over. CLI
// jobs take no lock: they are meant to run beside the server on the same data.

export const LOCK_FILE = 'server.lock';

export type LockHolder = { readonly pid: number; readonly url?: string | undefined; readonly startedAt?: string | undefined };

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

export type ServerLock = { setUrl(url: string): void; release(): void };

/** Takes the dir's lock for this process (taking over a dead holder's); DataDirInUse when a live server holds it. */
export const lockDataDir = (dataDir: string): ServerLock => {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, LOCK_FILE);
  const mine = (url?: string) => `${JSON.stringify({ pid: process.pid, ...(url ? { url } : {}), startedAt: new Date().toISOString() })}\n`;
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
