import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { identityChangesOf } from '../../application/identity-changes.js';
import type { StoredEvent } from '../../application/ports/event-store.port.js';
import type { DataKey } from '../../application/ports/keys.port.js';
import type { Customer360Projector, ViewDocs } from '../../application/projection/customer360.projector.js';
import type { RecordedEvent } from '../../domain/customer/customer.events.js';
import { fromEventItem, isEventItem } from './dynamodb.event-item.js';
import { PrefetchedDocs, readsMany } from './dynamodb.prefetched-docs.js';
import { loggableMessage } from '../loggable-message.js';

// The DynamoDB Streams projector core, shared by the Lambda handler and the local poller. Stream
// records arrive at least once, ordered only per item; the projector skips duplicates and re-reads
// gaps from the log, so this layer only has to decide what to hand it and what to report back.
//
// Two kinds of trouble, told apart on purpose:
// - transient (AWS service errors, throttling, network): the record and every later one of the
//   batch are reported in batchItemFailures, and Lambda (or the poller) delivers them again;
// - deterministic (an item that does not unmarshal or decode, an event the projector cannot fold):
//   retrying would block the whole shard, every customer on it, forever. Such a record is listed
//   in `rejected` with the reason and the batch goes on, as the quarantine does for bad input.

export type StreamImage = Record<string, AttributeValue>;

/** The fields used from a DynamoDB Streams record, in the Lambda event and the GetRecords shape. */
export type DynamoDbStreamRecord = {
  readonly eventID?: string | undefined;
  readonly eventName?: string | undefined;
  readonly dynamodb?:
    | { readonly Keys?: StreamImage | undefined; readonly NewImage?: StreamImage | undefined; readonly SequenceNumber?: string | undefined }
    | undefined;
};

export type RejectedRecord = {
  readonly sequenceNumber: string | undefined;
  readonly eventID: string | undefined;
  /** pk/sk of the item, when readable: enough to find the stored event again */
  readonly item: string;
  readonly reason: { readonly code: 'UNREADABLE_EVENT_ITEM' | 'UNDECODABLE_EVENT' | 'PROJECTION_FAILED'; readonly message: string };
};

export type StreamBatchResult = {
  /** exactly what Lambda's ReportBatchItemFailures expects */
  readonly batchItemFailures: { readonly itemIdentifier: string }[];
  readonly rejected: readonly RejectedRecord[];
  /** the transient errors behind batchItemFailures, for logs */
  readonly errors: readonly unknown[];
  readonly projected: number;
  readonly ignored: number;
};

/** Where a batch's refusals and counts go: Lambda's logger and EMF metrics, or the server's JSON log lines and /metrics. */
export type StreamBatchReporting = {
  readonly logger: { error(message: string, fields: Record<string, unknown>): void };
  readonly metrics: { increment(name: 'streams_records' | 'streams_records_rejected' | 'streams_records_failed', value?: number): void };
};

/**
 * Reports a handled batch the same way on Lambda and on the local poller: every refused record as
 * an error line with its reason (a refused record is skipped for good: its view misses it until a
 * rebuild), and the batch's counts.
 */
export const reportStreamBatch = (records: number, result: StreamBatchResult, to: StreamBatchReporting): void => {
  for (const r of result.rejected)
    to.logger.error('stream record rejected', {
      sequenceNumber: r.sequenceNumber,
      eventID: r.eventID,
      item: r.item,
      reason: r.reason.code,
      // the error's own words (DynamoDB's "Item size has exceeded the maximum allowed size"), as a
      // log line may carry them: what could quote a record's content (values, emails, digits) masked
      detail: loggableMessage(r.reason.message),
    });
  to.metrics.increment('streams_records', records);
  to.metrics.increment('streams_records_rejected', result.rejected.length);
  to.metrics.increment('streams_records_failed', result.batchItemFailures.length);
};

type Entry = { readonly index: number; readonly stored: StoredEvent; event?: RecordedEvent };

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET']);

/**
 * Worth delivering again: the AWS SDK's service and network failures, except a request DynamoDB
 * refuses for its content (ValidationException): that one fails the same way every time. So does a
 * view too large to store even gzipped in parts (ViewTooLargeError, no $metadata).
 */
export const isTransient = (e: unknown): boolean => {
  if (typeof e !== 'object' || e === null) return false;
  const x = e as { $metadata?: unknown; $retryable?: unknown; code?: unknown; name?: unknown };
  if (x.name === 'ValidationException') return false;
  return x.$metadata !== undefined || x.$retryable !== undefined || NETWORK_CODES.has(String(x.code)) || x.name === 'TimeoutError' || x.name === 'AbortError';
};

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const itemName = (r: DynamoDbStreamRecord): string => {
  const keys = r.dynamodb?.Keys ?? r.dynamodb?.NewImage;
  return `${keys?.pk?.S ?? '?'}/${keys?.sk?.N ?? keys?.sk?.S ?? '?'}`;
};

/**
 * A tenant's events of one batch, split per customer stream (each stream's events together and
 * in order), so the hooks after the views (identity feed, engagement) run for every stream at
 * once: what each reads and commits shares requests with the others (the DynamoDB adapters
 * coalesce per turn) instead of waiting in line. Safe because both hooks are idempotent per
 * event and engagement commits with expected versions (two decisions racing on one cluster: the
 * loser decides again on fresh state). A batch that changes identities (merges, unmerges,
 * erasures) stays whole, so the identity feed publishes its changes together, in order.
 */
