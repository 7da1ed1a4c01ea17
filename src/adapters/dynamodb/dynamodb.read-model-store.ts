import { randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  type PutItemCommandInput,
  QueryCommand,
  TransactWriteItemsCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { appliedSum, uniqueDocs, type DocStamp, type ReadModelStore, type ViewDoc } from '../../application/ports/read-model.port.js';
import { batchGet } from './dynamodb.batch-get.js';
import { batchWrite } from './dynamodb.batch-write.js';
import { DYNAMO_TRANSACTION_BYTES, DYNAMO_TRANSACTION_ITEMS } from './dynamodb.commit-plan.js';
import { PointReads } from './dynamodb.point-reads.js';
import { GroupScheduler } from './dynamodb.write-groups.js';
import { sendGroup, type GroupIo, type GroupMember } from './dynamodb.transact-group.js';
import { ViewGenerations, viewBucket, viewPk, type Generation } from './dynamodb.view-generations.js';

// Customer360 docs on DynamoDB (table layout in dynamodb.views-table.ts). The doc is kept as the
// exact JSON the projector produced; `version` and `appliedSum` sit beside it so that DynamoDB
// itself refuses a stale or duplicate-but-older doc (docOrder < 0) without a read first.

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
    this.reads = options.coalesce === false ? undefined : new PointReads(client, this.table, { projection: { ProjectionExpression: 'pk, sk, doc' } });
    if (options.grouping !== false) {
      // a member whose condition failed answers false, exactly as its PutItem alone would; the
      // others are sent again as a group (sendGroup reads the CancellationReasons)
      const io: GroupIo<DocPut, boolean> = {
        send: async (items, token) => void (await this.client.send(new TransactWriteItemsCommand({ TransactItems: [...items], ClientRequestToken: token }))),
        single: (m) => this.putAlone(m.input),
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
    // strongly consistent: the projector reads, folds and writes back
    const key = this.key(tenant, g, customerId);
    const item = this.reads
      ? (await this.reads.read([key]))[0]
      : (await this.client.send(new GetItemCommand({ TableName: this.table, Key: key, ConsistentRead: true, ProjectionExpression: 'doc' }))).Item;
    const doc = item?.doc?.S;
    return doc === undefined ? undefined : (JSON.parse(doc) as ViewDoc);
  }

  /** Several docs as `get` reads each, in BatchGetItem calls of 100 (the Streams projector prefetches a batch's docs). */
  async getMany(tenant: string, ids: readonly string[]): Promise<ReadonlyMap<string, ViewDoc | undefined>> {
    const g = await this.generations.active(tenant, 'read');
    const unique = [...new Set(ids)];
    const items = await batchGet(
      this.client,
      this.table,
      unique.map((id) => this.key(tenant, g, id)),
      { projection: { ProjectionExpression: 'sk, doc' } },
    );
    const found = new Map(items.map((item) => [item.sk!.S!, item.doc?.S]));
    return new Map(unique.map((id) => [id, found.has(id) ? (JSON.parse(found.get(id)!) as ViewDoc) : undefined]));
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
    const input: PutItemCommandInput = { TableName: this.table, Item: this.item(tenant, g, doc), ...condition };
    const puts = this.puts;
    if (!puts) return this.putAlone(input);
    const item = input.Item!;
    return new Promise<boolean>((resolve, reject) =>
      puts.submit({
        input,
        items: [{ Put: { TableName: input.TableName!, Item: item, ...condition } }],
        // a group's ClientRequestToken hashes its members' identities: unique per put sent
        identity: randomUUID(),
        touched: [`${item.pk!.S}\u0000${item.sk!.S}`],
        size: 1,
        // the doc's JSON is nearly all of it; the rest is keys and two numbers
        bytes: Buffer.byteLength(item.doc!.S!) + 512,
        solo: false,
        resolve,
        reject,
      }),
    );
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
    await this.client.send(new DeleteItemCommand({ TableName: this.table, Key: this.key(tenant, g, customerId) }));
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
    const docs = out.slice(0, options.limit).map((item) => JSON.parse(item.doc!.S!) as ViewDoc);
    return out.length > options.limit ? { docs, next: docs.at(-1)!.customerId } : { docs };
  }

  async replaceAll(tenant: string, docs: Iterable<ViewDoc>): Promise<void> {
    const all = uniqueDocs(docs);
    const next = this.generations.fresh();
    await batchWrite(
      this.client,
      this.table,
      all.map((doc) => ({ PutRequest: { Item: this.item(tenant, next, doc) } })),
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

  private item(tenant: string, g: Generation, doc: ViewDoc): Item {
    return {
      ...this.key(tenant, g, doc.customerId),
      doc: { S: JSON.stringify(doc) },
      version: { N: String(doc.version) },
      appliedSum: { N: String(appliedSum(doc)) },
    };
  }
}

/** One bucket's docs in customer id order, fetched a small page at a time. */
class BucketCursor {
  private buffer: Item[] = [];
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
          ProjectionExpression: 'sk, doc',
          ConsistentRead: true,
          Limit: this.pageSize,
          ExclusiveStartKey: this.start,
        }),
      );
      this.buffer = out.Items ?? [];
      this.start = out.LastEvaluatedKey;
      this.done = this.start === undefined;
    }
  }
}
