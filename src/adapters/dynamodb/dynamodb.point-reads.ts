import type { DynamoDBClient, KeysAndAttributes } from '@aws-sdk/client-dynamodb';
import { batchGet } from './dynamodb.batch-get.js';
import type { Item } from './dynamodb.event-item.js';
import { TurnCollector } from './dynamodb.turn-collector.js';

// Point reads of one table, coalesced: the reads asked for in one turn go out as
// BatchGetItem calls (100 keys each, a key asked twice read once, unprocessed keys asked again
// with backoff: batchGet), and each caller gets the items of its own keys. Reads are consistent
// unless told otherwise: a read that starts after a write has answered is sent after it, so it
// sees the write, as a consistent GetItem would.
// When a batch of several callers fails, each caller's keys are read again on their own, so a key
// DynamoDB refuses (too long, say) fails its own caller only, as it would have failed alone.

export type PointReadsOptions = {
  /** attributes to read (default all); must include the table's keys (pk, and sk when it has one) */
  readonly projection?: Pick<KeysAndAttributes, 'ProjectionExpression' | 'ExpressionAttributeNames'> | undefined;
  /** default true */
  readonly consistent?: boolean | undefined;
  readonly windowMs?: number | undefined;
  /** false: every read is sent at once, on its own */
  readonly coalesce?: boolean | undefined;
};

type Read = { readonly keys: readonly Item[]; readonly resolve: (items: (Item | undefined)[]) => void; readonly reject: (e: unknown) => void };

const BATCH_KEYS = 100;
const idOf = (key: Item): string => `${key.pk!.S}\u0000${key.sk?.N ?? key.sk?.S ?? ''}`;

export class PointReads {
  /** batches sent (each one BatchGetItem per 100 distinct keys), and the reads they answered */
  readonly stats = { batches: 0, reads: 0 };
  private readonly collector: TurnCollector<Read>;
  /** distinct keys of the batch being collected */
  private readonly pendingKeys = new Set<string>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly options: PointReadsOptions,
  ) {
    this.collector = new TurnCollector<Read>((batch) => (this.pendingKeys.clear(), void this.send(batch)), {
      windowMs: options.windowMs ?? 0,
      full: () => this.pendingKeys.size >= BATCH_KEYS,
    });
  }

  /** The item at each key (undefined when absent), in the order of `keys`. */
  read(keys: readonly Item[]): Promise<(Item | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const read = { keys, resolve, reject };
      if (this.options.coalesce === false) return void this.send([read]);
      for (const k of keys) this.pendingKeys.add(idOf(k));
      this.collector.add(read);
    });
  }

  private async send(batch: readonly Read[], retry = false): Promise<void> {
    if (!retry) {
      this.stats.batches++;
      this.stats.reads += batch.length;
    }
    try {
      const found = await this.fetch(batch.flatMap((r) => r.keys));
      for (const r of batch) r.resolve(r.keys.map((k) => found.get(idOf(k))));
    } catch (e) {
      if (batch.length === 1) return batch[0]!.reject(e);
      await Promise.all(batch.map((r) => this.send([r], true)));
    }
  }

  private async fetch(keys: readonly Item[]): Promise<Map<string, Item>> {
    const unique = new Map<string, Item>();
    for (const k of keys) unique.set(idOf(k), k);
    const items = await batchGet(this.client, this.table, [...unique.values()], { projection: this.options.projection, consistent: this.options.consistent });
    return new Map(items.map((item) => [idOf(item), item]));
  }
}
