import { randomBytes } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { batchWrite } from './dynamodb.batch-write.js';

// Each tenant's views live in a generation; one item per tenant names the active one. A rebuild
// writes a whole new generation, flips the pointer (one conditional update: readers switch at
// once, old and new never mix) and then deletes the retired generation. Retired generations are
// listed on the pointer item until their items are gone, so a crash mid-cleanup is finished later.

export type Generation = { readonly id: string; readonly buckets: number };

const activePk = (tenant: string): string => `T#${tenant}#ACTIVE`;
const ACTIVE_SK = '-';
const FIRST: Omit<Generation, 'buckets'> = { id: '0' };

export const viewPk = (tenant: string, g: Generation, bucket: number): string => `T#${tenant}#G#${g.id}#B#${bucket}`;

/** Stable bucket of a customer id (FNV-1a): spreads a tenant's views over partitions. */
export const viewBucket = (customerId: string, buckets: number): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < customerId.length; i++) h = Math.imul(h ^ customerId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % buckets;
};

const encodeRetired = (g: Generation): string => `${g.id}:${g.buckets}`;
const decodeRetired = (s: string): Generation => {
  const [id, buckets] = s.split(':');
  return { id: id!, buckets: Number(buckets) };
};

export class ViewGenerations {
  private readonly cache = new Map<string, { readonly g: Generation; readonly at: number; readonly recorded: boolean }>();
  /**
   * a refresh on its way per tenant and mode: callers arriving while it is out (a batch's views,
   * read and written at once) share it rather than each reading the pointer, so what they get is
   * at most that one round trip older than a read of their own
   */
  private readonly refreshing = new Map<string, Promise<Generation>>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    /** buckets of generations created from now on; each generation records its own */
    private readonly buckets: number,
    /** how long a process trusts its cached pointer; another process's flip is seen after this */
    private readonly cacheMs: number,
  ) {}

  /**
   * The generation reads and writes go to. `read` never writes: a tenant with no views yet reads
   * the first generation without recording it; `write` records it; `fresh` also skips the cache.
   */
  async active(tenant: string, mode: 'read' | 'write' | 'fresh'): Promise<Generation> {
    const hit = this.cache.get(tenant);
    if (mode !== 'fresh' && hit && Date.now() - hit.at < this.cacheMs && (hit.recorded || mode === 'read')) return hit.g;
    if (mode === 'fresh') return this.refresh(tenant, mode);
    const key = `${mode}\u0000${tenant}`;
    let pending = this.refreshing.get(key);
    if (!pending) {
      pending = this.refresh(tenant, mode).finally(() => this.refreshing.delete(key));
      this.refreshing.set(key, pending);
    }
    return pending;
  }

  private async refresh(tenant: string, mode: 'read' | 'write' | 'fresh'): Promise<Generation> {
    let g = await this.read(tenant);
    const recorded = g !== undefined || mode !== 'read';
    if (!g) {
      // the first generation is recorded too, so its bucket count survives a change of options
      g = { ...FIRST, buckets: this.buckets };
      if (recorded) {
        try {
          await this.client.send(
            new PutItemCommand({ TableName: this.table, Item: this.pointerItem(tenant, g), ConditionExpression: 'attribute_not_exists(pk)' }),
          );
        } catch (e) {
          if (!(e instanceof ConditionalCheckFailedException)) throw e;
          g = (await this.read(tenant))!;
        }
      }
    }
    this.cache.set(tenant, { g, at: Date.now(), recorded });
    return g;
  }

  fresh(): Generation {
    const id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
    return { id, buckets: this.buckets };
  }

  /** Makes `next` the active generation; returns every generation now waiting to be deleted. */
  async flip(tenant: string, next: Generation): Promise<Generation[]> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.active(tenant, 'fresh');
      try {
        const out = await this.client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: this.key(tenant),
            UpdateExpression: 'SET gen = :next, buckets = :b ADD retired :old',
            // a concurrent rebuild may have flipped first: retire what is active now, never lose it
            ConditionExpression: 'gen = :current',
            ExpressionAttributeValues: {
              ':next': { S: next.id },
              ':b': { N: String(next.buckets) },
              ':old': { SS: [encodeRetired(current)] },
              ':current': { S: current.id },
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        this.cache.set(tenant, { g: next, at: Date.now(), recorded: true });
        return (out.Attributes?.retired?.SS ?? []).map(decodeRetired).filter((g) => g.id !== next.id);
      } catch (e) {
        if (!(e instanceof ConditionalCheckFailedException) || attempt >= 10) throw e;
      }
    }
  }

  /** Deletes a retired generation's items, then takes it off the pointer's list. */
  async purge(tenant: string, g: Generation): Promise<void> {
    for (let b = 0; b < g.buckets; b++) {
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: viewPk(tenant, g, b) } },
            ProjectionExpression: 'pk, sk',
            ExclusiveStartKey: start,
          }),
        );
        await batchWrite(
          this.client,
          this.table,
          (page.Items ?? []).map((Key) => ({ DeleteRequest: { Key } })),
        );
        start = page.LastEvaluatedKey;
      } while (start);
    }
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: this.key(tenant),
        UpdateExpression: 'DELETE retired :g',
        ExpressionAttributeValues: { ':g': { SS: [encodeRetired(g)] } },
      }),
    );
  }

  /** Generations retired but not yet deleted (a cleanup was interrupted). */
  async retired(tenant: string): Promise<Generation[]> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: this.key(tenant), ConsistentRead: true }));
    return (out.Item?.retired?.SS ?? []).map(decodeRetired);
  }

  private async read(tenant: string): Promise<Generation | undefined> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: this.key(tenant), ConsistentRead: true }));
    const id = out.Item?.gen?.S;
    return id === undefined ? undefined : { id, buckets: Number(out.Item?.buckets?.N) };
  }

  private key(tenant: string): Record<string, AttributeValue> {
    return { pk: { S: activePk(tenant) }, sk: { S: ACTIVE_SK } };
  }

  private pointerItem(tenant: string, g: Generation): Record<string, AttributeValue> {
    return { ...this.key(tenant), gen: { S: g.id }, buckets: { N: String(g.buckets) } };
  }
}
