import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Channel } from '../../domain/customer/customer.events.js';
import type { StoredEvent } from '../../application/ports/event-store.port.js';

// The event table's item shapes, shared by the event store, the DynamoDB Streams projector and the
// poller (a stream record's NewImage has exactly this shape). One table holds every kind of item:
//   event        pk = T#<tenant>#S#<streamId>   sk = version (1..n)
//   claim        pk = T#<tenant>#C#<claimKey>   sk = 0        kind, tenant, key, owner
//   idempotency  pk = T#<tenant>#I#<messageId>  sk = 0        kind, tenant, key, payloadHash, expiresAt, ttl
//   snapshot     pk = T#<tenant>#N#<streamId>   sk = 0        kind, tenant, streamId, version, snapshot (JSON)
// Events also carry gpk/gsk for the `by-commit` index that reads a tenant's log without a scan:
//   gpk = T#<tenant>#B#<bucket> (streams spread over BUCKETS partitions), gsk = <stamp>#<streamId>#<version>
// The stamp is assigned by the writer per commit (see commitStamp), so every event of one commit
// shares it and gsk order is commit order; gsk is also the event's `position`.

export type Item = Record<string, AttributeValue>;

export const BUCKETS = 8;
export const BY_COMMIT_INDEX = 'by-commit';

export const streamPk = (tenant: string, streamId: string): string => `T#${tenant}#S#${streamId}`;
export const claimPk = (tenant: string, key: string): string => `T#${tenant}#C#${key}`;
export const idempotencyPk = (tenant: string, key: string): string => `T#${tenant}#I#${key}`;
export const snapshotPk = (tenant: string, streamId: string): string => `T#${tenant}#N#${streamId}`;

/** Stable bucket of a stream (FNV-1a), so one stream's events share a partition of the index. */
export const bucketOf = (streamId: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < streamId.length; i++) h = Math.imul(h ^ streamId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % BUCKETS;
};
export const bucketPk = (tenant: string, bucket: number): string => `T#${tenant}#B#${bucket}`;
const pad = (n: number, width: number): string => String(n).padStart(width, '0');
/**
 * One commit's place in the tenant's order: writer's clock (ms), writer id, writer's own counter.
 * Fixed width, so string order is time order, then a stable order between writers in the same ms.
 */
export const commitStamp = (ms: number, writer: string, counter: number): string => `${pad(ms, 15)}.${writer}.${pad(counter, 10)}`;
/** Without a stamp (events built outside a commit, e.g. in tests), the event's own recordedAt stands in. */
export const commitSortKey = (e: Pick<StoredEvent, 'recordedAt' | 'streamId' | 'version'>, stamp = commitStamp(e.recordedAt, '00000000', 0)): string =>
  `${stamp}#${e.streamId}#${pad(e.version, 10)}`;
/** The commit time (ms) a position was stamped with. */
export const positionTime = (position: string): number => Number(position.slice(0, 15));

const s = (v: string): AttributeValue => ({ S: v });
const n = (v: number): AttributeValue => ({ N: String(v) });

export const toEventItem = (e: StoredEvent, stamp?: string): Item => {
  const item: Item = {
    pk: s(streamPk(e.tenant, e.streamId)),
    sk: n(e.version),
    kind: s('event'),
    tenant: s(e.tenant),
    streamId: s(e.streamId),
    eventId: s(e.eventId),
    type: s(e.type),
    v: n(e.v),
    observedAt: n(e.observedAt),
    recordedAt: n(e.recordedAt),
    source: s(e.source),
    sourcePriority: n(e.sourcePriority),
    channel: s(e.channel),
    gpk: s(bucketPk(e.tenant, bucketOf(e.streamId))),
    gsk: s(commitSortKey(e, stamp)),
  };
  // data is kept as the exact JSON we wrote: no number or empty-string surprises from marshalling
  if (e.data !== undefined) item.data = s(JSON.stringify(e.data));
  if (e.messageId !== undefined) item.messageId = s(e.messageId);
  if (e.identifierKeys !== undefined) item.identifierKeys = { L: e.identifierKeys.map(s) };
  if (e.pii !== undefined) item.pii = s(e.pii);
  return item;
};

const str = (item: Item, name: string): string => {
  const v = item[name]?.S;
  if (v === undefined) throw new Error(`event item ${item.pk?.S}/${item.sk?.N} lacks ${name}`);
  return v;
};
const num = (item: Item, name: string): number => {
  const v = item[name]?.N;
  if (v === undefined) throw new Error(`event item ${item.pk?.S}/${item.sk?.N} lacks ${name}`);
  return Number(v);
};

export const isEventItem = (item: Item | undefined): item is Item => item?.kind?.S === 'event';

export const fromEventItem = (item: Item): StoredEvent => ({
  tenant: str(item, 'tenant'),
  streamId: str(item, 'streamId'),
  version: num(item, 'sk'),
  eventId: str(item, 'eventId'),
  type: str(item, 'type'),
  v: num(item, 'v'),
  observedAt: num(item, 'observedAt'),
  recordedAt: num(item, 'recordedAt'),
  source: str(item, 'source'),
  sourcePriority: num(item, 'sourcePriority'),
  channel: str(item, 'channel') as Channel,
  messageId: item.messageId?.S,
  identifierKeys: item.identifierKeys?.L?.map((x) => x.S!),
  data: item.data?.S === undefined ? undefined : JSON.parse(item.data.S),
  pii: item.pii?.S,
  position: item.gsk?.S,
});
