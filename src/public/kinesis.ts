/**
 * Kinesis Data Streams: queued ingest (the producer behind C360_INGEST_MODE=async), its consumer,
 * and the record format both speak.
 *
 * @module customer360-core/kinesis
 */

export { createKinesisClient, KINESIS_RETRY } from '../adapters/kinesis/kinesis.client.js';
export { KinesisConsumer, type KinesisBatchHandler, type KinesisConsumerOptions } from '../adapters/kinesis/kinesis.consumer.js';
export {
  ingestKinesisRecords,
  kinesisIngestHandler,
  type KinesisFailureCause,
  type KinesisInputRecord,
  type KinesisIngestResult,
  type SourceOf,
} from '../adapters/kinesis/kinesis.ingest.js';
export { KINESIS_LIMITS, KinesisIngestQueue, type KinesisProducerOptions } from '../adapters/kinesis/kinesis.producer.js';
export { decodeKinesisRecord, encodeKinesisCall, envelopeKey, type DecodeContext, type KinesisCall } from '../adapters/kinesis/kinesis.record.js';
export { ensureStream } from '../adapters/kinesis/kinesis.streams.js';
