import { createHash } from 'node:crypto';
import {
  type EventStoreDBClient,
  StreamDeletedError,
  StreamNotFoundError,
  jsonEvent,
  type AppendExpectedRevision,
  type JSONEventType,
  type ResolvedEvent,
} from '@eventstore/db-client';
import { type Deadline, drain } from './eventstoredb.deadline.js';

// Stream names, event encoding and the small read/append helpers every part of the adapter shares.

export const streamNames = (tenant: string) => ({
  customerPrefix: `c360-${tenant}-customer-`,
  customer: (id: string) => `c360-${tenant}-customer-${id}`,
  claim: (key: string) => `c360-${tenant}-claim-${key}`,
  idempotency: (key: string) => `c360-${tenant}-idem-${key}`,
  commit: (id: string) => `c360-${tenant}-commit-${id}`,
});

/** A name-based (v5-style) UUID, so a retried append carries the same event ids. */
export const deterministicUuid = (name: string): string => {
  const h = createHash('sha1').update(name).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
};

/** Every event the adapter writes; `commit` ties it to a commit record when the commit spans writes. */
export type Meta = { readonly commit?: string };
export type Proposed = { readonly id: string; readonly type: string; readonly data: Record<string, unknown>; readonly meta: Meta };
export type Read = { readonly revision: bigint; readonly type: string; readonly data: Record<string, unknown>; readonly meta: Meta; readonly created: number };

export const toEventData = (p: Proposed) =>
  jsonEvent<JSONEventType<string, Record<string, unknown>, Meta>>({ id: p.id, type: p.type, data: p.data, metadata: p.meta });

export const fromResolved = (r: ResolvedEvent): Read | undefined => {
  const e = r.event;
  if (!e?.isJson) return undefined;
  return { revision: e.revision, type: e.type, data: e.data as Record<string, unknown>, meta: (e.metadata ?? {}) as Meta, created: e.created.getTime() };
};

/**
 * The whole stream, drained to the end within the call's deadline. A stream that does not exist,
 * or was deleted, reads as empty.
 */
export const readWhole = async (client: EventStoreDBClient, stream: string, d: Deadline): Promise<Read[]> => {
  try {
    return (await drain(client, d, () => client.readStream(stream))).map(fromResolved).filter((e): e is Read => e !== undefined);
  } catch (error) {
    if (error instanceof StreamNotFoundError || error instanceof StreamDeletedError) return [];
    throw error;
  }
};

export const expectedAfter = (last: bigint | undefined): AppendExpectedRevision => (last === undefined ? 'no_stream' : last);

// The server refuses appends over 1 MiB by default; an event is at most 400 kB by the commit limits.
const CHUNK_BYTES = 512 * 1024;

/** Splits a stream's events into appends the server accepts. */
export const chunk = <T extends Proposed>(events: readonly T[]): T[][] => {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const e of events) {
    const size = Buffer.byteLength(JSON.stringify(e.data)) + 64;
    if (current.length > 0 && bytes + size > CHUNK_BYTES) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(e);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
};
