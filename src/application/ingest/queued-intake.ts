import { normalizeIdentifier } from '../../domain/identity/identifier.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { CorePorts } from '../deps.js';
import { chunkRecords, recordBytes, type IngestQueue, type QueuedCall, type QueueRecord } from '../ports/ingest-queue.port.js';
import type { QuarantineReason } from '../ports/quarantine.port.js';
import { mapSegmentCall } from '../segment/segment.mapper.js';
import { parseSegmentCall } from '../segment/segment.fast-parse.js';
import { formatPath, SegmentBatch, type SegmentCall, zodIssues } from '../segment/segment.schema.js';
import { callBoundsProblem } from './call-bounds.js';
import { derivedMessageId, mergeBatchDefaults, payloadHash, withoutWriteKey } from './call-shape.js';
import type { AcceptOutcome, BatchOptions, CallIntake } from './intake.js';
import type { IngestSource, IngestUseCase } from './ingest.use-case.js';
import { refusedBatchEntry, requestCalls, type RefusedCall } from './refused-batch.js';

// The async mode of HTTP ingest: validate now (an invalid call is quarantined exactly as the sync
// path would), then queue the call for a consumer that runs the same ingest use case. The
// partition key is a keyed hash of the call's first usable identifier, so one person's calls stay
// on one shard in order and no personal value is ever a partition key. The calls of a batch it
// refuses (invalid, or not taken by the queue) are kept in ONE entry, as the sync path keeps them.

export type QueuedIntakeDeps = {
  readonly queue: IngestQueue;
  /** the queue's record format (the Kinesis envelope) */
  readonly encode: (call: QueuedCall) => Uint8Array;
  readonly ingest: IngestUseCase;
  readonly ports: Pick<CorePorts, 'hasher' | 'settings' | 'clock'>;
};

type Prepared = { readonly index: number; readonly call: unknown; readonly messageId: string; readonly record: QueueRecord };

export class QueuedIntake implements CallIntake {
  constructor(private readonly deps: QueuedIntakeDeps) {}

  async one(tenant: string, source: IngestSource, raw: unknown, receivedAt = this.deps.ports.clock.now()): Promise<AcceptOutcome> {
    return (await this.accept(tenant, source, [raw], receivedAt))[0]!;
  }

  async batch(
    tenant: string,
    source: IngestSource,
    body: unknown,
    receivedAt = this.deps.ports.clock.now(),
    options: BatchOptions = {},
  ): Promise<readonly AcceptOutcome[]> {
    const parsed = SegmentBatch.safeParse(body);
    if (!parsed.success) {
      throw new DomainError(
        'VALIDATION_FAILED',
        `batch body is invalid: ${zodIssues(parsed.error)
          .map((i) => `${i.path}: ${i.message}`)
          .join('; ')}`,
        ['batch'],
      );
    }
    const { batch, context, integrations } = parsed.data;
    const before = options.refused ?? [];
    const refused: { readonly at: number; readonly refused: RefusedCall }[] = before.map((r, j) => ({ at: batch.length + j, refused: r }));
    const out = await this.accept(
      tenant,
      source,
      batch.map((call) => mergeBatchDefaults(call, context, integrations)),
      receivedAt,
      async (at, _call, reason) => {
        refused.push({ at, refused: { index: options.indexes?.[at] ?? at, call: batch[at], reason } });
        return undefined;
      },
      // each call's place in the request as sent (the route may have refused some before), as the
      // sync path and a replay of the batch's quarantine entry number it: one derived id for all three
      (at) => options.indexes?.[at] ?? at,
    );
    if (refused.length) {
      const entry = refusedBatchEntry(
        body,
        options.total ?? batch.length,
        refused.map((r) => r.refused).sort((a, b) => a.index - b.index),
        requestCalls(batch, options),
      );
      const { quarantineId } = await this.deps.ingest.quarantine(tenant, source, entry.payload, entry.reason, receivedAt, undefined, entry.arrival);
      for (const r of refused) out[r.at] = { status: 'quarantined', quarantineId, error: r.refused.reason };
    }
    return out;
  }

  /** The partition key of a valid call: HMAC of its first identifier that is not blocked and normalizes. */
  private partitionKey(tenant: string, call: SegmentCall, receivedAt: number, messageId: string): string {
    const { hasher, settings } = this.deps.ports;
    const rules = settings.identityRules(tenant);
    for (const r of mapSegmentCall(call, receivedAt, 'other').identifiers) {
      // a blocked placeholder shared by many people would make one hot shard
      if (rules.isBlocked({ type: r.type, value: r.raw.trim() })) continue;
      try {
        const id = normalizeIdentifier(r.type, r.raw, { defaultRegion: settings.phoneRegion(tenant) }, r.path);
        return hasher.claimKey(tenant, id.type, id.value);
      } catch {
        // an invalid identifier is the consumer's to quarantine; try the next one for the key
      }
    }
    return hasher.claimKey(tenant, '$message', messageId);
  }

