import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { loadSqlite } from './sqlite.module.js';

// One SQLite file for the whole embedded store, opened in the process (node:sqlite: no server, no
// port). WAL with synchronous=FULL: a transaction is on disk (the WAL fsynced) before COMMIT
// returns, so an acknowledged call survives kill -9 and power loss. secure_delete overwrites
// freed pages with zeros, so erased values do not linger in free pages; erasure also checkpoints
// the WAL, so they do not linger there either.

export type SqliteDatabaseOptions = {
  /** a file path, or ':memory:' (tests, embedding) */
  readonly path: string;
  /** how long a writer waits for another process's lock before failing; default 10 s */
  readonly busyTimeoutMs?: number | undefined;
  /**
   * FULL (default): COMMIT returns once the WAL is fsynced. NORMAL: every COMMIT skips the fsync
   * (the stores' writes that need none use `transaction(work, { synchronous: 'NORMAL' })` on the
   * FULL connection instead). The WAL is one log, so a power loss can lose only its last
   * transactions, and every later FULL commit syncs all that came before it: views and snapshots
   * are re-derived from the event log, and a data key is written before the event commit that
   * uses it.
   */
  readonly synchronous?: 'FULL' | 'NORMAL' | undefined;
  /**
   * The WAL size, in pages, past which a COMMIT of this connection copies the WAL into the file
   * (wal_autocheckpoint); default 10,000 (40 MB). SQLite's own 1,000 made the default seed
   * checkpoint ~250 times, each copying pages that the next few commits wrote again; a checkpoint
   * copies a page once however often the WAL holds it. An erasure still ends with a checkpoint
   * that truncates the WAL (see checkpoint).
   */
  readonly autoCheckpointPages?: number | undefined;
  /**
   * The most page cache this connection keeps, in KiB (PRAGMA cache_size); default 65,536 (64 MiB),
   * allocated only as pages are read. SQLite's own 2 MiB held a few hundred pages: on a store of
   * thousands of customers most reads of a view, an idempotency record or a claim missed it and
   * read the page again from the WAL or the file, a system call each.
   */
  readonly cacheKiB?: number | undefined;
};

