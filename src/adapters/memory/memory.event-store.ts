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

type TenantLog = {
  readonly streams: Map<string, StoredEvent[]>;
  readonly claims: Map<string, string>;
  readonly idempotency: Map<string, IdempotencyRecord>;
  /**
   * every event in commit order; an event's position is its index + 1, attached by the first
   * readAll to read it: the entry becomes a copy with its position, which later reads hand out as is
   */
  readonly log: StoredEvent[];
};

// 16 digits hold any safe integer, so string order of positions is numeric order.
const POSITION_DIGITS = 16;
const toPosition = (n: number): string => String(n).padStart(POSITION_DIGITS, '0');
const fromPosition = (p: string): number => {
  if (p.length !== POSITION_DIGITS || !/^\d+$/.test(p)) throw new NotAPosition(p);
  return Number(p);
};

const EMPTY: readonly StoredEvent[] = Object.freeze([]);

/**
 * A plain object (Object.prototype, as `{}`) held as a dictionary from the start: named by stream
 * ids, a `{}` gets a hidden-class transition per id ever committed, which made setting the one
 * property of a commit's `versions` cost more than the rest of the commit's bookkeeping.
 */
const byStreamId = (): Record<string, number> => Object.setPrototypeOf(Object.create(null), Object.prototype) as Record<string, number>;

// Field by field, not a spread: events come in several shapes (with or without pii, messageId),
// and one literal gives every copy the same shape. `satisfies` makes a new StoredEvent field a
// compile error here rather than a field readAll silently drops.
const withPosition = (e: StoredEvent, position: string): StoredEvent =>
  ({
    tenant: e.tenant,
    streamId: e.streamId,
    version: e.version,
    eventId: e.eventId,
    type: e.type,
    v: e.v,
    observedAt: e.observedAt,
    recordedAt: e.recordedAt,
    source: e.source,
    sourcePriority: e.sourcePriority,
    channel: e.channel,
    messageId: e.messageId,
    identifierKeys: e.identifierKeys,
    data: e.data,
    pii: e.pii,
    position,
  }) satisfies { readonly [K in keyof Required<StoredEvent>]: StoredEvent[K] };

/**
 * The whole commit runs in one synchronous turn, so it is atomic against every other call without
 * locks. Events are stored as given, never copied or frozen: this store sits on the benchmark's hot
 * path, where a copy per event to attach its position cost about 40% of a commit. Positions are
 * derived from the log index and attached by readAll, the only reader that needs them, once per
 * event: the log keeps the positioned copy, so reading the log again (every rebuild reads it
 * twice: the views, then the match book's decisions) copies nothing. Streams keep the events as
 * given (readStream and dump are unchanged); readers share the copies, which nobody may change
 * (StoredEvent is readonly), as they always shared the events' data.
 */
export class MemoryEventStore implements EventStore {
  /** the log is one array, appended in commit order */
  readonly logInCommitOrder = true;
  private readonly tenants = new Map<string, TenantLog>();

  constructor(private readonly clock: Clock = { now: Date.now }) {}

  async commit(commit: Commit): Promise<CommitResult> {
    checkCommitLimits(commit);
    checkCommitShape(commit);
    const t = this.tenant(commit.tenant);

    const idem = commit.idempotency;
    if (idem) {
      const stored = t.idempotency.get(idem.key);
      if (stored && stored.expiresAt > this.clock.now()) return { status: 'duplicate', payloadHash: stored.payloadHash };
    }

    let ok = true;
    for (const s of commit.streams) if ((t.streams.get(s.streamId)?.length ?? 0) !== s.expectedVersion) ok = false;
    for (const c of commit.claims) if (!claimHolds(c, t.claims.get(c.key))) ok = false;
    if (!ok) return conflict(t, commit);

    const versions = byStreamId();
    for (const s of commit.streams) {
      let stream = t.streams.get(s.streamId);
      if (!stream) t.streams.set(s.streamId, (stream = []));
      for (const e of s.events) {
        // a position from another store would be meaningless here
        const stored = e.position === undefined ? e : { ...e, position: undefined };
        stream.push(stored);
        t.log.push(stored);
      }
      versions[s.streamId] = stream.length;
    }
    for (const c of commit.claims) {
      if (c.op === 'release') t.claims.delete(c.key);
      else t.claims.set(c.key, c.owner);
    }
    if (idem) t.idempotency.set(idem.key, idem);
    for (const r of commit.alsoRecorded ?? []) t.idempotency.set(r.key, r);
    return { status: 'committed', versions };
  }

