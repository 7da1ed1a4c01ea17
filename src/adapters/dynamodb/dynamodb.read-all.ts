import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NotAPosition, type ReadAllPage, type StoredEvent } from '../../application/ports/event-store.port.js';
import { BUCKETS, BY_COMMIT_INDEX, bucketPk, commitStamp, fromEventItem, positionTime, type Item } from './dynamodb.event-item.js';

// A tenant's whole log in commit order, from the `by-commit` index: streams are spread over
// BUCKETS index partitions (one partition would cap a tenant's write rate), and every bucket is
// sorted by position. A page is a k-way merge of the buckets, each read lazily a chunk at a time
// from the last position handed out. So the cursor is just that position, and any event's
// position is a valid cursor. Positions are not handed out in the order commits become visible:
// a writer stamps a commit before it sends it (retries keep the stamp), writers' clocks differ a
// little, and index reads are eventually consistent. So a reader that passes a position can later
// find an event before it. `before` (a commit time, as a stamp prefix) bounds a page to what is
// older: a follower reads only behind the store's settle horizon (dynamodb.event-store.ts).

export type ReadAllProgress = {
  /** events handed out in this page */
  readonly events: number;
  /** index items read, including look-ahead that the next page reads again */
  readonly itemsRead: number;
  readonly queries: number;
  /** commit time (writer's clock, ms) of the last event handed out: how far through the log */
  readonly upTo?: number | undefined;
};

/** a commit stamp (see commitStamp), then stream id and version */
const POSITION = /^\d{15}\.[0-9a-z]+\.\d{10}#/;

type Bucket = { items: Item[]; next: number; start: Item | undefined; done: boolean };

/** DynamoDB compares strings as UTF-8 bytes; so must the merge, or pages would disagree with it. */
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

export const readAllByCommit = async (
  client: DynamoDBClient,
  table: string,
  tenant: string,
  options: {
    readonly after?: string | undefined;
    readonly limit: number;
    /** only events stamped before this commit time (ms): what a later commit can no longer precede */
    readonly before?: number | undefined;
    readonly onProgress?: ((p: ReadAllProgress) => void) | undefined;
  },
): Promise<ReadAllPage> => {
  const { after, limit } = options;
  if (!(limit >= 1)) throw new Error(`readAll limit must be at least 1, got ${limit}`);
  if (after !== undefined && !POSITION.test(after)) throw new NotAPosition(after);
  // every position stamped at `before` or later starts with this prefix followed by more, so sorts after it
  const before = options.before === undefined ? undefined : commitStamp(Math.max(0, Math.trunc(options.before)), '', 0).slice(0, 15);
  if (before !== undefined && after !== undefined && byteOrder(after, before) >= 0) {
    options.onProgress?.({ events: 0, itemsRead: 0, queries: 0 });
    return { events: [] };
  }
  const condition =
    after === undefined
      ? before === undefined
        ? 'gpk = :g'
        : 'gpk = :g AND gsk < :before'
      : before === undefined
        ? 'gpk = :g AND gsk > :after'
        : 'gpk = :g AND gsk BETWEEN :after AND :before'; // `after` itself is dropped below
  const values = { ...(after === undefined ? {} : { ':after': { S: after } }), ...(before === undefined ? {} : { ':before': { S: before } }) };
  // Most tenants spread evenly: a bucket's share of a page plus slack, so a page rarely needs a refill.
  const chunk = Math.min(limit, Math.ceil((limit * 1.5) / BUCKETS) + 1);
  const buckets: Bucket[] = Array.from({ length: BUCKETS }, () => ({ items: [], next: 0, start: undefined, done: false }));
  let itemsRead = 0;
  let queries = 0;

  const fill = async (b: number): Promise<void> => {
    const bucket = buckets[b]!;
    const out = await client.send(
      new QueryCommand({
        TableName: table,
        IndexName: BY_COMMIT_INDEX,
        KeyConditionExpression: condition,
        ExpressionAttributeValues: { ':g': { S: bucketPk(tenant, b) }, ...values },
        ExclusiveStartKey: bucket.start,
        Limit: chunk,
      }),
    );
    queries++;
    itemsRead += out.Items?.length ?? 0;
    bucket.items = (out.Items ?? []).filter((i) => i.gsk?.S !== after);
    bucket.next = 0;
    bucket.start = out.LastEvaluatedKey;
    bucket.done = out.LastEvaluatedKey === undefined;
  };
  const head = (b: Bucket): Item | undefined => b.items[b.next];

  const events: StoredEvent[] = [];
  while (events.length < limit) {
    // the smallest head is only safe to hand out once every unfinished bucket shows its head
    await Promise.all(buckets.map((bucket, b) => (head(bucket) === undefined && !bucket.done ? fill(b) : undefined)));
    let min: Bucket | undefined;
    for (const bucket of buckets) {
      const h = head(bucket);
      if (h && (!min || byteOrder(h.gsk!.S!, head(min)!.gsk!.S!) < 0)) min = bucket;
    }
    if (!min) break;
    events.push(fromEventItem(head(min)!));
    min.next++;
  }
  const last = events.at(-1)?.position;
  options.onProgress?.({ events: events.length, itemsRead, queries, upTo: last === undefined ? undefined : positionTime(last) });
  // A page cut short by its limit may be followed by more; one that ran out of buckets is the end.
  const more = events.length === limit && buckets.some((b) => head(b) !== undefined || !b.done);
  return more ? { events, next: last } : { events };
};
