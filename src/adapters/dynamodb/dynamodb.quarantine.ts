import { gunzipSync, gzipSync } from 'node:zlib';
import {
  DeleteItemCommand,
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { queryPage } from './dynamodb.client.js';
import {
  quarantinePayloadJson,
  type Quarantine,
  type QuarantineEntry,
  type QuarantinePage,
  type QuarantineRewrite,
} from '../../application/ports/quarantine.port.js';
import type { Clock } from '../../application/ports/runtime.port.js';

// Quarantined payloads in their own table, pk = T#<tenant>, sk = entry id. Ids are UUIDv7, so the
// sort key order is arrival order and any id is a valid cursor. Every item carries `ttl` (epoch
// seconds) for DynamoDB TTL; deletion by TTL lags (and DynamoDB Local may never do it), so reads
// skip expired items themselves. The raw payload is one string attribute, `payload`, so a cipher
// can wrap it whole; a payload too big for a 400 KB item is stored gzipped (payloadEncoding).

export type DynamoDbQuarantineOptions = {
  readonly tableName: string;
  /** how long an entry is kept after it was quarantined; default 30 days */
  readonly retentionMs?: number | undefined;
  readonly clock?: Clock | undefined;
};

export const DEFAULT_QUARANTINE_RETENTION_MS = 30 * 24 * 3_600_000;
/** leaves room for the other attributes under DynamoDB's 400 KB item limit */
const PLAIN_PAYLOAD_MAX_BYTES = 300_000;

type Item = Record<string, AttributeValue>;
const S = (v: string) => ({ S: v });
const N = (v: number) => ({ N: String(v) });
const tenantPk = (tenant: string): string => `T#${tenant}`;

const encodePayload = (payload: unknown): Item => {
  const json = quarantinePayloadJson(payload);
  if (json === undefined) return {};
  if (Buffer.byteLength(json, 'utf8') <= PLAIN_PAYLOAD_MAX_BYTES) return { payload: S(json) };
  return { payload: S(gzipSync(json).toString('base64')), payloadEncoding: S('gzip+base64') };
};

const decodePayload = (item: Item): unknown => {
  const stored = item.payload?.S;
  if (stored === undefined) return undefined;
  return JSON.parse(item.payloadEncoding?.S === 'gzip+base64' ? gunzipSync(Buffer.from(stored, 'base64')).toString('utf8') : stored);
};

const toEntry = (item: Item): QuarantineEntry => {
  const replayedAt = item.replayedAt?.N;
  return {
    id: item.sk!.S!,
    tenant: item.tenant!.S!,
    receivedAt: Number(item.receivedAt!.N),
    source: item.source!.S!,
    reason: JSON.parse(item.reason!.S!),
    payload: decodePayload(item),
    status: item.status!.S === 'replayed' ? 'replayed' : 'pending',
    ...(replayedAt === undefined ? {} : { replayedAt: Number(replayedAt) }),
    ...(item.matchKeys?.SS ? { matchKeys: [...item.matchKeys.SS].sort() } : {}),
    ...(item.intake?.S === undefined ? {} : { intake: item.intake.S }),
  };
};

export class DynamoDbQuarantine implements Quarantine {
  private readonly table: string;
  private readonly retentionMs: number;
  private readonly clock: Clock;

  constructor(
    private readonly client: DynamoDBClient,
    options: DynamoDbQuarantineOptions,
  ) {
    this.table = options.tableName;
    this.retentionMs = options.retentionMs ?? DEFAULT_QUARANTINE_RETENTION_MS;
    if (!(this.retentionMs > 0)) throw new Error(`quarantine retention must be a positive number of milliseconds, got ${this.retentionMs}`);
    this.clock = options.clock ?? { now: () => Date.now() };
  }

  async put(entry: QuarantineEntry): Promise<void> {
    const item: Item = {
      pk: S(tenantPk(entry.tenant)),
      sk: S(entry.id),
      tenant: S(entry.tenant),
      receivedAt: N(entry.receivedAt),
      source: S(entry.source),
      reason: S(JSON.stringify(entry.reason)),
      ...encodePayload(entry.payload),
      status: S(entry.status),
      ...(entry.intake === undefined ? {} : { intake: S(entry.intake) }),
      ...(entry.replayedAt === undefined ? {} : { replayedAt: N(entry.replayedAt) }),
      // keyed hashes only (a string set cannot be empty)
      ...(entry.matchKeys?.length ? { matchKeys: { SS: [...new Set(entry.matchKeys)] } } : {}),
      // retention runs from the time it was quarantined, not from the (client-set) receivedAt
      ttl: N(Math.floor((this.clock.now() + this.retentionMs) / 1000)),
    };
    await this.client.send(new PutItemCommand({ TableName: this.table, Item: item }));
  }

  async get(tenant: string, id: string): Promise<QuarantineEntry | undefined> {
    const { Item: item } = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: { pk: S(tenantPk(tenant)), sk: S(id) }, ConsistentRead: true }),
    );
    return item && !this.expired(item) ? toEntry(item) : undefined;
  }

  async list(
    tenant: string,
    options: { readonly after?: string | undefined; readonly limit: number; readonly status?: QuarantineEntry['status'] | undefined },
  ): Promise<QuarantinePage> {
    if (!(options.limit >= 1)) throw new Error(`list limit must be at least 1, got ${options.limit}`);
    const values: Item = { ':pk': S(tenantPk(tenant)), ':now': N(this.nowSeconds()) };
    if (options.after !== undefined) values[':after'] = S(options.after);
    if (options.status !== undefined) values[':status'] = S(options.status);
    const { items, more } = await queryPage(
      this.client,
      {
        TableName: this.table,
        KeyConditionExpression: options.after === undefined ? 'pk = :pk' : 'pk = :pk AND sk > :after',
        FilterExpression: options.status === undefined ? '#ttl > :now' : '#ttl > :now AND #status = :status',
        ExpressionAttributeNames: { '#ttl': 'ttl', ...(options.status === undefined ? {} : { '#status': 'status' }) },
        ExpressionAttributeValues: values,
        ConsistentRead: true,
      },
      options.limit,
    );
    const entries = items.map(toEntry);
    return more ? { entries, next: entries[entries.length - 1]!.id } : { entries };
  }

  async markReplayed(tenant: string, id: string, at: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: S(tenantPk(tenant)), sk: S(id) },
          UpdateExpression: 'SET #status = :replayed, replayedAt = :at',
          ConditionExpression: 'attribute_exists(pk) AND #ttl > :now',
          ExpressionAttributeNames: { '#status': 'status', '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':replayed': S('replayed'), ':at': N(at), ':now': N(this.nowSeconds()) },
        }),
      );
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException)
        throw new Error(`no quarantine entry ${id} for tenant ${tenant} (never quarantined, or past its retention)`);
      throw e;
    }
  }

  async delete(tenant: string, id: string): Promise<void> {
    await this.client.send(new DeleteItemCommand({ TableName: this.table, Key: { pk: S(tenantPk(tenant)), sk: S(id) } }));
  }

  /** A conditional update: the item keeps its status, times and ttl. */
  async rewrite(tenant: string, id: string, change: QuarantineRewrite): Promise<boolean> {
    // an absent attribute is removed (a string set cannot be empty; a plain payload has no encoding)
    const set = { ...encodePayload(change.payload), ...(change.matchKeys.length ? { matchKeys: { SS: [...new Set(change.matchKeys)] } } : {}) };
    const remove = ['payload', 'payloadEncoding', 'matchKeys'].filter((name) => !(name in set)).join(', ');
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: S(tenantPk(tenant)), sk: S(id) },
          UpdateExpression: `SET reason = :reason${Object.keys(set)
            .map((name) => `, ${name} = :${name}`)
            .join('')}${remove && ` REMOVE ${remove}`}`,
          // the reason attribute holds JSON.stringify of the reason, as ifReason is written here
          ConditionExpression: 'attribute_exists(pk) AND #ttl > :now AND reason = :was',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ...Object.fromEntries(Object.entries(set).map(([name, value]) => [`:${name}`, value])),
            ':reason': S(JSON.stringify(change.reason)),
            ':was': S(JSON.stringify(change.ifReason)),
            ':now': N(this.nowSeconds()),
          },
        }),
      );
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw e;
    }
  }

  private nowSeconds(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  private expired(item: Item): boolean {
    return !(Number(item.ttl?.N) > this.nowSeconds());
  }
}
