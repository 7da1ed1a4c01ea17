import { randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  type PutItemCommandInput,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type TransactWriteItem,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { appliedSum, uniqueDocs, type DocStamp, type ReadModelStore, type ViewDoc } from '../../application/ports/read-model.port.js';
import { batchGet } from './dynamodb.batch-get.js';
import { batchWrite } from './dynamodb.batch-write.js';
import { backoff } from './dynamodb.client.js';
import { DYNAMO_TRANSACTION_BYTES, DYNAMO_TRANSACTION_ITEMS } from './dynamodb.commit-plan.js';
import { PointReads } from './dynamodb.point-reads.js';
import { GroupScheduler } from './dynamodb.write-groups.js';
import { sendGroup, type GroupIo, type GroupMember } from './dynamodb.transact-group.js';
import { ViewGenerations, viewBucket, viewPk, type Generation } from './dynamodb.view-generations.js';
import { MAX_PARTS, partKey, partsNeeded, VIEW_ATTRIBUTES, viewItems, viewJson, type ViewItems } from './dynamodb.view-item.js';

// Customer360 docs on DynamoDB (table layout in dynamodb.views-table.ts). The doc is kept as the
// exact JSON the projector produced (a doc too large for one item gzipped, in parts beside it:
// dynamodb.view-item.ts); `version` and `appliedSum` sit beside it so that DynamoDB itself refuses
// a stale or duplicate-but-older doc (docOrder < 0) without a read first.

type Item = Record<string, AttributeValue>;

export type DynamoDbReadModelStoreOptions = {
  readonly tableName: string;
  /** partitions per tenant generation; a change applies to generations built afterwards */
  readonly buckets?: number;
  /** how long the active generation is cached per process (ms); 0 reads it on every call */
  readonly generationCacheMs?: number;
  /** a retired generation that could not be deleted; it is retried on the next replaceAll */
  readonly onCleanupError?: (tenant: string, error: unknown) => void;
  /** gets of one turn go together in BatchGetItem calls (default); false: each its own GetItem */
  readonly coalesce?: boolean | undefined;
  /**
   * puts of one turn (a projector flushing a shard batch's docs) go together in TransactWriteItems
   * of up to 100 items, each keeping its own condition (default); false: each its own PutItem
   */
  readonly grouping?: false | { readonly windowMs?: number | undefined } | undefined;
};

/** One conditional put, grouped with the turn's others: true once written, false when its condition failed. */
type DocPut = GroupMember<boolean> & { readonly input: PutItemCommandInput };

/** How often a read that met a doc being replaced (a part of another write) reads it again. */
const TORN_READS = 5;

const NEWER_OR_EQUAL = 'attribute_not_exists(pk) OR version < :v OR (version = :v AND appliedSum <= :s)';

export class DynamoDbReadModelStore implements ReadModelStore {
  private readonly table: string;
  private readonly generations: ViewGenerations;
  private readonly onCleanupError: (tenant: string, error: unknown) => void;
  private readonly reads: PointReads | undefined;
  /** undefined: grouping is off */
  private readonly puts: GroupScheduler<DocPut> | undefined;

  constructor(
    private readonly client: DynamoDBClient,
    options: DynamoDbReadModelStoreOptions,
  ) {
    this.table = options.tableName;
    this.generations = new ViewGenerations(client, options.tableName, options.buckets ?? 8, options.generationCacheMs ?? 1_000);
    this.onCleanupError = options.onCleanupError ?? ((tenant, e) => console.warn(`views of ${tenant}: a retired generation is left to delete`, e));
    // concurrent readers (engagement deciding for a batch's customers at once) share requests
    this.reads =
      options.coalesce === false ? undefined : new PointReads(client, this.table, { projection: { ProjectionExpression: `pk, sk, ${VIEW_ATTRIBUTES}` } });
    if (options.grouping !== false) {
      // a member whose condition failed answers false, exactly as its PutItem alone would; the
      // others are sent again as a group (sendGroup reads the CancellationReasons)
      const io: GroupIo<DocPut, boolean> = {
        send: async (items, token) => void (await this.client.send(new TransactWriteItemsCommand({ TransactItems: [...items], ClientRequestToken: token }))),
        single: (m) => (m.items.length === 1 ? this.putAlone(m.input) : this.transactAlone(m.items)),
        answer: async () => false,
        written: () => true,
        transientRetries: 5,
      };
      this.puts = new GroupScheduler<DocPut>((group) => sendGroup(group, io), {
        windowMs: options.grouping?.windowMs ?? 2,
        maxItems: DYNAMO_TRANSACTION_ITEMS,
        maxBytes: DYNAMO_TRANSACTION_BYTES,
      });
    }
  }

  async get(tenant: string, customerId: string): Promise<ViewDoc | undefined> {
    const g = await this.generations.active(tenant, 'read');
    return this.readDoc(this.key(tenant, g, customerId));
  }

  /** One doc, read again while a part met belongs to another write. */
  private async readDoc(key: Item): Promise<ViewDoc | undefined> {
    for (let attempt = 1; ; attempt++) {
      // strongly consistent: the projector reads, folds and writes back
      const item = this.reads
        ? (await this.reads.read([key]))[0]
        : (await this.client.send(new GetItemCommand({ TableName: this.table, Key: key, ConsistentRead: true, ProjectionExpression: VIEW_ATTRIBUTES }))).Item;
      if (item === undefined) return undefined;
      const doc = await this.decode({ ...key, ...item });
      if (doc !== 'torn') return doc;
      // a passing state, not the record's fault: $retryable makes a projector deliver it again (isTransient)
      if (attempt >= TORN_READS)
        throw Object.assign(new Error(`view ${key.sk!.S}: its parts changed under ${attempt} reads in a row`), { $retryable: { throttling: false } });
      await backoff(attempt, 10); // a rewrite of the doc is landing: let it
    }
  }

  /**
   * The doc of a head item as read; its parts, when it has any, read now, but for those already read
   * with it (`known`: a listing's page holds a doc's parts right after it).
   */
  private async decode(head: Item, known?: ReadonlyMap<string, Item>): Promise<ViewDoc | 'torn'> {
    const more = partsNeeded(head);
    const keys = Array.from({ length: more }, (_, i) => partKey(head, i + 1));
    const missing = keys.filter((k) => !known?.has(k.sk!.S!));
    const parts = missing.length === 0 ? [] : await batchGet(this.client, this.table, missing, { projection: { ProjectionExpression: 'sk, docGz, docWrite' } });
    const bySk = new Map(parts.map((p) => [p.sk!.S!, p]));
    for (const k of keys) if (known?.has(k.sk!.S!)) bySk.set(k.sk!.S!, known.get(k.sk!.S!)!);
    const json = viewJson(
      head,
      Array.from({ length: more }, (_, i) => bySk.get(partKey(head, i + 1).sk!.S!)),
    );
    return json === 'torn' ? json : (JSON.parse(json) as ViewDoc);
  }

  /** A head item listed or batch-read: decoded, or read again on its own when torn (undefined: deleted since). */
  private async docOf(head: Item, known?: ReadonlyMap<string, Item>): Promise<ViewDoc | undefined> {
    const doc = await this.decode(head, known);
    return doc === 'torn' ? this.readDoc({ pk: head.pk!, sk: head.sk! }) : doc;
  }

  /** Several docs as `get` reads each, in BatchGetItem calls of 100 (the Streams projector prefetches a batch's docs). */
  async getMany(tenant: string, ids: readonly string[]): Promise<ReadonlyMap<string, ViewDoc | undefined>> {
    const g = await this.generations.active(tenant, 'read');
    const unique = [...new Set(ids)];
    const items = await batchGet(
      this.client,
      this.table,
      unique.map((id) => this.key(tenant, g, id)),
      { projection: { ProjectionExpression: `pk, sk, ${VIEW_ATTRIBUTES}` } },
    );
    const found = new Map(await Promise.all(items.map(async (item) => [item.sk!.S!, await this.docOf(item)] as const)));
    return new Map(unique.map((id) => [id, found.get(id)]));
  }

  async put(tenant: string, doc: ViewDoc, expected?: DocStamp | null): Promise<boolean> {
    const g = await this.generations.active(tenant, 'write');
    const condition: Pick<PutItemCommandInput, 'ConditionExpression' | 'ExpressionAttributeValues'> =
      expected === undefined
        ? { ConditionExpression: NEWER_OR_EQUAL, ExpressionAttributeValues: { ':v': { N: String(doc.version) }, ':s': { N: String(appliedSum(doc)) } } }
        : expected === null
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              // compare-and-swap: still the doc the projector read, and the new one is not older
              ConditionExpression: `version = :ev AND appliedSum = :es AND (${NEWER_OR_EQUAL})`,
              ExpressionAttributeValues: {
                ':ev': { N: String(expected.version) },
                ':es': { N: String(expected.appliedSum) },
                ':v': { N: String(doc.version) },
                ':s': { N: String(appliedSum(doc)) },
              },
            };
    const layout = this.items(tenant, g, doc);
    // A doc that fits as JSON text is written over a head that is not in parts only: the chunks of
    // a larger earlier doc must go with it (see shrinkOverParts), or they would stay, unseen, with
    // what that doc held (an unmerged customer's data, say) until this customer is erased.
    const plain = layout.parts.length === 0 && layout.head.doc !== undefined && expected !== null;
    const guarded = plain ? { ...condition, ConditionExpression: `(${condition.ConditionExpression}) AND attribute_not_exists(docParts)` } : condition;
    const input: PutItemCommandInput = { TableName: this.table, Item: layout.head, ...guarded };
    // a doc in parts: its head (with the condition), its parts, and the deletes of older parts
    // past its last one, all in one transaction
    const items: TransactWriteItem[] = [
      { Put: { TableName: this.table, Item: layout.head, ...guarded } },
      ...layout.parts.map((Item) => ({ Put: { TableName: this.table, Item } })),
      ...layout.stale.map((Key) => ({ Delete: { TableName: this.table, Key } })),
    ];
    const written = await this.send(items, input, layout.bytes);
    return written || !plain ? written : this.shrinkOverParts(this.key(tenant, g, doc.customerId), layout.head, condition);
  }

  /**
   * A doc that fits as JSON text, refused because the head it replaces is in parts (or because it
   * is stale): when the head is in parts, the doc is written with the deletes of every part key
   * in one transaction, under the write's own condition; false when that condition fails (stale).
   */
  private async shrinkOverParts(
    key: Item,
    head: Item,
    condition: Pick<PutItemCommandInput, 'ConditionExpression' | 'ExpressionAttributeValues'>,
  ): Promise<boolean> {
    const found = await this.client.send(new GetItemCommand({ TableName: this.table, Key: key, ConsistentRead: true, ProjectionExpression: 'docParts' }));
    if (found.Item?.docParts === undefined) return false;
    return this.transactAlone([
      { Put: { TableName: this.table, Item: head, ...condition } },
      ...Array.from({ length: MAX_PARTS - 1 }, (_, i) => ({ Delete: { TableName: this.table, Key: partKey(key, i + 1) } })),
    ]);
  }

  private send(items: TransactWriteItem[], input: PutItemCommandInput, bytes: number): Promise<boolean> {
    const puts = this.puts;
    if (!puts) return items.length === 1 ? this.putAlone(input) : this.transactAlone(items);
    return new Promise<boolean>((resolve, reject) =>
      puts.submit({
        input,
        items,
        // a group's ClientRequestToken hashes its members' identities: unique per put sent
        identity: randomUUID(),
        touched: items.map((i) => {
          const key = i.Put?.Item ?? i.Delete!.Key!;
          return `${key.pk!.S}\u0000${key.sk!.S}`;
        }),
        size: items.length,
        // the doc (JSON or gzipped) is nearly all of it; the rest is keys and two numbers
        bytes,
        solo: false,
        resolve,
        reject,
      }),
    );
  }

  /** A doc in parts, written on its own: false when the head's condition failed, as a PutItem answers. */
  private async transactAlone(items: readonly TransactWriteItem[]): Promise<boolean> {
    try {
      await this.client.send(new TransactWriteItemsCommand({ TransactItems: [...items], ClientRequestToken: randomUUID() }));
      return true;
    } catch (e) {
      if (e instanceof TransactionCanceledException && e.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') return false;
      throw e;
    }
  }

  private async putAlone(input: PutItemCommandInput): Promise<boolean> {
    try {
      await this.client.send(new PutItemCommand(input));
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw e;
    }
  }

  async delete(tenant: string, customerId: string): Promise<void> {
    const g = await this.generations.active(tenant, 'read');
    const key = this.key(tenant, g, customerId);
    await this.client.send(new DeleteItemCommand({ TableName: this.table, Key: key }));
    // and every part item beside it, also those an earlier, larger write left (the doc may be
    // plain JSON now): an erasure leaves none of its chunks
    const parts = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :parts)',
        ExpressionAttributeValues: { ':pk': key.pk!, ':parts': { S: partKey(key, 0).sk!.S!.slice(0, -1) } },
        ProjectionExpression: 'pk, sk',
        ConsistentRead: true,
      }),
    );
    await batchWrite(
      this.client,
      this.table,
      (parts.Items ?? []).map((Key) => ({ DeleteRequest: { Key } })),
    );
  }

  async list(
    tenant: string,
    options: { readonly after?: string | undefined; readonly limit: number },
  ): Promise<{ readonly docs: readonly ViewDoc[]; readonly next?: string | undefined }> {
    if (!(options.limit >= 1)) throw new Error(`list limit must be at least 1, got ${options.limit}`);
    const g = await this.generations.active(tenant, 'read');
    // one sorted cursor per bucket, merged; each reads small pages so a page costs about `limit`
    const pageSize = Math.min(1_000, Math.ceil((options.limit + 1) / g.buckets) + 1);
    const cursors = Array.from({ length: g.buckets }, (_, b) => new BucketCursor(this.client, this.table, viewPk(tenant, g, b), options.after, pageSize));
    const out: Item[] = [];
    while (out.length <= options.limit) {
      await Promise.all(cursors.map((c) => c.ready()));
      let min: BucketCursor | undefined;
      for (const c of cursors) if (c.head && (!min || c.head.sk!.S! < min.head!.sk!.S!)) min = c;
      if (!min) break;
      out.push(min.take());
    }
    const heads = out.slice(0, options.limit);
    // the part items the pages already held, so a large doc's parts are not read a second time
    const known = new Map(cursors.flatMap((c) => [...c.parts]));
    const docs = (await Promise.all(heads.map((item) => this.docOf(item, known)))).filter((d): d is ViewDoc => d !== undefined);
    return out.length > options.limit ? { docs, next: heads.at(-1)!.sk!.S! } : { docs };
  }

  async replaceAll(tenant: string, docs: Iterable<ViewDoc>): Promise<void> {
    const all = uniqueDocs(docs);
    const next = this.generations.fresh();
    await batchWrite(
      this.client,
      this.table,
      all.flatMap((doc) => {
        const layout = this.items(tenant, next, doc);
        return [layout.head, ...layout.parts].map((Item) => ({ PutRequest: { Item } }));
      }),
    );
    const retired = await this.generations.flip(tenant, next);
    await this.collectGarbage(tenant, retired);
  }

  /** Deletes retired generations' items (also those an interrupted replaceAll left behind). */
  async collectGarbage(tenant: string, retired?: readonly Generation[]): Promise<void> {
    try {
      for (const g of retired ?? (await this.generations.retired(tenant))) await this.generations.purge(tenant, g);
    } catch (e) {
      this.onCleanupError(tenant, e);
    }
  }

  private key(tenant: string, g: Generation, customerId: string): Item {
    return { pk: { S: viewPk(tenant, g, viewBucket(customerId, g.buckets)) }, sk: { S: customerId } };
  }

  private items(tenant: string, g: Generation, doc: ViewDoc): ViewItems {
    const layout = viewItems(this.key(tenant, g, doc.customerId), JSON.stringify(doc));
    return { ...layout, head: { ...layout.head, version: { N: String(doc.version) }, appliedSum: { N: String(appliedSum(doc)) } } };
  }
}

