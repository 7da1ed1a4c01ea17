import type { IngestOutcome, IngestSource, IngestUseCase } from './ingest.use-case.js';
import type { BatchOptions } from './refused-batch.js';

export type { BatchOptions };

// How driving adapters hand Segment calls to the core: processed now (sync), or validated and
// queued on a stream for a consumer to process (async, Kinesis). Same outcomes either way, plus
// 'queued'.

export type AcceptOutcome = IngestOutcome | { readonly status: 'queued'; readonly messageId: string };

export interface CallIntake {
  one(tenant: string, source: IngestSource, raw: unknown, receivedAt?: number): Promise<AcceptOutcome>;
  /**
   * Segment batch body ({ batch: [...], context?, integrations? }); throws VALIDATION_FAILED only
   * when the body itself is unusable. `options`: see BatchOptions (refused-batch.ts); the answer
   * holds an outcome for each call of the body, then one for each of `options.refused`.
   */
  batch(tenant: string, source: IngestSource, body: unknown, receivedAt?: number, options?: BatchOptions): Promise<readonly AcceptOutcome[]>;
}

export const syncIntake = (ingest: IngestUseCase): CallIntake => ({
  one: (tenant, source, raw, receivedAt) => ingest.ingest(tenant, source, raw, receivedAt),
  batch: (tenant, source, body, receivedAt, options) => ingest.ingestBatch(tenant, source, body, receivedAt, options),
});
