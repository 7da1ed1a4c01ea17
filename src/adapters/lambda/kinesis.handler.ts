import { z } from 'zod';
import type { Core } from '../../application/core.js';
import type { Authenticator } from '../../application/ports/access.port.js';
import { ingestKinesisRecords, type KinesisInputRecord, type SourceOf } from '../kinesis/kinesis.ingest.js';
import { parseEvent, schemaOnFirstUse } from './lambda.event.js';
import { withInvocation, type BatchResponse, type LambdaContext, type LambdaTelemetry } from './lambda.telemetry.js';

// Kinesis -> ingest. Each record carries one Segment call (ours in the c360 envelope, signed under
// the claim secret, or a bare call whose writeKey names the tenant). What cannot be decoded or attributed is quarantined and
// counts as done; only unexpected failures (a store that is down) are reported back, by sequence
// number, so that Lambda delivers them again (ReportBatchItemFailures must be enabled on the
// event source mapping).
//
// Not Powertools' BatchProcessor: it handles records one by one (or all at once) and goes on after
// a failure, so a later call of the same partition key could overtake a failed one. The shared
// ingestKinesisRecords keeps per-key order and stops a key at its first failure.

// Powertools' envelope, with the data kept as sent: its own schema decodes it lossily (invalid
// UTF-8 replaced, gzip guessed) and our decoder must see the exact bytes. Built by the first invocation.
const kinesisEvent = schemaOnFirstUse(async () => {
  const { KinesisDataStreamRecord, KinesisDataStreamRecordPayload, KinesisDataStreamSchema } = await import('@aws-lambda-powertools/parser/schemas/kinesis');
  return KinesisDataStreamSchema.extend({
    Records: z.array(KinesisDataStreamRecord.extend({ kinesis: KinesisDataStreamRecordPayload.extend({ data: z.string() }) })).min(1),
  });
});

export type KinesisHandlerDeps = {
  readonly core: Core;
  readonly sourceOf: SourceOf;
  readonly auth: Authenticator;
  /** tenant of bare calls without a writeKey (the function's C360_TENANT); without it they are quarantined */
  readonly defaultTenant?: string | undefined;
  /** ingest source of bare calls whose write key names none */
  readonly defaultSource?: string | undefined;
  /** the key our envelopes are signed with (envelopeKey of the claim secret); without it every envelope is quarantined */
  readonly envelopeKey?: Uint8Array | undefined;
  readonly concurrency?: number | undefined;
  readonly telemetry: LambdaTelemetry;
};

export type KinesisHandler = (event: unknown, context?: LambdaContext) => Promise<BatchResponse>;

export const toInputRecords = async (event: unknown): Promise<KinesisInputRecord[]> =>
  parseEvent(await kinesisEvent(), event, 'Kinesis Data Streams').Records.map(({ kinesis }) => ({
    sequenceNumber: kinesis.sequenceNumber,
    data: Buffer.from(kinesis.data, 'base64'),
    partitionKey: kinesis.partitionKey,
    arrivedAt: Math.round(kinesis.approximateArrivalTimestamp * 1000),
  }));

export const createKinesisHandler = (deps: KinesisHandlerDeps): KinesisHandler => {
  const { logger, metrics } = deps.telemetry;
  return (event, context) =>
    withInvocation(deps.telemetry, context, context?.awsRequestId, async () => {
      const records = await toInputRecords(event);
      const result = await ingestKinesisRecords(deps.core, deps.sourceOf, records, {
        auth: deps.auth,
        defaultTenant: deps.defaultTenant,
        defaultSource: deps.defaultSource,
        envelopeKey: deps.envelopeKey,
        concurrency: deps.concurrency,
      });
      const counts: Record<string, number> = { accepted: 0, duplicate: 0, quarantined: 0, rejected: 0, failed: 0 };
      for (const { sequenceNumber, outcome } of result.outcomes) {
        counts[outcome.status] = (counts[outcome.status] ?? 0) + 1;
        if (outcome.status === 'quarantined')
          logger.warn('record quarantined', { sequenceNumber, quarantineId: outcome.quarantineId, reason: outcome.error.code });
      }
      // the cause (class, code, masked message), so a store outage can be told from a fault of one
      // record; never the record's content
      if (result.failures.length > 0)
        logger.error('records failed; reported for redelivery', { failed: result.failures.length, first: result.failures[0], error: result.cause });
      logger.info('kinesis batch', { records: records.length, ...counts });
      metrics.increment('kinesis_records', records.length);
      metrics.increment('kinesis_records_failed', result.failures.length);
      return { batchItemFailures: result.failures.map((itemIdentifier) => ({ itemIdentifier })) };
    });
};
