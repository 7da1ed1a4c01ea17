import { z } from 'zod';
import { reportStreamBatch, type DynamoDbStreamRecord, type StreamBatchResult } from '../dynamodb/dynamodb.streams-projector.js';
import { parseEvent, schemaOnFirstUse } from './lambda.event.js';
import { withInvocation, type BatchResponse, type LambdaContext, type LambdaTelemetry } from './lambda.telemetry.js';

// DynamoDB Streams (the events table, NEW_IMAGE) -> the 360 projections. Transient failures come
// back in batchItemFailures (ReportBatchItemFailures on the event source mapping); records that
// will never project (not our items, undecodable events) are skipped or logged as rejected, so
// one bad item never blocks its shard.

// Powertools' record schema with the images left marshalled: the projector reads AttributeValues,
// and unmarshalling every image only to throw the result away costs time on the hot path. Built by
// the first invocation.
const streamsEvent = schemaOnFirstUse(async () => {
  const { DynamoDBStreamChangeRecordBase, DynamoDBStreamRecord } = await import('@aws-lambda-powertools/parser/schemas/dynamodb');
  return z.object({ Records: z.array(DynamoDBStreamRecord.extend({ dynamodb: DynamoDBStreamChangeRecordBase })) });
});

export type StreamsProjectorPort = { handle(records: readonly DynamoDbStreamRecord[]): Promise<StreamBatchResult> };

export type StreamsHandlerDeps = {
  /** App.streamsProjector: present only on C360_STORE=dynamodb */
  readonly projector: StreamsProjectorPort | undefined;
  readonly telemetry: LambdaTelemetry;
};

export type StreamsHandler = (event: unknown, context?: LambdaContext) => Promise<BatchResponse>;

export class StreamsNotConfiguredError extends Error {
  override readonly name = 'StreamsNotConfiguredError';
  readonly code = 'CONFIG_INVALID';
}

export const createStreamsHandler = (deps: StreamsHandlerDeps): StreamsHandler => {
  const { logger, metrics } = deps.telemetry;
  return (event, context) =>
    withInvocation(deps.telemetry, context, context?.awsRequestId, async () => {
      if (!deps.projector) {
        throw new StreamsNotConfiguredError(
          'C360_STORE: the streams function projects the DynamoDB events table; set C360_STORE=dynamodb and C360_PROJECTION=streams',
        );
      }
      const { Records } = parseEvent(await streamsEvent(), event, 'DynamoDB Streams');
      // the images are checked to be maps of marshalled values; the projector reads them itself
      const result = await deps.projector.handle(Records as unknown as readonly DynamoDbStreamRecord[]);
      reportStreamBatch(Records.length, result, { logger, metrics });
      if (result.batchItemFailures.length > 0) {
        logger.warn('stream records failed; reported for redelivery', {
          failed: result.batchItemFailures.length,
          first: result.batchItemFailures[0]?.itemIdentifier,
          errors: result.errors.length,
        });
      }
      logger.info('streams batch', { records: Records.length, projected: result.projected, ignored: result.ignored, rejected: result.rejected.length });
      return { batchItemFailures: result.batchItemFailures };
    });
};