export type Durability = { readonly journalMode: string; readonly synchronous: 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA'; readonly secureDelete: boolean };

const SYNCHRONOUS = ['OFF', 'NORMAL', 'FULL', 'EXTRA'] as const;

/**
 * node:sqlite's open errors name no path (`unable to open database file`): the error is given the
 * path, and says so when it is a folder. Its code and errcode stay, for callers that read them.
 */
const openNamed = (Database: typeof DatabaseSync, path: string): DatabaseSync => {
  try {
    return new Database(path);
  } catch (e) {
    if (e instanceof Error) {
      const folder = path !== ':memory:' && existsSync(path) && statSync(path).isDirectory();
      e.message = `cannot open the SQLite database ${path}: ${e.message}${folder ? ' (it is a folder; give the path of a file in it, such as c360.sqlite)' : ''}`;
    }
    throw e;
  }
};

export class SqliteDatabase {
  readonly db: DatabaseSync;
  readonly path: string;
  private readonly statements = new Map<string, StatementSync>();
  private depth = 0;
  private readonly synchronous: 'FULL' | 'NORMAL';
  /** reads waiting for the end of this loop turn (see read) */
  private reads: { readonly work: () => unknown; readonly resolve: (v: unknown) => void; readonly reject: (e: unknown) => void }[] = [];
  private readsScheduled = false;
  /** true while the reads of a turn run in their own read transaction */
  private readScope = false;
  /** data_version, read once per read transaction of a turn's reads */
  private scopeVersion: number | undefined;

  constructor(options: SqliteDatabaseOptions) {
    this.path = options.path;
    const onDisk = options.path !== ':memory:';
    if (onDisk) {
      const dir = dirname(options.path);
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
    }
    const { DatabaseSync: Database } = loadSqlite();
    this.db = openNamed(Database, options.path);
    this.db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 10_000))}`);
    if (onDisk) {
      this.db.exec('PRAGMA journal_mode = WAL');
      this.db.exec(`PRAGMA wal_autocheckpoint = ${Math.max(0, Math.trunc(options.autoCheckpointPages ?? 10_000))}`);
      for (const suffix of ['', '-wal', '-shm']) if (existsSync(options.path + suffix)) chmodSync(options.path + suffix, 0o600);
    }
    this.synchronous = options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL';
    this.db.exec(`PRAGMA synchronous = ${this.synchronous}`);
    this.db.exec('PRAGMA secure_delete = ON');
    this.db.exec('PRAGMA foreign_keys = ON');
    // Sub-journals in memory: in WAL mode a savepoint (the one round a group commit, a nested
    // transaction) copies every page it changes that existed before it into a sub-journal, which
    // SQLite otherwise spills to a temporary file past 64 KiB: ~2.5 extra pwrites a /v1/batch call.
    // It only ever undoes a savepoint of the open transaction, so it never needs to outlive the
    // process, and a group's is a few MB at most. Nor does a copy of a page (of data later erased,
    // say) then sit in a deleted temporary file's blocks. Temporary tables and indices, which
    // nothing here makes, would be kept in memory too.
    this.db.exec('PRAGMA temp_store = MEMORY');
    this.db.exec(`PRAGMA cache_size = -${Math.max(1_024, Math.trunc(options.cacheKiB ?? 65_536))}`);
  }

  /**
   * SQLite's PRAGMA data_version: a number that changes when another connection (this process's or
   * another's) commits to the file, and never for this connection's own commits. Equal values read
   * at two times mean no other connection wrote in between, so what this connection saw then is
   * still there, but for its own writes.
   */
  dataVersion(): number {
    // in a read transaction the snapshot is fixed, and data_version with it: read it once
    if (this.inReadScope()) return (this.scopeVersion ??= this.readDataVersion());
    return this.readDataVersion();
  }

  private readDataVersion(): number {
    return (this.prepare('PRAGMA data_version').get() as { data_version: number }).data_version;
  }

  /**
   * Whether what a statement run now sees is committed state: no transaction is open, or the one
   * open is the read transaction of a turn's reads (see read), never a write that may yet roll back.
   */
  seesCommitted(): boolean {
    return !this.db.isTransaction || this.inReadScope();
  }

  private inReadScope(): boolean {
    return this.readScope && this.db.isTransaction;
  }

  /**
   * Runs `work`, which must only read, at the end of this loop turn, together with every other read
   * asked for in the turn, in one read transaction: a statement outside a transaction is a read
   * transaction of its own (the WAL index looked at, a read lock taken and dropped on the -shm
   * file), and a /v1/batch's calls each make several. setImmediate, as the group commit does, so
   * the reads of every I/O callback of the turn join. Each read still runs after it was asked for
   * and before its answer, on state that was committed when the transaction began, so it answers
   * what a read made on its own at that moment would have: a write acknowledged before the read
   * was asked for is seen. `work` runs synchronously; its error rejects its own read only.
   */
  read<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.reads.push({ work, resolve: resolve as (v: unknown) => void, reject });
      if (this.readsScheduled) return;
      this.readsScheduled = true;
      setImmediate(() => this.flushReads());
    });
  }

  private flushReads(): void {
    this.readsScheduled = false;
    const reads = this.reads;
    this.reads = [];
    // one read alone gains nothing from a transaction round it; none is open between loop turns
    // (every transaction here is synchronous), but if one were, the reads would simply run in it
    let scoped = reads.length > 1 && this.db.isOpen && !this.db.isTransaction;
    if (scoped) {
      try {
        this.db.exec('BEGIN'); // deferred: the snapshot is taken by the first read
      } catch {
        scoped = false; // each read then runs on its own, and reports its own error
      }
    }
    this.readScope = scoped;
    try {
      for (const r of reads) {
        try {
          r.resolve(r.work());
        } catch (e) {
          r.reject(e);
        }
      }
    } finally {
      this.readScope = false;
      this.scopeVersion = undefined;
      // a read transaction has nothing to commit; ending it cannot lose anything anyone was told of
      if (scoped && this.db.isOpen && this.db.isTransaction) {
        try {
          this.db.exec('COMMIT');
        } catch {
          if (this.db.isTransaction) this.db.exec('ROLLBACK');
        }
      }
    }
  }

  /** A cached prepared statement: preparing costs more than running most of ours. */
  prepare(sql: string): StatementSync {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  /**
   * Runs `work` in one write transaction (BEGIN IMMEDIATE takes the write lock up front, so two
   * processes never deadlock upgrading a read). Nested calls become savepoints. `work` must be
   * synchronous: node:sqlite is, and an await inside would let other callers into the transaction.
   */
  transaction<T>(work: () => T, options: { readonly synchronous?: 'NORMAL' | undefined } = {}): T {
    const outer = this.depth === 0;
    // a write that needs no fsync of its own, on a FULL connection: its COMMIT skips the fsync,
    // and the next FULL commit's fsync covers it (the WAL is one log, synced in order)
    if (outer && options.synchronous === 'NORMAL' && this.synchronous === 'FULL') {
      this.db.exec('PRAGMA synchronous = NORMAL');
      try {
        return this.run(work);
      } finally {
        this.restoreFull();
      }
    }
    return this.run(work);
  }

  /**
   * FULL again after a NORMAL transaction. SQLite refuses to change it inside a transaction, which
   * is where a failed rollback would leave the connection: then roll back and try again, and if
   * the connection still cannot be made FULL, close it. Every later write then fails loudly rather
   * than acknowledging calls that were never fsynced.
   */
  private restoreFull(): void {
    if (!this.db.isOpen) return;
    try {
      this.db.exec('PRAGMA synchronous = FULL');
      return;
    } catch {
      // below: out of the transaction first
    }
    try {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      this.db.exec('PRAGMA synchronous = FULL');
    } catch (e) {
      this.close();
      throw new Error(`the SQLite connection could not be set back to synchronous=FULL, so it was closed: ${(e as Error).message}`);
    }
  }

  private run<T>(work: () => T): T {
    const outer = this.depth === 0;
    const savepoint = `sp${this.depth}`;
    this.db.exec(outer ? 'BEGIN IMMEDIATE' : `SAVEPOINT ${savepoint}`);
    this.depth++;
    let result: T;
    try {
      result = work();
    } catch (e) {
      this.depth--;
      this.rollback(outer, savepoint);
      throw e;
    }
    this.depth--;
    try {
      this.db.exec(outer ? 'COMMIT' : `RELEASE ${savepoint}`);
    } catch (e) {
      this.rollback(outer, savepoint);
      throw e;
    }
    return result;
  }

  /** SQLite may already have rolled the whole transaction back (a full disk, an I/O error). */
  private rollback(outer: boolean, savepoint: string): void {
    if (!this.db.isTransaction) return;
    this.db.exec(outer ? 'ROLLBACK' : `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
  }

  /** What the file promises on COMMIT, read back from SQLite itself (tests and the bench name it). */
  durability(): Durability {
    const journal = this.db.prepare('PRAGMA journal_mode').get() as { journal_mode: string };
    const sync = this.db.prepare('PRAGMA synchronous').get() as { synchronous: number };
    const secure = this.db.prepare('PRAGMA secure_delete').get() as { secure_delete: number };
    return { journalMode: journal.journal_mode.toUpperCase(), synchronous: SYNCHRONOUS[sync.synchronous] ?? 'OFF', secureDelete: secure.secure_delete === 1 };
  }

  /** Moves the WAL into the main file and truncates it: after an erasure, no old page stays in the WAL. */
  checkpoint(): void {
    if (this.path !== ':memory:') this.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  }

  close(): void {
    this.statements.clear();
    if (this.db.isOpen) this.db.close();
  }
}
