import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactionInProgressException,
  TransactWriteItemsCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { checkCommitLimits, checkCommitShape } from '../../application/ports/commit-checks.js';
import type { Commit, CommitResult, EventStore, IdempotencyRecord, ReadAllPage, StoredEvent } from '../../application/ports/event-store.port.js';
import type { Clock } from '../../application/ports/runtime.port.js';
import { batchGet } from './dynamodb.batch-get.js';
import { backoff } from './dynamodb.client.js';
import { planCommit, type CommitPlan } from './dynamodb.commit-plan.js';
import { readCancellation } from './dynamodb.conflict.js';
import { claimPk, fromEventItem, idempotencyPk, streamPk, type Item } from './dynamodb.event-item.js';
import { readAllByCommit, type ReadAllProgress } from './dynamodb.read-all.js';
import { CommitStamps, KnownVersions } from './dynamodb.writer-state.js';

// The event store on one DynamoDB table (item shapes in dynamodb.event-item.ts). A commit of one
// event to one stream, with no claim and no idempotency record, is one conditional PutItem;
// anything else is one TransactWriteItems, so a commit is all or nothing. Conflicts are read from
// the failed conditions' old items (ALL_OLD); only what they leave open is read afterwards.

export type DynamoDbEventStoreOptions = {
  readonly tableName: string;
  /** decides whether an idempotency record has expired, like the memory store's clock */
  readonly clock?: Clock | undefined;
  /** how often a transaction cancelled only by concurrent transactions or throttling is sent again */
  readonly transientRetries?: number | undefined;
};

type Owners = ReadonlyMap<string, string | null | undefined>;

const S = (v: string) => ({ S: v });
const N = (v: number) => ({ N: String(v) });

export class DynamoDbEventStore implements EventStore {
  private readonly table: string;
  private readonly clock: Clock;
  private readonly transientRetries: number;
  private readonly stamps = new CommitStamps();
  private readonly known = new KnownVersions();

  constructor(
    private readonly client: DynamoDBClient,
    options: DynamoDbEventStoreOptions,
  ) {
    this.table = options.tableName;
    this.clock = options.clock ?? { now: Date.now };
    this.transientRetries = options.transientRetries ?? 5;
  }

  async commit(commit: Commit): Promise<CommitResult> {
    checkCommitLimits(commit);
    checkCommitShape(commit);
    const now = this.clock.now();
    const plan = planCommit(commit, this.table, this.stamps.next(), now, (i) => this.known.proves(commit.tenant, commit.streams[i]!.streamId, commit.streams[i]!.expectedVersion));
    switch (plan.kind) {
      case 'empty':
        return this.committed(commit);
      case 'put':
        return this.put(commit, plan);
      case 'transact':
        return this.transact(commit, plan, now);
    }
  }

  private async put(commit: Commit, plan: Extract<CommitPlan, { kind: 'put' }>): Promise<CommitResult> {
    try {
      await this.client.send(new PutItemCommand(plan.input));
      return this.committed(commit);
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      // our own item: an attempt was applied, its response lost, and the SDK sent it again
      if (e.Item?.['gsk']?.S === plan.gsk) return this.committed(commit);
      return this.conflict(commit, [undefined], new Map());
    }
  }

  private async transact(commit: Commit, plan: Extract<CommitPlan, { kind: 'transact' }>, now: number): Promise<CommitResult> {
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
    return Number(out.Items?.[0]?.['sk']?.N ?? 0);
  }

  async readStream(tenant: string, streamId: string, afterVersion = 0): Promise<readonly StoredEvent[]> {
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

  async readClaims(tenant: string, keys: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const unique = [...new Set(keys)].map((k) => ({ pk: S(claimPk(tenant, k)), sk: N(0) }));
    const items = await batchGet(this.client, this.table, unique, { projection: { ProjectionExpression: '#k, #o', ExpressionAttributeNames: { '#k': 'key', '#o': 'owner' } } });
    return new Map(items.map((item) => [item['key']!.S!, item['owner']!.S!]));
  }

  readAll(tenant: string, options: { readonly after?: string | undefined; readonly limit: number }): Promise<ReadAllPage> {
    return readAllByCommit(this.client, this.table, tenant, options);
  }

  /** readAll, also saying how far through the log the page reached (for rebuild progress). */
  readAllWithProgress(tenant: string, options: { readonly after?: string | undefined; readonly limit: number; readonly onProgress: (p: ReadAllProgress) => void }): Promise<ReadAllPage> {
    return readAllByCommit(this.client, this.table, tenant, options);
  }

  async getIdempotency(tenant: string, key: string, now: number): Promise<IdempotencyRecord | undefined> {
    const { Item: item } = await this.client.send(new GetItemCommand({ TableName: this.table, Key: { pk: S(idempotencyPk(tenant, key)), sk: N(0) }, ConsistentRead: true }));
    const expiresAt = Number(item?.['expiresAt']?.N);
    const payloadHash = item?.['payloadHash']?.S;
    // DynamoDB's TTL deletes within days, not at expiry: the expiry check is ours
    return payloadHash !== undefined && expiresAt > now ? { key, payloadHash, expiresAt } : undefined;
  }
}
