import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { Notification } from '../../application/ports/notifier.port.js';
import type { Outbox, OutboxEntry, OutboxRetry } from '../../application/ports/outbox.port.js';

// The engagement outbox in its own table: pk = O#<tenant>, sk = decision id. Pending entries also
// carry `due` (a constant) and `dueAt`, the keys of the sparse index the relay queries for what is
// due; publishing removes them, so the index only ever holds what is still to send. Published
// entries expire (TTL) after a month. Ids and offer only: no personal data is kept here.

export type DynamoDbOutboxOptions = { readonly tableName: string; readonly publishedRetentionMs?: number | undefined };

export const OUTBOX_DUE_INDEX = 'by-due';
const DUE = 'pending';
const MONTH_MS = 30 * 86_400_000;

type Item = Record<string, AttributeValue>;
const S = (v: string) => ({ S: v });
const N = (v: number) => ({ N: String(v) });
const keyOf = (tenant: string, decisionId: string): Item => ({ pk: S(`O#${encodeURIComponent(tenant)}`), sk: S(decisionId) });

const itemOf = (e: OutboxEntry): Item => ({
  ...keyOf(e.tenant, e.decisionId),
  tenant: S(e.tenant),
  customerId: S(e.customerId),
  version: N(e.version),
  eventId: S(e.eventId),
  notification: S(JSON.stringify(e.notification)),
  status: S(e.status),
  confirmed: { BOOL: e.confirmed },
  attempts: N(e.attempts),
  createdAt: N(e.createdAt),
  nextAttemptAt: N(e.nextAttemptAt),
  ...(e.status === 'pending' ? { due: S(DUE), dueAt: N(e.nextAttemptAt) } : {}),
  ...(e.lastError !== undefined ? { lastError: S(e.lastError) } : {}),
});

const num = (a: AttributeValue | undefined): number => Number(a?.N);

export const entryOf = (item: Item): OutboxEntry => ({
  tenant: item.tenant!.S!,
  decisionId: item.sk!.S!,
  customerId: item.customerId!.S!,
  version: num(item.version),
  eventId: item.eventId!.S!,
  notification: JSON.parse(item.notification!.S!) as Notification,
  status: item.status!.S as OutboxEntry['status'],
  confirmed: item.confirmed?.BOOL === true,
  attempts: num(item.attempts),
  createdAt: num(item.createdAt),
  nextAttemptAt: num(item.nextAttemptAt),
  ...(item.publishedAt ? { publishedAt: num(item.publishedAt) } : {}),
  ...(item.lastError?.S !== undefined ? { lastError: item.lastError.S } : {}),
});

/** A condition that did not hold means "nothing to do here" for every write of this adapter. */
const unlessConditionFails = async (write: Promise<unknown>): Promise<boolean> => {
  try {
    await write;
    return true;
  } catch (e) {
    if (e instanceof ConditionalCheckFailedException) return false;
    throw e;
  }
};

export class DynamoDbOutbox implements Outbox {
  private readonly table: string;
  private readonly retentionMs: number;

  constructor(
    private readonly client: DynamoDBClient,
    options: DynamoDbOutboxOptions,
  ) {
    this.table = options.tableName;
    this.retentionMs = options.publishedRetentionMs ?? MONTH_MS;
  }

  stage(entry: OutboxEntry): Promise<boolean> {
    const item = itemOf({ ...entry, status: 'pending', confirmed: false });
    return unlessConditionFails(
      this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk) OR (#status = :pending AND confirmed = :false)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pending': S('pending'), ':false': { BOOL: false } },
        }),
      ),
    );
  }

  async get(tenant: string, decisionId: string): Promise<OutboxEntry | undefined> {
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.table, Key: keyOf(tenant, decisionId), ConsistentRead: true }));
    return Item ? entryOf(Item) : undefined;
  }

  async due(now: number, limit: number): Promise<readonly OutboxEntry[]> {
    const out: OutboxEntry[] = [];
    let start: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: OUTBOX_DUE_INDEX,
          KeyConditionExpression: 'due = :due AND dueAt <= :now',
          ExpressionAttributeValues: { ':due': S(DUE), ':now': N(now) },
          Limit: limit - out.length,
          ExclusiveStartKey: start,
        }),
      );
      out.push(...(page.Items ?? []).map(entryOf));
      start = page.LastEvaluatedKey;
    } while (start && out.length < limit);
    return out;
  }

  async reschedule(tenant: string, decisionId: string, retry: OutboxRetry): Promise<void> {
    await unlessConditionFails(
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: keyOf(tenant, decisionId),
          UpdateExpression: `SET attempts = :a, nextAttemptAt = :next, dueAt = :next, confirmed = :c${retry.lastError !== undefined ? ', lastError = :err' : ''}`,
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':a': N(retry.attempts),
            ':next': N(retry.nextAttemptAt),
            ':c': { BOOL: retry.confirmed },
            ':pending': S('pending'),
            ...(retry.lastError !== undefined ? { ':err': S(retry.lastError) } : {}),
          },
        }),
      ),
    );
  }

  async markPublished(tenant: string, decisionId: string, at: number): Promise<void> {
    await unlessConditionFails(
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: keyOf(tenant, decisionId),
          UpdateExpression: 'SET #status = :published, confirmed = :true, publishedAt = :at, #ttl = :ttl REMOVE due, dueAt',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#status': 'status', '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':published': S('published'),
            ':true': { BOOL: true },
            ':at': N(at),
            ':ttl': N(Math.ceil((at + this.retentionMs) / 1000)),
          },
        }),
      ),
    );
  }

  async discard(tenant: string, decisionId: string, why: 'uncommitted' | 'erased' = 'uncommitted'): Promise<void> {
    await unlessConditionFails(
      this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: keyOf(tenant, decisionId),
          ConditionExpression: why === 'erased' ? '#status = :pending' : '#status = :pending AND confirmed = :false',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: why === 'erased' ? { ':pending': S('pending') } : { ':pending': S('pending'), ':false': { BOOL: false } },
        }),
      ),
    );
  }
}