  async readStream(tenant: string, streamId: string, afterVersion = 0): Promise<readonly StoredEvent[]> {
    const stream = this.tenants.get(tenant)?.streams.get(streamId);
    // versions are gapless from 1, so version v sits at index v - 1
    return stream && afterVersion < stream.length ? stream.slice(Math.max(0, afterVersion)) : EMPTY;
  }

  async readClaims(tenant: string, keys: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const claims = this.tenants.get(tenant)?.claims;
    const found = new Map<string, string>();
    if (!claims) return found;
    for (const key of keys) {
      const owner = claims.get(key);
      if (owner !== undefined) found.set(key, owner);
    }
    return found;
  }

  async readAll(tenant: string, options: { readonly after?: string | undefined; readonly limit: number }): Promise<ReadAllPage> {
    if (!(options.limit >= 1)) throw new Error(`readAll limit must be at least 1, got ${options.limit}`);
    const log = this.tenants.get(tenant)?.log;
    if (!log) return { events: EMPTY };
    const start = options.after === undefined ? 0 : fromPosition(options.after);
    const end = Math.min(log.length, start + options.limit);
    const events: StoredEvent[] = new Array(Math.max(0, end - start));
    for (let i = start; i < end; i++) {
      let e = log[i]!;
      // commit stores no event with a position, so one here is this store's, attached before
      if (e.position === undefined) log[i] = e = withPosition(e, toPosition(i + 1));
      events[i - start] = e;
    }
    const more = start + events.length < log.length;
    return more ? { events, next: toPosition(start + events.length) } : { events };
  }

  async readLast(tenant: string, limit: number): Promise<readonly StoredEvent[]> {
    if (!(limit >= 1)) throw new Error(`readLast limit must be at least 1, got ${limit}`);
    const log = this.tenants.get(tenant)?.log;
    if (!log) return EMPTY;
    const start = Math.max(0, log.length - Math.ceil(limit));
    const events: StoredEvent[] = [];
    for (let i = start; i < log.length; i++) {
      let e = log[i]!;
      if (e.position === undefined) log[i] = e = withPosition(e, toPosition(i + 1));
      events.push(e);
    }
    return events;
  }

  async getIdempotency(tenant: string, key: string, now: number): Promise<IdempotencyRecord | undefined> {
    const record = this.tenants.get(tenant)?.idempotency.get(key);
    return record && record.expiresAt > now ? record : undefined;
  }

  async redactPii(tenant: string, streamId: string, eventIds: readonly string[]): Promise<number> {
    const t = this.tenants.get(tenant);
    const stream = t?.streams.get(streamId);
    if (!t || !stream) return 0;
    const wanted = new Set(eventIds);
    let redacted = 0;
    stream.forEach((e, i) => {
      if (!wanted.has(e.eventId) || e.pii === undefined) return;
      // a new object in the stream and the log alike: the one stored may be the caller's. The log
      // may hold the event itself or, once readAll has read it, its positioned copy
      const { pii: _gone, ...kept } = e;
      stream[i] = kept;
      const at = t.log.findLastIndex((x) => x === e || (x.eventId === e.eventId && x.streamId === streamId));
      if (at >= 0) {
        const logged = t.log[at]!;
        t.log[at] = logged.position === undefined ? kept : withPosition(kept, logged.position);
      }
      redacted++;
    });
    return redacted;
  }

  /** Everything held, as plain JSON, so tests can search it for personal data. */
  dump(): unknown {
    const out: Record<string, unknown> = {};
    for (const [tenant, t] of this.tenants) {
      out[tenant] = {
        streams: Object.fromEntries(t.streams),
        claims: Object.fromEntries(t.claims),
        idempotency: Object.fromEntries(t.idempotency),
      };
    }
    return JSON.parse(JSON.stringify(out));
  }

  private tenant(tenant: string): TenantLog {
    let t = this.tenants.get(tenant);
    if (!t) this.tenants.set(tenant, (t = { streams: new Map(), claims: new Map(), idempotency: new Map(), log: [] }));
    return t;
  }
}

const conflict = (t: TenantLog, commit: Commit): CommitResult => {
  const streams: Record<string, number> = {};
  const claims: Record<string, string | null> = {};
  for (const s of commit.streams) streams[s.streamId] = t.streams.get(s.streamId)?.length ?? 0;
  for (const c of commit.claims) claims[c.key] = t.claims.get(c.key) ?? null;
  return { status: 'conflict', current: { streams, claims } };
};
