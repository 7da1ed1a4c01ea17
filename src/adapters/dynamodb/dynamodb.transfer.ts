import {
  ConditionalCheckFailedException,
  GetItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { EventStore, IdempotencyRecord, StoredEvent } from '../../application/ports/event-store.port.js';
import { standInFor } from '../../application/ports/keys.port.js';
import type { OutboxEntry } from '../../application/ports/outbox.port.js';
import type { Quarantine, QuarantineEntry } from '../../application/ports/quarantine.port.js';
import type { PageRequest, StoreTransfer, TransferClaim, TransferKey, TransferPage } from '../../application/ports/store-transfer.port.js';
import { batchWrite } from './dynamodb.batch-write.js';
import { batchGet } from './dynamodb.batch-get.js';
import { claimPk, commitStamp, idempotencyPk, streamPk, toEventItem, type Item } from './dynamodb.event-item.js';
import { keyPk } from './dynamodb.key-store.js';
import { entryOf as outboxEntryOf } from './dynamodb.outbox.js';

// Export and import of one tenant's records on the DynamoDB tables (c360 migrate), in the item
// shapes of dynamodb.event-item.ts and dynamodb.key-store.ts. Events are read in log order from
// the by-commit index; claims, idempotency records, keys and outbox entries by a filtered scan
// (a migration reads everything once). Imported events get positions (commit stamps) that keep
// the order given and say when they were written: the import's wall clock when the page is written
// (never going back), the counter the event's place in the import. A log follower on the target
// (a running server's lake) reads behind the store's settle horizon, as it does live commits, so
// pages written side by side cannot make it pass an event. An event the target already holds (a
// resumed migration) is not written again: it keeps its position, and a follower never sees it twice.

export type DynamoDbTransferTables = { readonly events: string; readonly keys: string; readonly outbox: string };

const S = (v: string): AttributeValue => ({ S: v });
const N = (v: number): AttributeValue => ({ N: String(v) });
/** the writer id in imported positions, in place of a live writer's random one */
const IMPORT_WRITER = 'migrated';

const cursorOf = (key: Item | undefined): string | undefined => (key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined);
const startOf = (cursor: string | undefined): Item | undefined => (cursor ? (JSON.parse(Buffer.from(cursor, 'base64url').toString()) as Item) : undefined);

export class DynamoDbStoreTransfer implements StoreTransfer {
  /** import order so far: the stamp of the next event must not sort before the last one's (a clock stepping back is not followed) */
  private lastMs = 0;
  private counter = 0;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tables: DynamoDbTransferTables,
    private readonly store: EventStore,
    /** the plain quarantine (not the encrypting one): entries move as stored */
    private readonly plainQuarantine: Quarantine,
    /** the target's settle horizon: a page written later than this after its stamp is warned of */
    private readonly settleMs?: number | undefined,
  ) {}

  private async scan(table: string, tenant: string, page: PageRequest, kind?: string): Promise<{ items: Item[]; next?: string | undefined }> {
    const out = await this.client.send(
      new ScanCommand({
        TableName: table,
        ConsistentRead: true,
        Limit: Math.trunc(page.limit),
        ExclusiveStartKey: startOf(page.after),
        FilterExpression: kind === undefined ? '#tenant = :t' : '#tenant = :t AND #kind = :k',
        ExpressionAttributeNames: { '#tenant': 'tenant', ...(kind === undefined ? {} : { '#kind': 'kind' }) },
        ExpressionAttributeValues: { ':t': S(tenant), ...(kind === undefined ? {} : { ':k': S(kind) }) },
      }),
    );
    return { items: out.Items ?? [], next: cursorOf(out.LastEvaluatedKey) };
  }

  async events(tenant: string, page: PageRequest): Promise<TransferPage<StoredEvent>> {
    const { events, next } = await this.store.readAll(tenant, page);
    return { items: events, next };
  }

  async claims(tenant: string, page: PageRequest): Promise<TransferPage<TransferClaim>> {
    const { items, next } = await this.scan(this.tables.events, tenant, page, 'claim');
    return { items: items.map((i) => ({ key: i.key!.S!, owner: i.owner!.S! })), next };
  }

  async idempotency(tenant: string, page: PageRequest): Promise<TransferPage<IdempotencyRecord>> {
    const { items, next } = await this.scan(this.tables.events, tenant, page, 'idempotency');
    return { items: items.map((i) => ({ key: i.key!.S!, payloadHash: i.payloadHash!.S!, expiresAt: Number(i.expiresAt!.N) })), next };
  }

  async keys(tenant: string, page: PageRequest): Promise<TransferPage<TransferKey>> {
    const { items, next } = await this.scan(this.tables.keys, tenant, page);
    const toKey = (i: Item): TransferKey =>
      i.destroyed?.BOOL === true
        ? { kind: 'destroyed', customerId: i.customerId!.S!, destroyedAt: Number(i.destroyedAt?.N ?? 0) }
        : {
            kind: 'live',
            customerId: i.customerId!.S!,
            keyId: i.keyId!.S!,
            masterKeyId: i.masterKeyId!.S!,
            wrapped: i.wrapped!.S!,
            createdAt: Number(i.createdAt?.N ?? 0),
          };
    return { items: items.map(toKey), next };
  }

  async quarantine(tenant: string, page: PageRequest): Promise<TransferPage<QuarantineEntry>> {
    const { entries, next } = await this.plainQuarantine.list(tenant, page);
    return { items: entries, next };
  }

  async outbox(tenant: string, page: PageRequest): Promise<TransferPage<OutboxEntry>> {
    const { items, next } = await this.scan(this.tables.outbox, tenant, page);
    return { items: items.map(outboxEntryOf), next };
  }

  async holdsTenant(tenant: string): Promise<boolean> {
    if ((await this.store.readAll(tenant, { limit: 1 })).events.length > 0) return true;
    let after: string | undefined;
    do {
      const page = await this.scan(this.tables.keys, tenant, { after, limit: 500 });
      if (page.items.length > 0) return true;
      after = page.next;
    } while (after);
    return false;
  }

  async importEvents(tenant: string, events: readonly StoredEvent[]): Promise<void> {
    for (const e of events) if (e.tenant !== tenant) throw new Error(`event ${e.eventId} belongs to tenant ${e.tenant}, not ${tenant}`);
    const held = await batchGet(
      this.client,
      this.tables.events,
      events.map((e) => ({ pk: S(streamPk(tenant, e.streamId)), sk: N(e.version) })),
      { projection: { ProjectionExpression: 'pk, sk' } },
    );
    const there = new Set(held.map((i) => `${i.pk!.S}\u0000${i.sk!.N}`));
    const fresh = events.filter((e) => !there.has(`${streamPk(tenant, e.streamId)}\u0000${e.version}`));
    if (fresh.length === 0) return;
    // stamped now, just before the page is written: its positions settle with the live commits'
    this.lastMs = Math.max(this.lastMs, Date.now());
    const stampedAt = this.lastMs;
    const puts: WriteRequest[] = fresh.map((e) => ({ PutRequest: { Item: toEventItem(e, commitStamp(this.lastMs, IMPORT_WRITER, ++this.counter)) } }));
    await batchWrite(this.client, this.tables.events, puts);
    const lateByMs = Date.now() - stampedAt - (this.settleMs ?? Number.POSITIVE_INFINITY);
    if (lateByMs > 0)
      console.warn(
        JSON.stringify({
          level: 'warn',
          msg: 'imported events were written after the log settle horizon: a lake following the target may have passed them (c360 lake-rebuild writes them in)',
          tenant,
          events: fresh.length,
          lateByMs,
        }),
      );
  }

  async importClaims(tenant: string, claims: readonly TransferClaim[]): Promise<void> {
    const item = (c: TransferClaim): Item => ({
      pk: S(claimPk(tenant, c.key)),
      sk: N(0),
      kind: S('claim'),
      tenant: S(tenant),
      key: S(c.key),
      owner: S(c.owner),
    });
    await batchWrite(
      this.client,
      this.tables.events,
      claims.map((c) => ({ PutRequest: { Item: item(c) } })),
    );
  }

  async importIdempotency(tenant: string, records: readonly IdempotencyRecord[]): Promise<void> {
    const item = (r: IdempotencyRecord): Item => ({
      pk: S(idempotencyPk(tenant, r.key)),
      sk: N(0),
      kind: S('idempotency'),
      tenant: S(tenant),
      key: S(r.key),
      payloadHash: S(r.payloadHash),
      expiresAt: N(r.expiresAt),
      ttl: N(Math.ceil(r.expiresAt / 1000)),
    });
    await batchWrite(
      this.client,
      this.tables.events,
      records.map((r) => ({ PutRequest: { Item: item(r) } })),
    );
  }

  async importKeys(tenant: string, keys: readonly TransferKey[]): Promise<void> {
    // a tombstone always wins; a live key only lands where the target has none (it cannot be
    // made conditional in a batch, so the rare key already on the target is checked first)
    const live = keys.filter((k) => k.kind === 'live');
    const existing = new Set<string>();
    for (const k of live) if (await this.keyExists(tenant, k.customerId)) existing.add(k.customerId);
    const item = (k: TransferKey): Item => {
      const base = { pk: S(keyPk(tenant, k.customerId)), tenant: S(tenant), customerId: S(k.customerId) };
      return k.kind === 'destroyed'
        ? { ...base, destroyed: { BOOL: true }, destroyedAt: N(k.destroyedAt) }
        : { ...base, keyId: S(k.keyId), masterKeyId: S(k.masterKeyId), wrapped: S(k.wrapped), createdAt: N(k.createdAt) };
    };
    const writes = keys.filter((k) => k.kind === 'destroyed' || !existing.has(k.customerId)).map((k) => ({ PutRequest: { Item: item(k) } }));
    await batchWrite(this.client, this.tables.keys, writes);
    // a stand-in key (`<id>~...`) is listed on the item of the key it stands in for, where the key
    // store's destroy finds it (dynamodb.key-store.ts); that key came before it (keys are exported
    // in id order, and `<id>` sorts before `<id>~...`). One whose key is destroyed goes too.
    for (const k of keys) {
      const base = standInFor(k.customerId);
      if (base !== undefined) await this.listStandIn(tenant, base, k);
    }
  }

  private async listStandIn(tenant: string, base: string, standIn: TransferKey): Promise<void> {
    let destroyedAt: AttributeValue | undefined;
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tables.keys,
          Key: { pk: S(keyPk(tenant, base)) },
          UpdateExpression: 'ADD #standIns :id',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#standIns': 'standIns' },
          ExpressionAttributeValues: { ':id': { SS: [standIn.customerId] } },
          ReturnValues: 'ALL_NEW',
        }),
      );
      destroyedAt = out.Attributes?.destroyed?.BOOL === true ? (out.Attributes.destroyedAt ?? N(0)) : undefined;
    } catch (e) {
      // the key it stands in for is not on the target: there is nothing to list it on
      if (e instanceof ConditionalCheckFailedException) return;
      throw e;
    }
    if (destroyedAt === undefined || standIn.kind === 'destroyed') return;
    const tombstone = {
      pk: S(keyPk(tenant, standIn.customerId)),
      tenant: S(tenant),
      customerId: S(standIn.customerId),
      destroyed: { BOOL: true },
      destroyedAt,
    };
    await batchWrite(this.client, this.tables.keys, [{ PutRequest: { Item: tombstone } }]);
  }

  private async keyExists(tenant: string, customerId: string): Promise<boolean> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.tables.keys, Key: { pk: S(keyPk(tenant, customerId)) }, ConsistentRead: true, ProjectionExpression: 'pk' }),
    );
    return out.Item !== undefined;
  }

  async importQuarantine(_tenant: string, entries: readonly QuarantineEntry[]): Promise<void> {
    for (const e of entries) await this.plainQuarantine.put(e);
  }
}
