import { PutRecordsCommand, type PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import {
  chunkRecords,
  recordBytes,
  type IngestQueue,
  type QueueLimits,
  type QueueRecord,
  type QueueResult,
} from '../../application/ports/ingest-queue.port.js';
import { resolveClient, sleep, type KinesisClientSource } from './kinesis.client.js';

// The ingest queue on Kinesis PutRecords. A request can succeed while some of its entries fail
// (a hot shard throttles, an internal failure): only those entries are sent again, with jittered
// exponential backoff, a bounded number of times; what is still refused is reported per record.
// Per-key order holds unless an entry fails while a later entry of the same key succeeds; ingest
// does not depend on arrival order (last-writer-wins by observedAt), so that is tolerated.
// Kinesis refuses a whole PutRecords request when one entry breaks its limits (a record over
// 1 MiB, a partition key not 1-256 characters long): such a record is refused here, alone, before
// sending, so the records sent with it are not refused with it.

export const KINESIS_LIMITS: QueueLimits = { maxRecords: 500, maxBytes: 5 * 1024 * 1024, maxRecordBytes: 1024 * 1024 };

export type KinesisProducerOptions = {
  readonly streamName: string;
  /** PutRecords rounds for failed entries, the first included */
  readonly maxAttempts?: number | undefined;
  /** backoff before round n: random up to min(cap, base * 2^n) */
  readonly backoffMs?: readonly [base: number, cap: number] | undefined;
};

// a request-level error after the SDK's own retries: these will not pass by sending again
const PERMANENT = new Set([
  'ResourceNotFoundException',
  'InvalidArgumentException',
  'AccessDeniedException',
  'ValidationException',
  'KMSAccessDeniedException',
  'KMSDisabledException',
  'KMSNotFoundException',
]);

export class KinesisIngestQueue implements IngestQueue {
  readonly limits = KINESIS_LIMITS;

  constructor(
    private readonly client: KinesisClientSource,
    private readonly options: KinesisProducerOptions,
  ) {}

  async send(records: readonly QueueRecord[]): Promise<readonly QueueResult[]> {
    const out: QueueResult[] = new Array(records.length);
    const sendable: (QueueRecord & { readonly index: number })[] = [];
    records.forEach((r, index) => {
      const refusal = this.refusal(r);
      if (refusal) out[index] = refusal;
      else sendable.push({ partitionKey: r.partitionKey, data: r.data, index });
    });
    for (const chunk of chunkRecords(sendable, this.limits)) {
      const results = await this.sendChunk(chunk);
      chunk.forEach((r, i) => (out[r.index] = results[i]!));
    }
    return out;
  }

  /** What Kinesis would refuse the whole request for, refused for this record only. */
  private refusal(r: QueueRecord): QueueResult | undefined {
    const keyLength = r.partitionKey.length;
    if (keyLength < 1 || keyLength > 256)
      return { ok: false, retryable: false, code: 'InvalidPartitionKey', message: `the partition key must be 1 to 256 characters long, got ${keyLength}` };
    const bytes = recordBytes(r);
    if (bytes > this.limits.maxRecordBytes)
      return {
        ok: false,
        retryable: false,
        code: 'RecordTooLarge',
        message: `the record is ${bytes} bytes (data plus partition key); Kinesis takes at most ${this.limits.maxRecordBytes}`,
      };
    return undefined;
  }

  private async sendChunk(records: readonly QueueRecord[]): Promise<QueueResult[]> {
    const results: (QueueResult | undefined)[] = new Array(records.length);
    const [base, cap] = this.options.backoffMs ?? [50, 2_000];
    const maxAttempts = this.options.maxAttempts ?? 5;
    let pending = records.map((_, i) => i);
    for (let attempt = 1; pending.length > 0; attempt++) {
      let entries: readonly PutRecordsResultEntry[];
      try {
        const out = await resolveClient(this.client).send(
          new PutRecordsCommand({
            StreamName: this.options.streamName,
            Records: pending.map((i) => ({ PartitionKey: records[i]!.partitionKey, Data: records[i]!.data })),
          }),
        );
        entries = out.Records ?? [];
      } catch (e) {
        const code = (e as Error).name || 'Error';
        for (const i of pending) results[i] = { ok: false, retryable: !PERMANENT.has(code), code, message: (e as Error).message };
        break;
      }
      const failed: number[] = [];
      pending.forEach((i, j) => {
        const entry = entries[j];
        if (entry?.SequenceNumber && !entry.ErrorCode) results[i] = { ok: true, id: entry.SequenceNumber };
        else {
          failed.push(i);
          const code = entry?.ErrorCode ?? 'NoResult';
          results[i] = { ok: false, retryable: true, code, message: `${entry?.ErrorMessage ?? 'no result for this entry'} (after ${attempt} attempts)` };
        }
      });
      pending = failed;
      if (pending.length === 0 || attempt >= maxAttempts) break;
      await sleep(Math.random() * Math.min(cap, base * 2 ** attempt));
    }
    return results.map((r) => r ?? { ok: false, retryable: true, code: 'NoResult', message: 'no result for this entry' });
  }
}
