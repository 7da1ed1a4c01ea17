import type { Core } from '../../application/core.js';
import type { IngestOutcome, IngestSource } from '../../application/ingest/ingest.use-case.js';
import { loggableMessage } from '../loggable-message.js';
import { decodeKinesisRecord, type DecodeContext } from './kinesis.record.js';

// A batch of Kinesis records -> the ingest use case; shared by the polling consumer and the Lambda
// handler. What cannot be decoded or attributed goes to the quarantine and is done (a poison pill
// must not block its shard); so does a record whose processing fails with an error that would
// fail the same way on every try (a RangeError, a TypeError of ours: see isDeterministic), kept
// to be replayed once fixed. Only other errors (a store that is down) are failures, returned by
// sequence number so the shard is read again from the first of them.

export type KinesisInputRecord = {
  readonly sequenceNumber: string;
  readonly data: Uint8Array;
  /** records of one key are ingested in order; without it the whole batch is one key */
  readonly partitionKey?: string | undefined;
  /** when Kinesis took the record (ms); the receive time of bare calls, which carry none */
  readonly arrivedAt?: number | undefined;
};

export type KinesisIngestContext = DecodeContext & {
  /** how many partition keys are ingested at once */
  readonly concurrency?: number | undefined;
};

/**
 * Why a record failed, fit for a log line: the error's class (`ValidationException`,
 * `StoreUnavailable`), its code when it has one (`ECONNREFUSED`), and its message with quoted
 * parts, e-mail addresses and digit runs masked (loggableMessage); never the record's content.
 */
export type KinesisFailureCause = { readonly name: string; readonly code?: string | undefined; readonly message: string };

export type KinesisRecordOutcome = {
  readonly sequenceNumber: string;
  readonly outcome: IngestOutcome | { readonly status: 'failed'; readonly error: string; readonly cause: KinesisFailureCause };
};

export type KinesisIngestResult = {
  readonly failures: readonly string[];
  readonly outcomes: readonly KinesisRecordOutcome[];
  /** the cause of the first failure in the batch (where the shard is read again from) */
  readonly cause?: KinesisFailureCause | undefined;
};

const causeOf = (e: unknown): KinesisFailureCause => {
  if (!(e instanceof Error)) return { name: typeof e, message: loggableMessage(String(e)) };
  const code = (e as { code?: unknown }).code;
  return { name: e.name || 'Error', ...(typeof code === 'string' && code !== e.name ? { code } : {}), message: loggableMessage(e.message) };
};

export type SourceOf = (tenant: string, name: string) => IngestSource;

/**
 * Whether an error says the record would fail the same way however often it is read again: a
 * RangeError (a stack overflow, an invalid length: what the content of a record can cause) or a
 * ReferenceError (a fault of the code). Not a TypeError or SyntaxError: drivers throw those in
 * passing states too (a connection closed during a shutdown), and such a record must be read
 * again, not set aside. A store's error (StoreUnavailable, a client's error) is read again.
 */
export const isDeterministic = (e: unknown): boolean => e instanceof RangeError || e instanceof ReferenceError;

const ingestOne = async (core: Core, sourceOf: SourceOf, record: KinesisInputRecord, ctx: DecodeContext): Promise<IngestOutcome> => {
  const decoded = decodeKinesisRecord(record.data, ctx);
  if (!decoded.ok) {
    // read again (a retried batch), the same record is the same entry
    const quarantineId = await core.quarantine.hold(
      decoded.tenant,
      decoded.source,
      decoded.raw,
      decoded.reason,
      record.arrivedAt,
      'record',
      record.sequenceNumber,
    );
    return { status: 'quarantined', quarantineId, error: decoded.reason };
  }
  const { tenant, source, call, receivedAt } = decoded.value;
  try {
    // a bare call (not our envelope) is received when Kinesis took it, and placed by its sequence
    // number: a redelivery is the same call, an equal record another one (see derivedMessageId)
    if (receivedAt === undefined) return await core.ingest.ingest(tenant, sourceOf(tenant, source), call, record.arrivedAt, record.sequenceNumber);
    // our envelope (the queued intake gives a call without messageId or timestamp one before
    // queueing it; encodeKinesisCall in a producer of one's own may not): without a messageId the
    // call keeps the id its receivedAt gives it (position 0), so one queued twice by a producer's
    // retry is still one call. Refused, it is held under its sequence number as its arrival, as a
    // bare call is: read again (a retried batch, a restarted consumer), it is the entry that holds
    // it already, even without a messageId or timestamp
    const outcome = await core.ingest.tryIngest(tenant, sourceOf(tenant, source), call, receivedAt);
    if (outcome.status !== 'rejected') return outcome;
    const quarantineId = await core.quarantine.hold(tenant, source, call, outcome.error, receivedAt, undefined, record.sequenceNumber);
    return { status: 'quarantined', quarantineId, error: outcome.error };
  } catch (e) {
    if (!isDeterministic(e)) throw e;
    // kept as a call (replayed once the fault is fixed); the shard goes on. Not kept (the
    // quarantine out of reach): a failure, read again
    const error = {
      code: 'INTERNAL_ERROR',
      // the error's name only: a message may quote the record's content (personal data)
      message: `processing this record failed (${(e as Error).name}); it is kept here to be replayed once the fault is fixed`,
      issues: [],
    };
    const quarantineId = await core.quarantine.hold(tenant, source, call, error, receivedAt ?? record.arrivedAt, undefined, record.sequenceNumber);
    return { status: 'quarantined', quarantineId, error };
  }
};

export const ingestKinesisRecords = async (
  core: Core,
  sourceOf: SourceOf,
  records: readonly KinesisInputRecord[],
  ctx: KinesisIngestContext,
): Promise<KinesisIngestResult> => {
  const outcomes: KinesisRecordOutcome['outcome'][] = new Array(records.length);
  const groups = new Map<string, number[]>();
  records.forEach((r, i) => {
    const key = r.partitionKey ?? '';
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  });
  const queue = [...groups.values()];
  const worker = async () => {
    for (let group = queue.shift(); group; group = queue.shift()) {
      let failed: { message: string; cause: KinesisFailureCause } | undefined;
      for (const i of group) {
        if (failed !== undefined) {
          // a later record of the same key must not overtake the failed one
          outcomes[i] = { status: 'failed', error: `not attempted: an earlier record of its partition key failed (${failed.message})`, cause: failed.cause };
          continue;
        }
        try {
          outcomes[i] = await ingestOne(core, sourceOf, records[i]!, ctx);
        } catch (e) {
          failed = { message: e instanceof Error ? e.message : String(e), cause: causeOf(e) };
          outcomes[i] = { status: 'failed', error: failed.message, cause: failed.cause };
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(ctx.concurrency ?? 8, queue.length)) }, worker));
  const result = records.map((r, i) => ({ sequenceNumber: r.sequenceNumber, outcome: outcomes[i]! }));
  // the first failed record in the batch is the first of its key to fail: its own error, not "not attempted"
  const first = result.find((r) => r.outcome.status === 'failed')?.outcome;
  return {
    failures: result.filter((r) => r.outcome.status === 'failed').map((r) => r.sequenceNumber),
    outcomes: result,
    ...(first?.status === 'failed' ? { cause: first.cause } : {}),
  };
};

/** The consumer's handler over the core. */
export const kinesisIngestHandler = (core: Core, sourceOf: SourceOf, ctx: KinesisIngestContext) => ({
  handle: (records: readonly KinesisInputRecord[]) => ingestKinesisRecords(core, sourceOf, records, ctx),
});
