import {
  NotAPosition,
  type Commit,
  type CommitResult,
  type EventStore,
  type IdempotencyRecord,
  type ReadAllPage,
  type StoredEvent,
} from '../../application/ports/event-store.port.js';
import { checkCommitLimits, checkCommitShape, claimHolds } from '../../application/ports/commit-checks.js';
import type { Clock } from '../../application/ports/runtime.port.js';
import type { SqliteDatabase } from './sqlite.database.js';
import { PositionRanges } from './sqlite.position-ranges.js';

// The event store in the embedded SQLite file. `position` is the rowid: SQLite serializes writers,
// so rowid order is commit order, one gap-free sequence across all tenants (AUTOINCREMENT: never
// reused, whatever happens to the table). Events are kept as the JSON the caller gave, position
// stripped. Expired idempotency records stay (treated as absent, like the memory store's).
//
// Group commit: commits arriving while a flush is pending are written in one transaction, one
// fsync, checked and applied in arrival order, so a group is exactly its members committed one by
// one. A member's conflict or duplicate is its own result; its unexpected error rejects it alone.
// A group is first applied in one savepoint round it all (in WAL mode a savepoint copies each page
// that existed before it into its sub-journal the first time it changes it, so one per member
// copies a page again for every member that touches it, one round the group only once; the
// sub-journal is kept in memory, see SqliteDatabase); if a member throws,
// that savepoint is rolled back, the transaction and its write lock kept, and the group applied
// again with each member in its own savepoint, whose rollback undoes that member alone. If the
// transaction itself fails (BEGIN, COMMIT, or an error that made SQLite abandon it), every member
// rejects. Promises settle only after COMMIT has returned, i.e. after the WAL is on
// disk. The group runs its own BEGIN/SAVEPOINT/COMMIT rather than SqliteDatabase.transaction: it
// needs a result per member, and must survive a failed COMMIT (flush is never called from inside
// another transaction's work).

const POSITION_DIGITS = 16; // any safe integer, so string order of positions is numeric order
export const toPosition = (n: number): string => String(n).padStart(POSITION_DIGITS, '0');
export const fromPosition = (p: string): number => {
  if (p.length !== POSITION_DIGITS || !/^\d+$/.test(p)) throw new NotAPosition(p);
  return Number(p);
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, stream_id TEXT NOT NULL,
  version INTEGER NOT NULL, event TEXT NOT NULL, UNIQUE (tenant, stream_id, version));
