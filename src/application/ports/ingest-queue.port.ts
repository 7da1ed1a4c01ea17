// A durable, partitioned queue in front of ingest (Kinesis in production): the async intake puts
// validated calls on it, a consumer feeds them to the same ingest use case. Records of one
// partition key are delivered in order; different keys may interleave.

export type QueueRecord = { readonly partitionKey: string; readonly data: Uint8Array };

/** The call a queue record carries, with what the intake knew when it took it. */
export type QueuedCall = { readonly tenant: string; readonly source: string; readonly receivedAt?: number | undefined; readonly call: unknown };

export type QueueResult =
  /** `id`: where the queue put it (a Kinesis sequence number) */
  | { readonly ok: true; readonly id: string }
  /** refused after the adapter's own retries; `retryable` when sending it again later may work */
  | { readonly ok: false; readonly retryable: boolean; readonly code: string; readonly message: string };

export type QueueLimits = {
  /** records per send */
  readonly maxRecords: number;
  /** bytes per send, data plus partition keys */
  readonly maxBytes: number;
  /** bytes per record, data plus partition key */
  readonly maxRecordBytes: number;
};

export interface IngestQueue {
  readonly limits: QueueLimits;
  /** One result per record, in order. A refused record is reported, not thrown. */
  send(records: readonly QueueRecord[]): Promise<readonly QueueResult[]>;
}

const utf8Length = (s: string): number => {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
};

export const recordBytes = (r: QueueRecord): number => r.data.byteLength + utf8Length(r.partitionKey);

/** Consecutive groups within the limits, order kept (a record over maxRecordBytes goes alone). */
export const chunkRecords = <T extends QueueRecord>(records: readonly T[], limits: QueueLimits): T[][] => {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = recordBytes(r);
    if (current.length > 0 && (current.length >= limits.maxRecords || bytes + size > limits.maxBytes)) {
      chunks.push(current);
      [current, bytes] = [[], 0];
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
};
