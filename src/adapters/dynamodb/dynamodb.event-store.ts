import {
  ConditionalCheckFailedException,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactionInProgressException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type CancellationReason,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { checkCommitLimits, checkCommitShape } from '../../application/ports/commit-checks.js';
import type {
  Commit,
  CommitResult,
  EventStore,
  IdempotencyRecord,
  ReadAllOptions,
  ReadAllPage,
  StoredEvent,
} from '../../application/ports/event-store.port.js';
import type { Clock } from '../../application/ports/runtime.port.js';
import { batchGet } from './dynamodb.batch-get.js';
import { backoff } from './dynamodb.client.js';
import { DYNAMO_TRANSACTION_BYTES, DYNAMO_TRANSACTION_ITEMS, planCommit, type CommitPlan, type Role } from './dynamodb.commit-plan.js';
import { readCancellation } from './dynamodb.conflict.js';
import { claimPk, fromEventItem, idempotencyPk, positionTime, streamPk, type Item } from './dynamodb.event-item.js';
import { PointReads } from './dynamodb.point-reads.js';
import { readAllByCommit, type ReadAllProgress } from './dynamodb.read-all.js';
import { sendGroup, type GroupIo, type GroupMember } from './dynamodb.transact-group.js';
import { GroupScheduler } from './dynamodb.write-groups.js';
import { CommitStamps, KnownVersions } from './dynamodb.writer-state.js';

// The event store on one DynamoDB table (item shapes in dynamodb.event-item.ts). A commit of one
// event to one stream, with no claim and no idempotency record, is one conditional PutItem;
// anything else is one TransactWriteItems, so a commit is all or nothing. Conflicts are read from
// the failed conditions' old items (ALL_OLD); only what they leave open is read afterwards.
//
// Group commit: the commits of one event-loop turn (a /v1/batch decides its calls concurrently)
// go out together, up to 100 items per TransactWriteItems (dynamodb.write-groups.ts decides who
// shares a transaction, dynamodb.transact-group.ts sends it and answers each member); a commit
// arriving alone takes the path above. Idempotency and claim reads of one turn, and the probes
// that find a stream has nothing to read, are coalesced into BatchGetItem calls
// (dynamodb.point-reads.ts).

export type DynamoDbEventStoreOptions = {
  readonly tableName: string;
  /** decides whether an idempotency record has expired, like the memory store's clock */
  readonly clock?: Clock | undefined;
  /** how often a transaction cancelled only by concurrent transactions or throttling is sent again */
  readonly transientRetries?: number | undefined;
  /**
   * commits and point reads of one turn go together (default); after a turn that brought more
   * than one, wait up to windowMs (default 2) for more. false: every call on its own
   */
  readonly grouping?: false | { readonly windowMs?: number | undefined } | undefined;
  /**
   * The settle horizon (default 60 s): how long after its stamp a commit may still become visible
   * in the log's index. A commit's position is stamped (by the writer's wall clock) before it is
   * sent and kept through its retries, and the index is eventually consistent, so commits show up
   * out of position order; `readAll({ settled: true })` reads only what is older than this, and a
   * commit that returns later than this after its stamp is reported through `onLate`.
   */
  readonly settleMs?: number | undefined;
  /** a commit that returned more than settleMs after its position was stamped (default: a warning line on stderr) */
  readonly onLate?: ((late: LateCommit) => void) | undefined;
};

/** A commit that became visible later than the settle horizon: a follower may have passed its position. */
export type LateCommit = {
  readonly tenant: string;
  /** the commit's stamp: each of its events' positions starts with it */
  readonly stamp: string;
  readonly lateByMs: number;
  readonly streams: readonly string[];
};

export const DEFAULT_SETTLE_MS = 60_000;

const warnLate = (late: LateCommit): void =>
  console.warn(
    JSON.stringify({
      level: 'warn',
      msg: 'a commit returned after the log settle horizon: a lake following the log may have passed it (c360 lake-rebuild writes it in)',
      ...late,
    }),
  );

type Owners = ReadonlyMap<string, string | null | undefined>;
type Planned = Extract<CommitPlan, { kind: 'put' | 'transact' }>;
/** a commit waiting for its group: its items, and the role of each (its cancellation reasons are read by role) */
type Member = GroupMember<CommitResult> & { readonly commit: Commit; readonly plan: Planned; readonly now: number; readonly roles: readonly Role[] };

const S = (v: string) => ({ S: v });
const N = (v: number) => ({ N: String(v) });
/** what claim and idempotency reads need (KEY and OWNER are reserved words) */
const POINT_READ = { ProjectionExpression: 'pk, sk, #k, #o, payloadHash, expiresAt', ExpressionAttributeNames: { '#k': 'key', '#o': 'owner' } };

export class DynamoDbEventStore implements EventStore {
  private readonly table: string;
  private readonly clock: Clock;
  private readonly transientRetries: number;
  private readonly stamps = new CommitStamps();
  /** see DynamoDbEventStoreOptions.settleMs */
  readonly settleMs: number;
  private readonly onLate: (late: LateCommit) => void;
  private readonly known = new KnownVersions();
  /** undefined: grouping is off */
  private readonly groups: GroupScheduler<Member> | undefined;
  private readonly reads: PointReads;

  constructor(
    private readonly client: DynamoDBClient,
    options: DynamoDbEventStoreOptions,
  ) {
    this.table = options.tableName;
    this.clock = options.clock ?? { now: Date.now };
    this.transientRetries = options.transientRetries ?? 5;
    this.settleMs = Math.max(0, options.settleMs ?? DEFAULT_SETTLE_MS);
    this.onLate = options.onLate ?? warnLate;
    const grouping = options.grouping === false ? undefined : { windowMs: options.grouping?.windowMs ?? 2 };
    this.reads = new PointReads(client, this.table, { projection: POINT_READ, windowMs: grouping?.windowMs, coalesce: grouping !== undefined });
    const io: GroupIo<Member, CommitResult> = {
      send: async (items, token) => void (await this.client.send(new TransactWriteItemsCommand({ TransactItems: [...items], ClientRequestToken: token }))),
      single: (m) => this.single(m.commit, m.plan, m.now),
      answer: (m, reasons) => this.answer(m, reasons),
      written: (m) => this.committed(m.commit),
      transientRetries: this.transientRetries,
    };
    this.groups =
      grouping &&
      new GroupScheduler<Member>((group) => sendGroup(group, io), { ...grouping, maxItems: DYNAMO_TRANSACTION_ITEMS, maxBytes: DYNAMO_TRANSACTION_BYTES });
  }

  /** groups of commits sent so far (undefined when grouping is off) */
  get groupStats(): { readonly groups: number; readonly members: number; readonly largestGroup: number } | undefined {
    return this.groups?.stats;
  }

  /** coalesced point reads so far: batches sent and the reads they answered */
  get readStats(): { readonly batches: number; readonly reads: number } {
    return this.reads.stats;
  }

  async commit(commit: Commit): Promise<CommitResult> {
    checkCommitLimits(commit);
    checkCommitShape(commit);
    const stamp = this.stamps.next();
    const result = await this.commitStamped(commit, stamp);
    if (result.status === 'committed' && commit.streams.some((s) => s.events.length > 0)) {
      const lateByMs = Date.now() - positionTime(stamp) - this.settleMs;
      if (lateByMs > 0) this.onLate({ tenant: commit.tenant, stamp, lateByMs, streams: commit.streams.map((s) => s.streamId) });
    }
    return result;
  }

  private async commitStamped(commit: Commit, stamp: string): Promise<CommitResult> {
    const now = this.clock.now();
    const plan = planCommit(commit, this.table, stamp, now, (i) =>
      this.known.proves(commit.tenant, commit.streams[i]!.streamId, commit.streams[i]!.expectedVersion),
    );
    if (plan.kind === 'empty') return this.committed(commit);
    const groups = this.groups;
    if (!groups) return this.single(commit, plan, now);
    // a plain put joins a group as the same conditional put, one item whose role is its event
    const { items, roles } =
      plan.kind === 'put'
        ? {
            items: [{ Put: plan.input as NonNullable<TransactWriteItem['Put']> }],
            roles: [{ kind: 'event' as const, stream: 0, version: commit.streams[0]!.events[0]!.version }],
          }
        : plan;
    const identity = plan.kind === 'put' ? plan.gsk : plan.token(0);
    return new Promise<CommitResult>((resolve, reject) =>
      groups.submit({
        commit,
        plan,
        now,
        roles,
        items,
        identity,
        resolve,
        reject,
        touched: plan.touched,
        size: items.length,
        bytes: plan.bytes,
        solo: plan.kind === 'transact' && plan.precheck.length > 0,
      }),
    );
  }

  /** One commit on its own: a conditional PutItem or one TransactWriteItems. */
  private single(commit: Commit, plan: Planned, now: number): Promise<CommitResult> {
    return plan.kind === 'put' ? this.put(commit, plan) : this.transact(commit, plan, now);
  }

  /** A grouped commit whose own condition failed: the answer it would have had alone. */
  private async answer(m: Member, reasons: readonly CancellationReason[]): Promise<CommitResult> {
    const cancelled = readCancellation(m.commit, m.roles, reasons, m.now);
    if (cancelled.kind === 'duplicate') return { status: 'duplicate', payloadHash: cancelled.payloadHash };
    if (cancelled.kind === 'conflict') return this.conflict(m.commit, cancelled.streams, cancelled.claims);
    return this.single(m.commit, m.plan, m.now);
  }

  private async put(commit: Commit, plan: Extract<Planned, { kind: 'put' }>): Promise<CommitResult> {
    try {
      await this.client.send(new PutItemCommand(plan.input));
      return this.committed(commit);
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      // our own item: an attempt was applied, its response lost, and the SDK sent it again
      if (e.Item?.gsk?.S === plan.gsk) return this.committed(commit);
      return this.conflict(commit, [undefined], new Map());
    }
  }

  private async transact(commit: Commit, plan: Extract<Planned, { kind: 'transact' }>, now: number): Promise<CommitResult> {
    if (plan.precheck.length > 0) {
      const keys = plan.precheck.map((i) => ({ pk: S(streamPk(commit.tenant, commit.streams[i]!.streamId)), sk: N(commit.streams[i]!.expectedVersion) }));
      if ((await batchGet(this.client, this.table, keys)).length < keys.length) return this.unknownConflict(commit, now);
    }
    for (let attempt = 0, inProgress = 0; ; ) {
      try {
        // the token makes the SDK's own retries of this attempt idempotent (a lost response is not a conflict)
        await this.client.send(new TransactWriteItemsCommand({ TransactItems: [...plan.items], ClientRequestToken: plan.token(attempt) }));
        return this.committed(commit);
      } catch (e) {
        if (e instanceof TransactionInProgressException && inProgress++ < this.transientRetries) {
          await backoff(inProgress, 50); // the same token is still being applied: wait for it, then ask again
          continue;
        }
        if (!(e instanceof TransactionCanceledException)) throw e;
        const cancelled = readCancellation(commit, plan.roles, e.CancellationReasons, now);
        if (cancelled.kind === 'duplicate') return { status: 'duplicate', payloadHash: cancelled.payloadHash };
        if (cancelled.kind === 'conflict') return this.conflict(commit, cancelled.streams, cancelled.claims);
        // nothing failed a condition, so nothing was written: a new token, after a pause
        if (++attempt > this.transientRetries) return this.unknownConflict(commit, now);
        await backoff(attempt);
      }
    }
  }

  private committed(commit: Commit): CommitResult {
    const versions: Record<string, number> = {};
    for (const s of commit.streams) {
      versions[s.streamId] = s.expectedVersion + s.events.length;
      this.known.saw(commit.tenant, s.streamId, versions[s.streamId]!);
    }
    return { status: 'committed', versions };
  }

  /** The conflict with every open stream version and claim owner read, consistently. */
  private async conflict(commit: Commit, streams: readonly (number | undefined)[], owners: Owners): Promise<CommitResult> {
    const unknownKeys = commit.claims.filter((c) => owners.get(c.key) === undefined).map((c) => c.key);
    const [versions, read] = await Promise.all([
      Promise.all(commit.streams.map((s, i) => streams[i] ?? this.currentVersion(commit.tenant, s.streamId))),
      unknownKeys.length ? this.readClaims(commit.tenant, unknownKeys) : new Map<string, string>(),
    ]);
    const current = { streams: {} as Record<string, number>, claims: {} as Record<string, string | null> };
    commit.streams.forEach((s, i) => {
      current.streams[s.streamId] = versions[i]!;
      this.known.saw(commit.tenant, s.streamId, versions[i]!);
    });
    for (const c of commit.claims) current.claims[c.key] = owners.get(c.key) ?? read.get(c.key) ?? null;
    return { status: 'conflict', current };
  }

  /** Nothing learnt from the attempt: answer as the memory store would, idempotency first. */
  private async unknownConflict(commit: Commit, now: number): Promise<CommitResult> {
    const recorded = commit.idempotency && (await this.getIdempotency(commit.tenant, commit.idempotency.key, now));
    if (recorded) return { status: 'duplicate', payloadHash: recorded.payloadHash };
    return this.conflict(commit, [], new Map());
  }

  /**
   * The stream's last version: one consistent Query, newest first, one item. Only conflicts need
   * it, and only when every put of the stream failed (the old items then say "at least", not "at").
   */
  private async currentVersion(tenant: string, streamId: string): Promise<number> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': S(streamPk(tenant, streamId)) },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
        ProjectionExpression: 'sk',
      }),
    );
    return Number(out.Items?.[0]?.sk?.N ?? 0);
  }

  async readStream(tenant: string, streamId: string, afterVersion = 0): Promise<readonly StoredEvent[]> {
    // Versions have no gaps, so a stream with no event at afterVersion + 1 has nothing to read. A
    // new customer's stream (every first call loads one) or one that has not moved is answered by
    // a probe coalesced with the turn's other reads, instead of a Query of its own.
    if (this.groups && !this.known.proves(tenant, streamId, afterVersion + 1)) {
      const [next] = await this.reads.read([{ pk: S(streamPk(tenant, streamId)), sk: N(afterVersion + 1) }]);
      if (!next) return [];
    }
    const events: StoredEvent[] = [];
    let start: Item | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk > :after',
          ExpressionAttributeValues: { ':pk': S(streamPk(tenant, streamId)), ':after': N(afterVersion) },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) events.push(fromEventItem(item));
      start = out.LastEvaluatedKey;
    } while (start);
    if (events.length) this.known.saw(tenant, streamId, events.at(-1)!.version);
    return events;
  }

  /**
   * Finds the named events' versions (a Query of the stream's keys and ids), then removes each one's
   * pii attribute with an UpdateItem conditioned on the item being that event and still holding
   * pii: it can never create an item, and a repeat changes nothing. The MODIFY stream record it
   * makes reaches the projector as a version it has applied, and is skipped there.
   */
  async redactPii(tenant: string, streamId: string, eventIds: readonly string[]): Promise<number> {
    const wanted = new Set(eventIds);
    if (wanted.size === 0) return 0;
    const pk = S(streamPk(tenant, streamId));
    const found: { readonly version: number; readonly eventId: string }[] = [];
    let start: Item | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          FilterExpression: 'attribute_exists(pii)',
          ProjectionExpression: 'sk, eventId',
          ExpressionAttributeValues: { ':pk': pk },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) {
        const id = item.eventId?.S;
        if (id !== undefined && wanted.has(id)) found.push({ version: Number(item.sk!.N), eventId: id });
      }
      start = out.LastEvaluatedKey;
    } while (start);
    let redacted = 0;
    for (const e of found) {
      try {
        await this.client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: { pk, sk: N(e.version) },
            UpdateExpression: 'REMOVE pii',
            ConditionExpression: 'attribute_exists(pk) AND eventId = :id AND attribute_exists(pii)',
            ExpressionAttributeValues: { ':id': S(e.eventId) },
          }),
        );
        redacted++;
      } catch (err) {
        // redacted since the query (another run): nothing left to do
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
    }
    return redacted;
  }

  async readClaims(tenant: string, keys: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const unique = [...new Set(keys)];
    const items = await this.reads.read(unique.map((k) => ({ pk: S(claimPk(tenant, k)), sk: N(0) })));
    const owners = new Map<string, string>();
    unique.forEach((k, i) => {
      const owner = items[i]?.owner?.S;
      if (owner !== undefined) owners.set(k, owner);
    });
    return owners;
  }

  /** with `settled`, only events stamped more than settleMs ago (by this process's wall clock, as stamps are) */
  readAll(tenant: string, options: ReadAllOptions): Promise<ReadAllPage> {
    const { settled, ...rest } = options;
    return readAllByCommit(this.client, this.table, tenant, settled ? { ...rest, before: Date.now() - this.settleMs } : rest);
  }

  /** readAll, also saying how far through the log the page reached (for rebuild progress). */
  readAllWithProgress(
    tenant: string,
    options: { readonly after?: string | undefined; readonly limit: number; readonly onProgress: (p: ReadAllProgress) => void },
  ): Promise<ReadAllPage> {
    return readAllByCommit(this.client, this.table, tenant, options);
  }

  async getIdempotency(tenant: string, key: string, now: number): Promise<IdempotencyRecord | undefined> {
    const [item] = await this.reads.read([{ pk: S(idempotencyPk(tenant, key)), sk: N(0) }]);
    const expiresAt = Number(item?.expiresAt?.N);
    const payloadHash = item?.payloadHash?.S;
    // DynamoDB's TTL deletes within days, not at expiry: the expiry check is ours
    return payloadHash !== undefined && expiresAt > now ? { key, payloadHash, expiresAt } : undefined;
  }
}