/** One bucket's docs in customer id order, fetched a small page at a time. */
class BucketCursor {
  private buffer: Item[] = [];
  /** the part items (of docs kept gzipped) the pages held, by sort key */
  readonly parts = new Map<string, Item>();
  private start: Item | undefined;
  private done = false;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly pk: string,
    private readonly after: string | undefined,
    private readonly pageSize: number,
  ) {}

  get head(): Item | undefined {
    return this.buffer[0];
  }

  take(): Item {
    return this.buffer.shift()!;
  }

  async ready(): Promise<void> {
    while (this.buffer.length === 0 && !this.done) {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: this.after === undefined ? 'pk = :pk' : 'pk = :pk AND sk > :after',
          ExpressionAttributeValues: { ':pk': { S: this.pk }, ...(this.after === undefined ? {} : { ':after': { S: this.after } }) },
          ProjectionExpression: `pk, sk, version, ${VIEW_ATTRIBUTES}`,
          ConsistentRead: true,
          Limit: this.pageSize,
          ExclusiveStartKey: this.start,
        }),
      );
      // a doc's parts sort right after it; only the docs themselves are listed (a part has no
      // version of its own), and the parts are kept for decoding them
      this.buffer = [];
      for (const item of out.Items ?? []) {
        if (item.version !== undefined) this.buffer.push(item);
        else if (item.docGz !== undefined) this.parts.set(item.sk!.S!, item);
      }
      this.start = out.LastEvaluatedKey;
      this.done = this.start === undefined;
    }
  }
}
