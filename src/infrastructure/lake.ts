import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openDuckDbLake, type DuckDbLake } from '../adapters/lake/duckdb.analytics.js';
import { qualityReport, type QualityReport } from '../adapters/lake/duckdb.quality.js';
import { makePrivate, processAlive } from '../adapters/lake/lake.files.js';
import { markLakeClean } from '../application/lake/lake-clean.js';
import { LakeProjector } from '../application/lake/lake.projector.js';
import type { ErasureLedger } from '../application/ports/erasure-ledger.port.js';
import type { EventStore } from '../application/ports/event-store.port.js';
import type { LakeEraser } from '../application/ports/lake.port.js';
import { scoreConfigFor, type Config } from './config.js';

// The analytics lake on this machine: Parquet files under C360_LAKE_DIR, written by one process at
// a time (a lock file beside them names it). The server holds it and follows the log; a CLI run
// while the server is up only reads (the server's next catch-up brings the files up to date), and
// whoever finds the lock free (its holder ended) takes it.
// Loaded on demand only: no Lambda bundle imports this module (DuckDB is a native engine).

export type LocalLake = {
  readonly lake: DuckDbLake;
  /** whether this process writes the lake (it holds the lock; a lock freed later is taken then) */
  writes(): boolean;
  /** erasure's way in: erases now where this process writes the lake, else leaves it to the writer's projector */
  readonly eraser: LakeEraser;
  /**
   * brings the tenant's lake up to the end of the log; undefined when another process writes it.
   * With the ledger, the erasure receipts whose customers the lake no longer holds get lakeCleanAt
   * (an erasure by another process, such as a CLI job beside the server, cannot say it itself).
   */
  catchUp(store: EventStore, tenant: string, ledger?: ErasureLedger): Promise<{ readonly events: number } | undefined>;
  rebuild(store: EventStore, tenant: string): Promise<{ readonly events: number } | undefined>;
  quality(tenant: string, options: { readonly now: number; readonly maxAgeHours: number }): Promise<QualityReport>;
  /** follows the log for these tenants until closed, marking the ledger's receipts as catchUp does */
  follow(store: EventStore, tenants: readonly string[], onError: (e: unknown) => void, ledger?: ErasureLedger): void;
  close(): Promise<void>;
};

/** Takes the lake's writer lock, or says who holds it; a lock left by a dead process is taken over. */
const takeLock = (dir: string): (() => void) | undefined => {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, '.writer.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(readFileSync(file, 'utf8'));
      if (Number.isInteger(holder) && holder > 0 && processAlive(holder)) return undefined;
      rmSync(file, { force: true });
    }
  }
  return undefined;
};

/**
 * The log a store configured so reads, as the lake records it beside its checkpoint: the store's
 * kind and place, never a secret (no connection string) nor a port (DynamoDB Local's may change).
 */
/** `file` with every link resolved, or as an absolute path while it does not exist yet */
const realPath = (file: string): string => {
  try {
    return realpathSync(file);
  } catch {
    return resolve(file);
  }
};

export const logOf = (config: Partial<Pick<Config, 'store' | 'sqliteFile' | 'tables'>>): string | undefined => {
  switch (config.store) {
    case 'sqlite':
      // the file's real path: the same database reached through a link is the same log
      return config.sqliteFile ? `sqlite:${realPath(config.sqliteFile)}` : undefined;
    case 'dynamodb':
      return config.tables ? `dynamodb:${config.tables.events}` : undefined;
    case 'eventstoredb':
      return 'eventstoredb';
    default:
      return undefined;
  }
};

const warn = (msg: string, fields: Record<string, unknown>) => console.warn(JSON.stringify({ level: 'warn', msg, ...fields }));

export const openLocalLake = async (
  config: Pick<Config, 'lakeDir'> & Partial<Pick<Config, 'lakeFollowMs' | 'store' | 'sqliteFile' | 'tables' | 'scoreCurrency'>>,
  clock: () => number = Date.now,
  onRebuild: (tenant: string, why: string) => void = (tenant, why) => warn(`lake projector: ${why}`, { tenant }),
): Promise<LocalLake> => {
  // the lake holds personal data (until an erasure reaches it): a folder made for it is the owner's alone
  mkdirSync(config.lakeDir, { recursive: true, mode: 0o700 });
  // and so is everything in it: a lake written by the builds that followed the umask (0755, 0644) is made so
  for (const entry of readdirSync(config.lakeDir, { withFileTypes: true })) {
    if (entry.isDirectory()) makePrivate(join(config.lakeDir, entry.name));
  }
  // the 360 view's score settings: a query's currency (and thresholds) default to what the views use
  const lake = await openDuckDbLake(config.lakeDir, {
    clock,
    score: config.scoreCurrency === undefined ? undefined : scoreConfigFor({ scoreCurrency: config.scoreCurrency }),
  });
  let release = takeLock(config.lakeDir);
  const held = (): boolean => (release ??= takeLock(config.lakeDir)) !== undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const projectors = new Map<EventStore, LakeProjector>();
  // the lake records the log it follows: a checkpoint of another store's (the data dir moved from
  // SQLite to DynamoDB, `c360 migrate`) leads to a rebuild from this one, said once
  const log = logOf(config);
  const projector = (store: EventStore) =>
    projectors.get(store) ?? projectors.set(store, new LakeProjector(store, lake.writer, { log, onRebuild })).get(store)!;
  const self: LocalLake = {
    lake,
    writes: held,
    eraser: { erase: async (tenant, ids) => (held() ? lake.writer.erase(tenant, ids) : undefined) },
    catchUp: async (store, tenant, ledger) => {
      if (!held()) return undefined;
      const done = await projector(store).catchUp(tenant);
      if (ledger) await markLakeClean(ledger, tenant, await lake.writer.erasedIds(tenant), new Date(clock()).toISOString());
      return done;
    },
    rebuild: async (store, tenant) => (held() ? projector(store).rebuild(tenant) : undefined),
    quality: (tenant, options) => qualityReport(lake.instance, config.lakeDir, tenant, options),
    follow: (store, tenants, onError, ledger) => {
      const tick = () => {
        running = (async () => {
          // a CLI command may hold the lock for a moment: the next tick takes it
          for (const t of tenants) await self.catchUp(store, t, ledger);
        })()
          .catch(onError)
          .finally(() => {
            // every C360_LAKE_FOLLOW_SECONDS (30 by default): an analytics layer, and rewriting partitions
            // less often leaves the cores to ingest (a default seed beside the server: 51 s at 5, 46 s at 30)
            if (timer) timer = setTimeout(tick, config.lakeFollowMs ?? 30_000);
          });
      };
      timer = setTimeout(tick, 0);
    },
    close: async () => {
      const t = timer;
      timer = undefined;
      clearTimeout(t);
      await running;
      release?.();
      lake.close();
    },
  };
  return self;
};
