import { BatchGetItemCommand, type BatchGetItemCommandOutput, type DynamoDBClient, type KeysAndAttributes } from '@aws-sdk/client-dynamodb';
import { backoff } from './dynamodb.client.js';
import type { Item } from './dynamodb.event-item.js';

// BatchGetItem takes 100 keys, refuses duplicate keys, and may hand keys back unprocessed
// (throttling, 16 MB) without failing: those are asked again with backoff, never dropped.

const BATCH = 100;

/** Reads of every key, consistent unless told otherwise; missing items are simply absent from the result. */
export const batchGet = async (
  client: DynamoDBClient,
  table: string,
  keys: readonly Item[],
  options: {
    readonly projection?: Pick<KeysAndAttributes, 'ProjectionExpression' | 'ExpressionAttributeNames'> | undefined;
    readonly maxAttempts?: number;
    readonly consistent?: boolean | undefined;
  } = {},
): Promise<Item[]> => {
  const found: Item[] = [];
  const chunks: Item[][] = [];
  for (let i = 0; i < keys.length; i += BATCH) chunks.push(keys.slice(i, i + BATCH));
  await Promise.all(
    chunks.map(async (chunk) => {
      let pending: KeysAndAttributes | undefined = { Keys: chunk, ConsistentRead: options.consistent ?? true, ...options.projection };
      for (let attempt = 0; pending?.Keys?.length; attempt++) {
        if (attempt >= (options.maxAttempts ?? 10))
          throw new Error(`BatchGetItem on ${table}: ${pending.Keys.length} keys still unprocessed after ${attempt} attempts`);
        if (attempt > 0) await backoff(attempt);
        const out: BatchGetItemCommandOutput = await client.send(new BatchGetItemCommand({ RequestItems: { [table]: pending } }));
        found.push(...(out.Responses?.[table] ?? []));
        pending = out.UnprocessedKeys?.[table];
      }
    }),
  );
  return found;
};
