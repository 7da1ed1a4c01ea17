import type {
  ClaimOp,
  Commit,
  CommitResult,
  EventStore,
  IdempotencyRecord,
  ReadAllPage,
  StoredEvent,
} from '../../application/ports/event-store.port.js';
import { COMMIT_LIMITS } from '../../application/ports/event-store.port.js';
import type { Clock } from '../../application/ports/runtime.port.js';
import { DomainError } from '../../domain/shared/errors.js';

type TenantLog = {
  readonly streams: Map<string, StoredEvent[]>;
  readonly claims: Map<string, string>;
  readonly idempotency: Map<string, IdempotencyRecord>;
  /** every event in commit order; an event's position is its index + 1 */
  readonly log: StoredEvent[];
};

// 16 digits hold any safe integer, so string order of positions is numeric order.
const POSITION_DIGITS = 16;
const toPosition = (n: number): string => String(n).padStart(POSITION_DIGITS, '0');
const fromPosition = (p: string): number => {
  if (p.length !== POSITION_DIGITS || !/^\d+$/.test(p)) throw new Error(`not a position of this store: ${p}`);
  return Number(p);
};

const EMPTY: readonly StoredEvent[] = Object.freeze([]);

/**
 * The whole commit runs in one synchronous turn, so it is atomic against every other call without
 * locks. Stored events are kept as given plus their position (one shallow copy each), never frozen
 * or deep-copied: this store sits on the benchmark's hot path.
 */
export class MemoryEventStore implements EventStore {
  private readonly tenants = new Map<string, TenantLog>();

  constructor(private readonly clock: Clock = { now: Date.now }) {}

  async commit(commit: Commit): Promise<CommitResult> {
    checkCommitLimits(commit);
    checkShape(commit);
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

    const versions: Record<string, number> = {};
    for (const s of commit.streams) {
      let stream = t.streams.get(s.streamId);
      if (!stream) t.streams.set(s.streamId, (stream = []));
      for (const e of s.events) {
        const stored = { ...e, position: toPosition(t.log.length + 1) };
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
    const events = log.slice(start, start + options.limit);
    const more = start + events.length < log.length;
    return more ? { events, next: events[events.length - 1]!.position } : { events };
  }

  async getIdempotency(tenant: string, key: string, now: number): Promise<IdempotencyRecord | undefined> {
    const record = this.tenants.get(tenant)?.idempotency.get(key);
    return record && record.expiresAt > now ? record : undefined;
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

const claimHolds = (c: ClaimOp, owner: string | undefined): boolean => {
  switch (c.op) {
    case 'claim':
      return owner === undefined;
    case 'release':
      return owner === undefined || owner === c.expectedOwner;
    case 'transfer':
      return owner === c.expectedOwner;
  }
};

const conflict = (t: TenantLog, commit: Commit): CommitResult => {
  const streams: Record<string, number> = {};
  const claims: Record<string, string | null> = {};
  for (const s of commit.streams) streams[s.streamId] = t.streams.get(s.streamId)?.length ?? 0;
  for (const c of commit.claims) claims[c.key] = t.claims.get(c.key) ?? null;
  return { status: 'conflict', current: { streams, claims } };
};

/** Malformed commits are bugs in the caller, not conflicts: fail loudly. */
const checkShape = (commit: Commit): void => {
  const seen = new Set<string>();
  for (const s of commit.streams) {
    if (seen.has(s.streamId)) throw new Error(`commit appends to stream ${s.streamId} twice`);
    seen.add(s.streamId);
    if (!Number.isInteger(s.expectedVersion) || s.expectedVersion < 0) throw new Error(`stream ${s.streamId}: bad expectedVersion ${s.expectedVersion}`);
    let version = s.expectedVersion;
    for (const e of s.events) {
      version++;
      if (e.version !== version) throw new Error(`stream ${s.streamId}: event ${e.eventId} has version ${e.version}, expected ${version}`);
      if (e.streamId !== s.streamId) throw new Error(`stream ${s.streamId}: event ${e.eventId} belongs to stream ${e.streamId}`);
      if (e.tenant !== commit.tenant) throw new Error(`stream ${s.streamId}: event ${e.eventId} belongs to tenant ${e.tenant}, not ${commit.tenant}`);
    }
  }
  if (commit.claims.length > 1) {
    const keys = new Set<string>();
    for (const c of commit.claims) {
      if (keys.has(c.key)) throw new Error(`commit touches claim ${c.key} twice`);
      keys.add(c.key);
    }
  }
};

const tooLarge = (message: string, path: readonly (string | number)[], details: Record<string, unknown>): DomainError =>
  new DomainError('COMMIT_TOO_LARGE', `${message}; split the call or trim its payload`, path, details);

// UTF-8 bytes, as DynamoDB counts them; the native count only runs when the string could be too big.
const jsonBytes = (value: unknown, limit: number): number => {
  const json = JSON.stringify(value) ?? '';
  return json.length * 3 <= limit ? json.length : Buffer.byteLength(json, 'utf8');
};

/** Every adapter enforces DynamoDB's transaction limits, so a commit that fits one store fits all. */
const checkCommitLimits = (commit: Commit): void => {
  let items = commit.claims.length + (commit.idempotency ? 1 : 0);
  for (const s of commit.streams) items += s.events.length;
  if (items > COMMIT_LIMITS.maxItems) throw tooLarge(`commit has ${items} items, the limit is ${COMMIT_LIMITS.maxItems}`, ['streams'], { items, limit: COMMIT_LIMITS.maxItems });

  let total = commit.claims.length > 0 ? jsonBytes(commit.claims, COMMIT_LIMITS.maxBytes) : 0;
  if (commit.idempotency) total += jsonBytes(commit.idempotency, COMMIT_LIMITS.maxItemBytes);
  for (let i = 0; i < commit.streams.length; i++) {
    const events = commit.streams[i]!.events;
    for (let j = 0; j < events.length; j++) {
      const bytes = jsonBytes(events[j], COMMIT_LIMITS.maxItemBytes);
      if (bytes > COMMIT_LIMITS.maxItemBytes)
        throw tooLarge(`event ${events[j]!.eventId} is ${bytes} bytes, the limit is ${COMMIT_LIMITS.maxItemBytes}`, ['streams', i, 'events', j], { bytes, limit: COMMIT_LIMITS.maxItemBytes });
      total += bytes;
    }
  }
  if (total > COMMIT_LIMITS.maxBytes) throw tooLarge(`commit is ${total} bytes, the limit is ${COMMIT_LIMITS.maxBytes}`, ['streams'], { bytes: total, limit: COMMIT_LIMITS.maxBytes });
};
