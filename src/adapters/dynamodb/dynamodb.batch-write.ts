import { BatchWriteItemCommand, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';

// BatchWriteItem takes 25 requests and may hand some back unprocessed (throttling, partition
// limits) without failing: those must be sent again, with backoff, or they are silently lost.

const BATCH = 25;

export type BatchWriteOptions = { readonly concurrency?: number; readonly maxAttempts?: number; readonly baseDelayMs?: number };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const writeChunk = async (client: DynamoDBClient, table: string, requests: WriteRequest[], maxAttempts: number, baseDelayMs: number): Promise<void> => {
  let pending = requests;
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > maxAttempts) throw new Error(`BatchWriteItem on ${table}: ${pending.length} requests still unprocessed after ${maxAttempts} attempts`);
    if (attempt > 1) await sleep(Math.random() * baseDelayMs * 2 ** Math.min(attempt - 2, 8)); // full jitter
    const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }));
    pending = out.UnprocessedItems?.[table] ?? [];
  }
};

/** Writes every request, `concurrency` batches at a time; throws only when retries run out. */
export const batchWrite = async (client: DynamoDBClient, table: string, requests: readonly WriteRequest[], options: BatchWriteOptions = {}): Promise<void> => {
  const chunks: WriteRequest[][] = [];
  for (let i = 0; i < requests.length; i += BATCH) chunks.push(requests.slice(i, i + BATCH));
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) await writeChunk(client, table, chunks[next++]!, options.maxAttempts ?? 10, options.baseDelayMs ?? 50);
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, chunks.length) }, worker));
};
