import { randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  DeleteItemCommand,
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { queryPage } from './dynamodb.client.js';
import {
  quarantinePayloadJson,
  type Quarantine,
  type QuarantineEntry,
  type QuarantinePage,
  type QuarantineReason,
  type QuarantineRewrite,
} from '../../application/ports/quarantine.port.js';
import type { Clock } from '../../application/ports/runtime.port.js';

// Quarantined payloads in their own table, pk = T#<tenant>, sk = entry id. Ids are UUIDv7, so the
// sort key order is arrival order and any id is a valid cursor. Every item carries `ttl` (epoch
// seconds) for DynamoDB TTL; deletion by TTL lags (and DynamoDB Local may never do it), so reads
// skip expired items themselves.
// No payload can make a write fail for DynamoDB's 400 KB item limit. The payload's JSON is kept:
//   - as text in `payload` when it is at most PLAIN_PAYLOAD_MAX_BYTES and fits the item;
//   - else gzipped, as binary (`payload`, payloadEncoding `gzip`), when that fits the item;
//   - else gzipped and cut into part items of PART_BYTES, pk = P#<tenant>, sk = <id>#<n> (n from
//     1), each with the entry's `ttl`, so that a tenant's list never reads them and they expire
//     with it. The entry's item names how many (`payloadParts`) and the write they belong to
//     (`payloadWrite`, also on every part): a reader that finds a part of another write read the
//     entry while it was being replaced, and reads it again. A write that has parts is one
//     TransactWriteItems with its parts and the deletion of the part keys past them, so the entry
//     and its parts change together;
//   - past MAX_PARTS parts (a transaction's 4 MB), not at all: the entry keeps `payloadCut` (the
//     payload's size) and its reason says so; it reads as the excerpt shape {bytes, kept: 0}.
// A reason is bounded too (REASON_MAX_BYTES: issues past it are counted, not kept, and the message
// says so), so that the entry's own attributes always leave room. Items written before payloads
// were kept as binary (`gzip+base64` in a string) read as before.

export type DynamoDbQuarantineOptions = {
  readonly tableName: string;
  /** how long an entry is kept after it was quarantined; default 30 days */
  readonly retentionMs?: number | undefined;
  readonly clock?: Clock | undefined;
};

export const DEFAULT_QUARANTINE_RETENTION_MS = 30 * 24 * 3_600_000;
/** DynamoDB's item limit is 400 KB (409,600 bytes); this leaves room for its own accounting */
const MAX_ITEM_BYTES = 400_000;
/** a payload's JSON up to this is kept as plain text, when it fits the item */
const PLAIN_PAYLOAD_MAX_BYTES = 300_000;
/** the gzipped bytes one part item holds */
export const QUARANTINE_PART_BYTES = 350_000;
/** the most parts of one entry: with its own item, within a transaction's 100 items and 4 MB */
export const QUARANTINE_MAX_PARTS = 10;
/** the most a reason's JSON takes in an item: the rest of its issues are counted, not kept */
export const QUARANTINE_REASON_MAX_BYTES = 100_000;
const MESSAGE_MAX_CHARS = 4_096;
/** the attributes that hold (or describe) the payload, all replaced by a write of it */
const PAYLOAD_ATTRIBUTES = ['payload', 'payloadEncoding', 'payloadParts', 'payloadWrite', 'payloadCut'] as const;

type Item = Record<string, AttributeValue>;
const S = (v: string) => ({ S: v });
const N = (v: number) => ({ N: String(v) });
const B = (v: Uint8Array) => ({ B: v });
const tenantPk = (tenant: string): string => `T#${tenant}`;
const partKey = (tenant: string, id: string, n: number): Item => ({ pk: S(`P#${tenant}`), sk: S(`${id}#${n}`) });

const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
const valueBytes = (v: AttributeValue): number => {
  if (v.S !== undefined) return utf8Bytes(v.S);
  if (v.B !== undefined) return v.B.byteLength;
  if (v.N !== undefined) return 21;
  if (v.SS !== undefined) return v.SS.reduce((n, s) => n + utf8Bytes(s) + 1, 0);
  return 8;
};
/** DynamoDB's size of an item, about (attribute names and values), never under it */
const itemBytes = (item: Item): number => Object.entries(item).reduce((n, [name, v]) => n + utf8Bytes(name) + valueBytes(v) + 1, 0);

/**
 * A reason within QUARANTINE_REASON_MAX_BYTES: unchanged when it is (so bounding a bounded reason
 * changes nothing, which the rewrite's compare-and-set relies on); else its message cut to
 * MESSAGE_MAX_CHARS and as many of its issues kept as fit, the message saying how many were not.
 */
export const boundedReason = (reason: QuarantineReason): QuarantineReason => {
  if (utf8Bytes(JSON.stringify(reason)) <= QUARANTINE_REASON_MAX_BYTES) return reason;
  const base = reason.message.length > MESSAGE_MAX_CHARS ? `${reason.message.slice(0, MESSAGE_MAX_CHARS)}…` : reason.message;
  const issues: QuarantineReason['issues'][number][] = [];
  let bytes = utf8Bytes(base) + 512;
  for (const issue of reason.issues) {
    const size = utf8Bytes(JSON.stringify(issue)) + 1;
    if (bytes + size > QUARANTINE_REASON_MAX_BYTES) break;
    issues.push(issue);
    bytes += size;
  }
  const dropped = reason.issues.length - issues.length;
  const note = dropped > 0 ? ` (${dropped} of its ${reason.issues.length} issues are not kept: more than a quarantine entry holds)` : '';
  return { code: reason.code, message: `${base}${note}`, issues };
};

const withCutNote = (reason: QuarantineReason, bytes: number): QuarantineReason => ({
  ...reason,
  message: `${reason.message} (its payload, ${bytes.toLocaleString('en-US')} bytes as stored, was not kept: more than the ${(QUARANTINE_PART_BYTES * QUARANTINE_MAX_PARTS).toLocaleString('en-US')} gzipped bytes a quarantine entry holds on DynamoDB)`,
});

type Encoded = {
  /** the payload's attributes on the entry's item */
  readonly attrs: Item;
  /** the gzipped chunks for part items 1..n (none when the item holds the payload) */
  readonly parts: readonly Uint8Array[];
  /** the payload's size when it is too large to keep at all */
  readonly cutBytes?: number | undefined;
};

/** How a payload is kept beside attributes of `restBytes` (see the layout at the top). */
const encodePayload = (payload: unknown, restBytes: number): Encoded => {
  const json = quarantinePayloadJson(payload);
  if (json === undefined) return { attrs: {}, parts: [] };
  const room = MAX_ITEM_BYTES - restBytes - 64;
  const bytes = utf8Bytes(json);
  if (bytes <= PLAIN_PAYLOAD_MAX_BYTES && bytes <= room) return { attrs: { payload: S(json) }, parts: [] };
  const gz = gzipSync(json);
  if (gz.byteLength <= room) return { attrs: { payload: B(gz), payloadEncoding: S('gzip') }, parts: [] };
  const count = Math.ceil(gz.byteLength / QUARANTINE_PART_BYTES);
  if (count > QUARANTINE_MAX_PARTS) return { attrs: { payloadCut: N(bytes) }, parts: [], cutBytes: bytes };
  return {
    attrs: { payloadEncoding: S('gzip'), payloadParts: N(count), payloadWrite: S(randomUUID()) },
    parts: Array.from({ length: count }, (_, i) => gz.subarray(i * QUARANTINE_PART_BYTES, (i + 1) * QUARANTINE_PART_BYTES)),
  };
};

const partCount = (item: Item | undefined): number => Number(item?.payloadParts?.N ?? 0);

const parseGzip = (gz: Uint8Array): unknown => JSON.parse(gunzipSync(gz).toString('utf8'));

/** The payload of an item that holds it (not in parts). */
const inlinePayload = (item: Item): unknown => {
  const cut = item.payloadCut?.N;
  if (cut !== undefined) return { bytes: Number(cut), kept: 0 };
  const stored = item.payload;
  if (stored?.B !== undefined) return parseGzip(stored.B);
  if (stored?.S === undefined) return undefined;
  return JSON.parse(item.payloadEncoding?.S === 'gzip+base64' ? gunzipSync(Buffer.from(stored.S, 'base64')).toString('utf8') : stored.S);
};

const toEntry = (item: Item, payload: unknown): QuarantineEntry => {
  const replayedAt = item.replayedAt?.N;
  return {
    id: item.sk!.S!,
    tenant: item.tenant!.S!,
    receivedAt: Number(item.receivedAt!.N),
    source: item.source!.S!,
    reason: JSON.parse(item.reason!.S!),
    payload,
    status: item.status!.S === 'replayed' ? 'replayed' : 'pending',
    ...(replayedAt === undefined ? {} : { replayedAt: Number(replayedAt) }),
    ...(item.matchKeys?.SS ? { matchKeys: [...item.matchKeys.SS].sort() } : {}),
    ...(item.intake?.S === undefined ? {} : { intake: item.intake.S }),
  };
};

const TORN = Symbol('torn');
/** how often a read meets a part of another write before it gives up */
const TORN_READS = 5;

const conditionFailed = (e: unknown): boolean =>
  e instanceof ConditionalCheckFailedException ||
  (e instanceof TransactionCanceledException && (e.CancellationReasons ?? []).some((r) => r.Code === 'ConditionalCheckFailed'));

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
    const rest: Item = {
      pk: S(tenantPk(entry.tenant)),
      sk: S(entry.id),
      tenant: S(entry.tenant),
      receivedAt: N(entry.receivedAt),
      source: S(entry.source),
      reason: S(JSON.stringify(boundedReason(entry.reason))),
      status: S(entry.status),
      ...(entry.intake === undefined ? {} : { intake: S(entry.intake) }),
      ...(entry.replayedAt === undefined ? {} : { replayedAt: N(entry.replayedAt) }),
      // keyed hashes only (a string set cannot be empty)
      ...(entry.matchKeys?.length ? { matchKeys: { SS: [...new Set(entry.matchKeys)] } } : {}),
      // retention runs from the time it was quarantined, not from the (client-set) receivedAt
      ttl: N(Math.floor((this.clock.now() + this.retentionMs) / 1000)),
    };
    const encoded = encodePayload(entry.payload, itemBytes(rest));
    if (encoded.cutBytes !== undefined) rest.reason = S(JSON.stringify(boundedReason(withCutNote(boundedReason(entry.reason), encoded.cutBytes))));
    const item: Item = { ...rest, ...encoded.attrs };
    if (encoded.parts.length > 0) {
      await this.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [{ Put: { TableName: this.table, Item: item } }, ...this.partWrites(entry.tenant, entry.id, item, encoded.parts)],
        }),
      );
      return;
    }
    const { Attributes: old } = await this.client.send(new PutItemCommand({ TableName: this.table, Item: item, ReturnValues: 'ALL_OLD' }));
    // an entry put again (the same id) that had parts: they go
    await this.deleteParts(entry.tenant, entry.id, partCount(old));
  }

  async get(tenant: string, id: string): Promise<QuarantineEntry | undefined> {
    for (let attempt = 1; ; attempt++) {
      const item = await this.head(tenant, id);
      if (!item || this.expired(item)) return undefined;
      const payload = await this.payloadOf(item);
      if (payload !== TORN) return toEntry(item, payload.value);
      if (attempt >= TORN_READS) throw new Error(`quarantine entry ${id} of tenant ${tenant} kept changing while it was read; read it again`);
    }
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
    const entries = await Promise.all(
      items.map(async (item) => {
        const payload = await this.payloadOf(item);
        // replaced while the page was read: the entry as it is now (or gone)
        if (payload === TORN) return this.get(tenant, item.sk!.S!);
        return toEntry(item, payload.value);
      }),
    );
    const live = entries.filter((e): e is QuarantineEntry => e !== undefined);
    return more ? { entries: live, next: items[items.length - 1]!.sk!.S! } : { entries: live };
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

  /** The parts go first, the entry last: a delete that fails halfway is done by trying it again. */
  async delete(tenant: string, id: string): Promise<void> {
    const item = await this.head(tenant, id);
    // an entry with parts: every part key, should one of an earlier write be left over
    await this.deleteParts(tenant, id, partCount(item) > 0 ? QUARANTINE_MAX_PARTS : 0);
    await this.client.send(new DeleteItemCommand({ TableName: this.table, Key: { pk: S(tenantPk(tenant)), sk: S(id) } }));
  }

  /** A conditional update: the item keeps its status, times and ttl. */
  async rewrite(tenant: string, id: string, change: QuarantineRewrite): Promise<boolean> {
    const current = await this.head(tenant, id);
    if (!current || this.expired(current)) return false;
    let reason = boundedReason(change.reason);
    const matchKeys: Item = change.matchKeys.length ? { matchKeys: { SS: [...new Set(change.matchKeys)] } } : {};
    const kept = Object.fromEntries(
      Object.entries(current).filter(([name]) => !(PAYLOAD_ATTRIBUTES as readonly string[]).includes(name) && name !== 'matchKeys'),
    );
    const encoded = encodePayload(change.payload, itemBytes({ ...kept, ...matchKeys, reason: S(JSON.stringify(reason)) }));
    if (encoded.cutBytes !== undefined) reason = boundedReason(withCutNote(reason, encoded.cutBytes));
    // an absent attribute is removed (a string set cannot be empty; a plain payload has no encoding)
    const set: Item = { ...encoded.attrs, ...matchKeys };
    const remove = [...PAYLOAD_ATTRIBUTES, 'matchKeys'].filter((name) => !(name in set)).join(', ');
    const update = {
      TableName: this.table,
      Key: { pk: S(tenantPk(tenant)), sk: S(id) },
      UpdateExpression: `SET reason = :reason${Object.keys(set)
        .map((name) => `, ${name} = :${name}`)
        .join('')} REMOVE ${remove}`,
      // the reason attribute holds JSON.stringify of the (bounded) reason, as ifReason is written here
      ConditionExpression: 'attribute_exists(pk) AND #ttl > :now AND reason = :was',
      ExpressionAttributeNames: { '#ttl': 'ttl' },
      ExpressionAttributeValues: {
        ...Object.fromEntries(Object.entries(set).map(([name, value]) => [`:${name}`, value])),
        ':reason': S(JSON.stringify(reason)),
        ':was': S(JSON.stringify(boundedReason(change.ifReason))),
        ':now': N(this.nowSeconds()),
      },
    };
    try {
      if (encoded.parts.length === 0 && partCount(current) === 0) {
        await this.client.send(new UpdateItemCommand(update));
        return true;
      }
      // parts written, or parts to take away: together with the entry
      await this.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [{ Update: update }, ...this.partWrites(tenant, id, { ...current, ...set }, encoded.parts)],
        }),
      );
      return true;
    } catch (e) {
      if (conditionFailed(e)) return false;
      throw e;
    }
  }

  private async head(tenant: string, id: string): Promise<Item | undefined> {
    const { Item: item } = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: { pk: S(tenantPk(tenant)), sk: S(id) }, ConsistentRead: true }),
    );
    return item;
  }

  /** The puts of an entry's parts (with its ttl and write), and the deletes of every part key past them. */
  private partWrites(tenant: string, id: string, head: Item, parts: readonly Uint8Array[]): TransactWriteItem[] {
    const puts = parts.map((chunk, i) => ({
      Put: { TableName: this.table, Item: { ...partKey(tenant, id, i + 1), data: B(chunk), payloadWrite: head.payloadWrite!, ttl: head.ttl! } },
    }));
    const deletes = Array.from({ length: QUARANTINE_MAX_PARTS - parts.length }, (_, i) => ({
      Delete: { TableName: this.table, Key: partKey(tenant, id, parts.length + i + 1) },
    }));
    return [...puts, ...deletes];
  }

  /** Deletes part items 1..`count`. */
  private async deleteParts(tenant: string, id: string, count: number): Promise<void> {
    await Promise.all(
      Array.from({ length: count }, (_, i) => this.client.send(new DeleteItemCommand({ TableName: this.table, Key: partKey(tenant, id, i + 1) }))),
    );
  }

  /** An item's payload, reading its parts if it has any; TORN when a part belongs to another write. */
  private async payloadOf(item: Item): Promise<{ readonly value: unknown } | typeof TORN> {
    const count = partCount(item);
    if (count === 0) return { value: inlinePayload(item) };
    const tenant = item.tenant!.S!;
    const id = item.sk!.S!;
    const parts = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const { Item: part } = await this.client.send(new GetItemCommand({ TableName: this.table, Key: partKey(tenant, id, i + 1), ConsistentRead: true }));
        return part;
      }),
    );
    const write = item.payloadWrite?.S;
    const chunks: Uint8Array[] = [];
    for (const part of parts) {
      if (part?.data?.B === undefined || part.payloadWrite?.S !== write) return TORN;
      chunks.push(part.data.B);
    }
    return { value: parseGzip(Buffer.concat(chunks)) };
  }

  private nowSeconds(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  private expired(item: Item): boolean {
    return !(Number(item.ttl?.N) > this.nowSeconds());
  }
}