CREATE INDEX IF NOT EXISTS events_by_tenant ON events (tenant, position);
CREATE TABLE IF NOT EXISTS claims (tenant TEXT NOT NULL, key TEXT NOT NULL, owner TEXT NOT NULL, PRIMARY KEY (tenant, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idempotency (
  tenant TEXT NOT NULL, key TEXT NOT NULL, payload_hash TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (tenant, key)) WITHOUT ROWID;`;

const SQL = {
  version: 'SELECT MAX(version) AS v FROM events WHERE tenant = ? AND stream_id = ?',
  owner: 'SELECT owner FROM claims WHERE tenant = ? AND key = ?',
  owners: 'SELECT key, owner FROM claims WHERE tenant = ? AND key IN (SELECT value FROM json_each(?))',
  idempotency: 'SELECT payload_hash, expires_at FROM idempotency WHERE tenant = ? AND key = ?',
  insert: 'INSERT INTO events (tenant, stream_id, version, event) VALUES (?, ?, ?, ?)',
  claim: 'INSERT OR REPLACE INTO claims (tenant, key, owner) VALUES (?, ?, ?)',
  release: 'DELETE FROM claims WHERE tenant = ? AND key = ?',
  record: 'INSERT OR REPLACE INTO idempotency (tenant, key, payload_hash, expires_at) VALUES (?, ?, ?, ?)',
  stream: 'SELECT position, event FROM events WHERE tenant = ? AND stream_id = ? AND version > ? ORDER BY version',
  all: 'SELECT position, event FROM events WHERE tenant = ? AND position > ? ORDER BY position LIMIT ?',
  last: 'SELECT position, event FROM events WHERE tenant = ? ORDER BY position DESC LIMIT ?',
  global: 'SELECT position, tenant, stream_id, version, event FROM events WHERE position > ? ORDER BY position LIMIT ?',
  rewrite: 'UPDATE events SET event = ? WHERE position = ?',
} as const;

type EventRow = { position: number; event: string };
type IdempotencyRow = { payload_hash: string; expires_at: number };
/** One event of the global log; `event` is undefined when its stored JSON does not parse. */
export type GlobalEntry = {
  readonly position: number;
  readonly tenant: string;
  readonly streamId: string;
  readonly version: number;
  readonly event?: StoredEvent;
  readonly error?: unknown;
};
export type SqliteEventStoreOptions = {
  readonly clock?: Clock | undefined;
  readonly maxGroup?: number | undefined;
  /** false: every commit is its own transaction, written at once (no waiting for the loop turn); default true */
  readonly groupCommit?: boolean | undefined;
};
type Member = { readonly commit: Commit; readonly resolve: (r: CommitResult) => void; readonly reject: (e: unknown) => void };
/** `positions`: the first and last position a committed member's events took */
type Outcome =
  | { readonly ok: true; readonly result: CommitResult; readonly positions?: readonly [number, number] | undefined }
  | { readonly ok: false; readonly error: unknown };

const toEvent = (row: EventRow): StoredEvent => {
  const event = JSON.parse(row.event) as { position?: string };
  event.position = toPosition(row.position);
  return event as StoredEvent;
};

export class SqliteEventStore implements EventStore {
  /** positions are rowids, taken under SQLite's one writer: commit order, visible once committed */
  readonly logInCommitOrder = true;
  /** transactions written, commits settled through them, largest group so far */
  readonly stats = { transactions: 0, commits: 0, largestGroup: 0 };
  private readonly clock: Clock;
  private readonly maxGroup: number;
  private readonly grouped: boolean;
  private queue: Member[] = [];
  private scheduled = false;
  /** position ranges committed through this instance (the log follower can skip what was projected inline) */
  private readonly local = new PositionRanges();
  /** the last log position committed through this instance (0: none) */
  private lastLocal = 0;

  constructor(
    private readonly db: SqliteDatabase,
    options: SqliteEventStoreOptions = {},
  ) {
    this.clock = options.clock ?? { now: Date.now };
    this.maxGroup = Math.max(1, options.maxGroup ?? 256);
    this.grouped = options.groupCommit ?? true;
    db.db.exec(SCHEMA);
  }

  async commit(commit: Commit): Promise<CommitResult> {
    checkCommitLimits(commit);
    checkCommitShape(commit);
    return new Promise<CommitResult>((resolve, reject) => {
      if (!this.grouped) return this.write([{ commit, resolve, reject }]);
      this.queue.push({ commit, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      // setImmediate, not a microtask: it runs after the poll phase, so commits coming from every
      // I/O callback of this loop turn join the group. Measured with 64 writers each behind an I/O
      // hop: a microtask flushed each commit alone (3,200 transactions, ~3.3k commits/s), this
      // grouped them (~55 transactions, ~23k commits/s); it also groups the ingest path fully.
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) this.write(this.queue.splice(0, this.maxGroup));
  }

  private write(group: readonly Member[]): void {
    const db = this.db.db;
    let outcomes: Outcome[] | undefined;
    try {
      db.exec('BEGIN IMMEDIATE');
      // the write lock is held from BEGIN to COMMIT: a member's error never lets another writer in between
      outcomes = this.applyAll(group) ?? group.map((m) => this.member(m.commit));
      db.exec('COMMIT');
    } catch (error) {
      try {
        if (db.isOpen && db.isTransaction) db.exec('ROLLBACK');
      } catch {
        // the error that failed the group is the one worth reporting
      }
      for (const m of group) m.reject(error);
      return;
    }
    this.stats.transactions++;
    this.stats.commits += group.length;
    this.stats.largestGroup = Math.max(this.stats.largestGroup, group.length);
    group.forEach((m, i) => {
      const o = outcomes![i]!;
      if (o.ok && o.positions) {
        this.local.add(o.positions[0], o.positions[1]);
        this.lastLocal = Math.max(this.lastLocal, o.positions[1]);
      }
      if (o.ok) m.resolve(o.result);
      else m.reject(o.error);
    });
  }

  /** Whether this instance committed the event at `position` (in this process, since it opened). */
  committedHere(position: number): boolean {
    return this.local.has(position);
  }

  /** The end of the run of positions right after `after` that this instance committed (`after` when the next one is not its own). */
  committedHereThrough(after: number): number {
    return this.local.heldThrough(after);
  }

  /** The last log position this instance committed (in this process, since it opened); 0 when it wrote nothing. */
  lastCommittedHere(): number {
    return this.lastLocal;
  }

  /** Forgets what this instance committed up to `position` (the follower has passed it). */
  forgetCommittedUpTo(position: number): void {
    this.local.forgetUpTo(position);
  }

  /**
   * Every member of a group, on the open transaction, in one savepoint round the whole group (it
   * copies each page the group changes into its sub-journal once, where one per member copies it
   * again for each member that changes it);
   * undefined when a member threw, after rolling that savepoint back: the transaction, and its
   * write lock, stay, and the group is applied again member by member. A group of one has no other
   * member to protect: its error fails the transaction, its own.
   */
  private applyAll(group: readonly Member[]): Outcome[] | undefined {
    if (group.length === 1) return [this.apply(group[0]!.commit)];
    const db = this.db.db;
    const outcomes: Outcome[] = [];
    db.exec('SAVEPOINT whole_group');
    for (const m of group) {
      try {
        outcomes.push(this.apply(m.commit));
      } catch (error) {
        if (!db.isTransaction) throw error; // SQLite rolled the whole transaction back (I/O, full disk)
        db.exec('ROLLBACK TO whole_group; RELEASE whole_group');
        return undefined;
      }
    }
    db.exec('RELEASE whole_group');
    return outcomes;
  }

  /** One member of a group, in its savepoint; throws only when the whole transaction is lost. */
  private member(commit: Commit): Outcome {
    const db = this.db.db;
    db.exec('SAVEPOINT member');
    try {
      const outcome = this.apply(commit);
      db.exec('RELEASE member');
      return outcome;
    } catch (error) {
      if (!db.isTransaction) throw error; // SQLite rolled the whole transaction back (I/O, full disk)
      db.exec('ROLLBACK TO member; RELEASE member');
      return { ok: false, error };
    }
  }

  /** The memory store's commit, on the open transaction. */
  private apply(commit: Commit): Extract<Outcome, { ok: true }> {
    const { tenant } = commit;
    const q = (sql: string) => this.db.prepare(sql);
    const idem = commit.idempotency;
    if (idem) {
      const stored = q(SQL.idempotency).get(tenant, idem.key) as IdempotencyRow | undefined;
      if (stored && stored.expires_at > this.clock.now()) return { ok: true, result: { status: 'duplicate', payloadHash: stored.payload_hash } };
    }
    const versions = commit.streams.map((s) => (q(SQL.version).get(tenant, s.streamId) as { v: number | null }).v ?? 0);
    const owners = commit.claims.map((c) => (q(SQL.owner).get(tenant, c.key) as { owner: string } | undefined)?.owner);
    if (commit.streams.some((s, i) => versions[i] !== s.expectedVersion) || commit.claims.some((c, i) => !claimHolds(c, owners[i]))) {
      const streams: Record<string, number> = {};
      const claims: Record<string, string | null> = {};
      commit.streams.forEach((s, i) => (streams[s.streamId] = versions[i]!));
      commit.claims.forEach((c, i) => (claims[c.key] = owners[i] ?? null));
      return { ok: true, result: { status: 'conflict', current: { streams, claims } } };
    }
    const committed: Record<string, number> = {};
    let first = 0;
    let last = 0;
    for (const s of commit.streams) {
      for (const e of s.events) {
        // a position from another store would be meaningless here (JSON drops undefined)
        last = Number(
          q(SQL.insert).run(tenant, s.streamId, e.version, JSON.stringify(e.position === undefined ? e : { ...e, position: undefined })).lastInsertRowid,
        );
        first ||= last;
      }
      committed[s.streamId] = s.expectedVersion + s.events.length;
    }
    for (const c of commit.claims) {
      if (c.op === 'release') q(SQL.release).run(tenant, c.key);
      else q(SQL.claim).run(tenant, c.key, c.owner);
    }
    if (idem) q(SQL.record).run(tenant, idem.key, idem.payloadHash, idem.expiresAt);
    for (const r of commit.alsoRecorded ?? []) q(SQL.record).run(tenant, r.key, r.payloadHash, r.expiresAt);
    return { ok: true, result: { status: 'committed', versions: committed }, positions: first ? [first, last] : undefined };
  }

  // The point reads below run with the other reads of their loop turn, in one read transaction
  // (SqliteDatabase.read): a /v1/batch's calls each read their idempotency record, claims and
  // streams, and one implicit read transaction apiece cost more than the reads.

  readStream(tenant: string, streamId: string, afterVersion = 0): Promise<readonly StoredEvent[]> {
    return this.db.read(() => (this.db.prepare(SQL.stream).all(tenant, streamId, afterVersion) as EventRow[]).map(toEvent));
  }

  readClaims(tenant: string, keys: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const found = new Map<string, string>();
    if (keys.length === 0) return Promise.resolve(found);
    return this.db.read(() => {
      if (keys.length === 1) {
        const row = this.db.prepare(SQL.owner).get(tenant, keys[0]!) as { owner: string } | undefined;
        if (row) found.set(keys[0]!, row.owner);
        return found;
      }
      // one statement, so one read transaction (its locks, and a look at the WAL), not one per key
      for (const r of this.db.prepare(SQL.owners).all(tenant, JSON.stringify(keys)) as { key: string; owner: string }[]) found.set(r.key, r.owner);
      return found;
    });
  }

  async readAll(tenant: string, options: { readonly after?: string | undefined; readonly limit: number }): Promise<ReadAllPage> {
    if (!(options.limit >= 1)) throw new Error(`readAll limit must be at least 1, got ${options.limit}`);
    const limit = Math.ceil(options.limit);
    const after = options.after === undefined ? 0 : fromPosition(options.after);
    const rows = this.db.prepare(SQL.all).all(tenant, after, limit + 1) as EventRow[];
    const more = rows.length > limit;
    const events = (more ? rows.slice(0, limit) : rows).map(toEvent);
    return more ? { events, next: events.at(-1)!.position } : { events };
  }

  async readLast(tenant: string, limit: number): Promise<readonly StoredEvent[]> {
    if (!(limit >= 1)) throw new Error(`readLast limit must be at least 1, got ${limit}`);
    const rows = this.db.prepare(SQL.last).all(tenant, Math.ceil(limit)) as EventRow[];
    return rows.reverse().map(toEvent);
  }

  getIdempotency(tenant: string, key: string, now: number): Promise<IdempotencyRecord | undefined> {
    return this.db.read(() => {
      const row = this.db.prepare(SQL.idempotency).get(tenant, key) as IdempotencyRow | undefined;
      return row && row.expires_at > now ? { key, payloadHash: row.payload_hash, expiresAt: row.expires_at } : undefined;
    });
  }

  /**
   * Rewrites the named events without their pii, in one transaction, then checkpoints the WAL: with
   * secure_delete on, the old rows' bytes are zeroed in the pages, and no older page version keeps
   * them in the WAL or the main file (as erasure does; see SqliteErasureLedger.record).
   */
  async redactPii(tenant: string, streamId: string, eventIds: readonly string[]): Promise<number> {
    const wanted = new Set(eventIds);
    if (wanted.size === 0) return 0;
    const redacted = this.db.transaction(() => {
      let n = 0;
      for (const row of this.db.prepare(SQL.stream).all(tenant, streamId, 0) as EventRow[]) {
        const event = JSON.parse(row.event) as { eventId?: string; pii?: unknown };
        if (event.eventId === undefined || !wanted.has(event.eventId) || event.pii === undefined) continue;
        delete event.pii;
        this.db.prepare(SQL.rewrite).run(JSON.stringify(event), row.position);
        n++;
      }
      return n;
    });
    // also when nothing was left to redact: a run that died after its commit may not have checkpointed
    this.db.checkpoint();
    return redacted;
  }

  /** Every tenant's events after a global position, in commit order (the log follower's $all). */
  readGlobal(after: number, limit: number): GlobalEntry[] {
    const rows = this.db.prepare(SQL.global).all(after, limit) as (EventRow & { tenant: string; stream_id: string; version: number })[];
    return rows.map((r) => {
      const entry = { position: r.position, tenant: r.tenant, streamId: r.stream_id, version: r.version };
      try {
        return { ...entry, event: toEvent(r) };
      } catch (error) {
        return { ...entry, error };
      }
    });
  }

  /** Deletes idempotency records expired by `now` (an operator's choice: nothing calls it). */
  purgeExpiredIdempotency(now: number): number {
    return Number(this.db.prepare('DELETE FROM idempotency WHERE expires_at <= ?').run(now).changes);
  }

  /** Everything held, as plain JSON (the memory store's shape), so tests can search it for personal data. */
  dump(): unknown {
    type Held = { streams: Record<string, unknown[]>; claims: Record<string, string>; idempotency: Record<string, IdempotencyRecord> };
    const out: Record<string, Held> = {};
    const of = (tenant: string): Held => (out[tenant] ??= { streams: {}, claims: {}, idempotency: {} });
    const rows = (sql: string) => this.db.db.prepare(sql).all() as Record<string, string & number>[];
    for (const r of rows('SELECT tenant, stream_id, event FROM events ORDER BY tenant, stream_id, version'))
      (of(r.tenant!).streams[r.stream_id!] ??= []).push(JSON.parse(r.event!));
    for (const r of rows('SELECT tenant, key, owner FROM claims')) of(r.tenant!).claims[r.key!] = r.owner!;
    for (const r of rows('SELECT tenant, key, payload_hash, expires_at FROM idempotency'))
      of(r.tenant!).idempotency[r.key!] = { key: r.key!, payloadHash: r.payload_hash!, expiresAt: r.expires_at! };
    return out;
  }
}