  /** `hold`: where a refused call goes; by default an entry of its own (a batch collects them into one) */
  private async accept(
    tenant: string,
    source: IngestSource,
    calls: readonly unknown[],
    receivedAt: number,
    hold: (index: number, call: unknown, reason: QuarantineReason) => Promise<AcceptOutcome | undefined> = (_i, call, reason) =>
      this.deps.ingest.quarantine(tenant, source, call, reason, receivedAt),
    positionOf: (index: number) => number = (index) => index,
  ): Promise<AcceptOutcome[]> {
    const { queue } = this.deps;
    const out: AcceptOutcome[] = new Array(calls.length);
    const refuse = async (index: number, call: unknown, reason: QuarantineReason): Promise<void> => {
      const held = await hold(index, call, reason);
      if (held) out[index] = held;
    };
    const ready: Prepared[] = [];
    for (const [index, received] of calls.entries()) {
      const raw = withoutWriteKey(received);
      // out of bounds (too deep, too large) before anything walks it, as the sync path and the
      // queue's consumer refuse it (measured as queued: with the batch's context merged in)
      const outOfBounds = callBoundsProblem(raw);
      if (outOfBounds) {
        await refuse(index, raw, outOfBounds);
        continue;
      }
      const parsed = parseSegmentCall(raw);
      if (!parsed.success) {
        const issues = zodIssues(parsed.error);
        const reason = { code: 'VALIDATION_FAILED', message: `invalid Segment call: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues };
        await refuse(index, raw, reason);
        continue;
      }
      let prepared: Prepared;
      try {
        prepared = this.prepare(tenant, source, index, positionOf(index), raw, parsed.data, receivedAt);
      } catch (e) {
        // out of bounds (an amount, a currency, a timestamp): refused now, as the sync path would
        if (!(e instanceof DomainError)) throw e;
        const reason = { code: e.code, message: e.message, issues: [{ path: formatPath(e.path), message: e.message }] };
        await refuse(index, raw, reason);
        continue;
      }
      if (recordBytes(prepared.record) > queue.limits.maxRecordBytes) {
        const message = `the call is ${recordBytes(prepared.record)} bytes once queued; the queue takes at most ${queue.limits.maxRecordBytes}`;
        await refuse(index, raw, { code: 'VALIDATION_FAILED', message, issues: [{ path: '(root)', message }] });
        continue;
      }
      ready.push(prepared);
    }
    for (const chunk of chunkRecords(
      ready.map((p) => ({ ...p.record, prepared: p })),
      queue.limits,
    )) {
      const results = await this.send(chunk.map(({ partitionKey, data }) => ({ partitionKey, data })));
      for (const [i, { prepared: p }] of chunk.entries()) {
        const r = results[i] ?? { ok: false, retryable: true, code: 'NO_RESULT', message: 'the queue returned no result for this record' };
        if (r.ok) out[p.index] = { status: 'queued', messageId: p.messageId };
        else await refuse(p.index, p.call, queueUnavailable(r.code, r.message));
      }
    }
    return out;
  }

  private prepare(tenant: string, source: IngestSource, index: number, position: number, raw: unknown, call: SegmentCall, receivedAt: number): Prepared {
    const { hasher } = this.deps.ports;
    const messageId = call.messageId ?? derivedMessageId(hasher, tenant, call, payloadHash(hasher, tenant, raw), receivedAt, position);
    // a call known by when it was received and its place in its batch (no messageId, no timestamp)
    // is queued alone: it carries the id it was given here, so a redelivery is the same call
    const queued = call.messageId === undefined && call.timestamp === undefined ? { ...(raw as object), messageId } : raw;
    const data = this.deps.encode({ tenant, source: source.name, receivedAt, call: queued });
    return { index, call: raw, messageId, record: { partitionKey: this.partitionKey(tenant, call, receivedAt, messageId), data } };
  }

  private async send(records: readonly QueueRecord[]) {
    try {
      return await this.deps.queue.send(records);
    } catch (e) {
      // nothing is lost: every record of the chunk is quarantined as not queued
      return records.map(() => ({ ok: false as const, retryable: true, code: 'QUEUE_ERROR', message: (e as Error).message }));
    }
  }
}

const queueUnavailable = (code: string, message: string): QuarantineReason => ({
  code: 'QUEUE_UNAVAILABLE',
  message: `the ingest queue did not take this call (${code}: ${message}); it is kept here and can be replayed`,
  issues: [],
});