const partsOf = (tenant: string, ready: readonly Entry[]): Entry[][] => {
  if (
    identityChangesOf(
      tenant,
      ready.map((e) => e.event!),
    ).length > 0
  )
    return [[...ready]];
  const byStream = new Map<string, Entry[]>();
  for (const e of ready) {
    const part = byStream.get(e.stored.streamId);
    if (part) part.push(e);
    else byStream.set(e.stored.streamId, [e]);
  }
  return [...byStream.values()];
};

export class DynamoDbStreamsProjector {
  constructor(
    private readonly projector: Customer360Projector,
    private readonly docs: ViewDocs,
    private readonly onRejected: (rejected: readonly RejectedRecord[]) => void = () => {},
    /** after the views: the identity change feed; a failure fails the records, so they come again */
    private readonly afterProject?: ((tenant: string, events: readonly RecordedEvent[]) => Promise<void>) | undefined,
  ) {}

  async handle(records: readonly DynamoDbStreamRecord[]): Promise<StreamBatchResult> {
    const rejected: [number, RejectedRecord][] = [];
    const errors: unknown[] = [];
    let firstFailure = records.length;
    const fail = (index: number, e: unknown) => {
      errors.push(e);
      firstFailure = Math.min(firstFailure, index);
    };
    const reject = (index: number, code: RejectedRecord['reason']['code'], e: unknown) => {
      const r = records[index]!;
      rejected.push([index, { sequenceNumber: r.dynamodb?.SequenceNumber, eventID: r.eventID, item: itemName(r), reason: { code, message: message(e) } }]);
    };

    const byTenant = new Map<string, Entry[]>();
    let ignored = 0;
    records.forEach((r, index) => {
      const image = r.dynamodb?.NewImage;
      // claims, idempotency records and TTL deletions also flow through the stream
      if ((r.eventName !== 'INSERT' && r.eventName !== 'MODIFY') || !isEventItem(image)) return void ignored++;
      try {
        const stored = fromEventItem(image);
        const group = byTenant.get(stored.tenant);
        if (group) group.push({ index, stored });
        else byTenant.set(stored.tenant, [{ index, stored }]);
      } catch (e) {
        reject(index, 'UNREADABLE_EVENT_ITEM', e);
      }
    });

    let projected = 0;
    for (const [tenant, entries] of byTenant) {
      // per batch and tenant (the cache is keyed by customer id only), never kept longer: an
      // erased customer's key must stay gone
      const keys = new Map<string, DataKey | null>();
      // every entry's key at once (the key store coalesces the reads), then decoded in order
      const decoded = await Promise.all(
        entries.map(async (entry): Promise<Entry | undefined> => {
          try {
            // fetched first so that a key store outage is retried, not mistaken for a bad event
            if (entry.stored.pii !== undefined) await this.projector.keyOf(tenant, entry.stored.streamId, keys);
          } catch (e) {
            fail(entry.index, e);
            return undefined;
          }
          try {
            entry.event = (await this.projector.decodeAll(tenant, [entry.stored], keys))[0]!;
            return entry;
          } catch (e) {
            if (isTransient(e)) fail(entry.index, e);
            else reject(entry.index, 'UNDECODABLE_EVENT', e);
            return undefined;
          }
        }),
      );
      const ready = decoded.filter((e): e is Entry => e !== undefined);
      if (ready.length === 0) continue;
      // the docs of the batch's streams in one read (when the store can), not one read each
      const docs =
        ready.length > 1 && readsMany(this.docs)
          ? await PrefetchedDocs.of(
              this.docs,
              tenant,
              ready.map((e) => e.stored.streamId),
            )
          : this.docs;
      projected += await this.apply(tenant, ready, docs, keys, fail, (index, e) => reject(index, 'PROJECTION_FAILED', e));
      if (this.afterProject) await this.after(tenant, partsOf(tenant, ready), fail);
    }

    const inOrder = rejected.sort((a, b) => a[0] - b[0]).map(([, r]) => r);
    if (inOrder.length > 0) this.onRejected(inOrder);
    const batchItemFailures = records
      .slice(firstFailure)
      .flatMap((r) => (r.dynamodb?.SequenceNumber === undefined ? [] : [{ itemIdentifier: r.dynamodb.SequenceNumber }]));
    return { batchItemFailures, rejected: inOrder, errors, projected, ignored };
  }

  /** The hook (identity feed, engagement) after the views, once per part, all parts at once. */
  private async after(tenant: string, parts: readonly (readonly Entry[])[], fail: (index: number, e: unknown) => void): Promise<void> {
    await Promise.all(
      parts.map(async (part) => {
        try {
          await this.afterProject!(
            tenant,
            part.map((e) => e.event!),
          );
        } catch (e) {
          for (const entry of part) fail(entry.index, e);
        }
      }),
    );
  }

  /** The whole group in one go; if that fails, one event at a time to find who is at fault. */
  private async apply(
    tenant: string,
    entries: readonly Entry[],
    docs: ViewDocs,
    keys: Map<string, DataKey | null>,
    fail: (index: number, e: unknown) => void,
    reject: (index: number, e: unknown) => void,
  ): Promise<number> {
    if (entries.length === 0) return 0;
    try {
      await this.projector.apply(
        tenant,
        entries.map((e) => e.event!),
        docs,
        keys,
      );
      return entries.length;
    } catch {
      // fall through: everything is idempotent, so re-applying what did land is harmless
    }
    let projected = 0;
    for (const entry of entries) {
      try {
        await this.projector.apply(tenant, [entry.event!], docs, keys);
        projected++;
      } catch (e) {
        if (!isTransient(e)) reject(entry.index, e);
        else {
          // the rest is delivered again from here; Lambda retries from the first failure anyway
          fail(entry.index, e);
          return projected;
        }
      }
    }
    return projected;
  }
}
