import { quarantinePayloadJson, type QuarantineReason } from '../ports/quarantine.port.js';
import { deeperThan, deepJsonText, MAX_KEPT_DEPTH } from './call-bounds.js';
import { stableJson } from '../stable-json.js';
import { ignoredForHash, knownByContent, payloadText, withoutWriteKey } from './call-shape.js';

// The calls of one batch request that were refused are kept together in ONE quarantine entry,
// whatever their number, so nothing is lost and one request writes a bounded number of entries.
// The entry holds the batch body with its shared context, its "batch" cut down to the refused
// calls as received, and "refused": each call's index in the request with its reason. The issue
// paths of its reason name each call by that index too (batch[<index>]), as the request's answer
// did, not by its place in the entry's "batch"; the reason's message says so. Its match
// keys (for erasure) are taken from that whole payload like any entry's; a replay ingests each
// call again with the batch's context (QuarantineUseCases.replay).

export const BATCH_CALLS_REFUSED = 'BATCH_CALLS_REFUSED';

export type RefusedCall = { readonly index: number; readonly call: unknown; readonly reason: QuarantineReason };

/**
 * When a batch body holds only some of the request's calls (the HTTP edge refused the others for
 * their shape): `indexes`, each call's index in the request; `total`, the request's number of
 * calls; `refused`, the calls refused already, kept in the same one entry, their outcomes
 * following those of the body's calls in the answer.
 */
export type BatchOptions = {
  readonly indexes?: readonly number[] | undefined;
  readonly total?: number | undefined;
  readonly refused?: readonly RefusedCall[] | undefined;
};

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The calls of the request a batch body came from, in request order: the body's (at `options.indexes`) and those refused before it (`options.refused`). */
export const requestCalls = (calls: readonly unknown[], options: BatchOptions = {}): unknown[] =>
  [...calls.map((call, at) => ({ index: options.indexes?.[at] ?? at, call })), ...(options.refused ?? []).map((r) => ({ index: r.index, call: r.call }))]
    .sort((a, b) => a.index - b.index)
    .map((c) => c.call);

/** The members of an object that identify it, as a call's payload hash takes them: without transport metadata (`sentAt`, ...) and the write key. */
const identifying = (v: unknown): unknown => (isObject(v) ? Object.fromEntries(Object.entries(v).filter(([k]) => !ignoredForHash(k))) : v);

/**
 * What names the arrival of a batch's refused calls (IngestUseCase.quarantine's `arrival`): the
 * request they came in, every call of it (accepted ones too) and its shared fields, each without
 * its transport metadata, which an SDK sets anew on a retry (`sentAt`). A retry of the same request
 * is then the entry that holds its refused calls already, and two requests that differ in any call
 * or shared field are two entries. Only when every refused call has a messageId or a timestamp:
 * one without either is a new call each time it is sent (see derivedMessageId), and so is its entry.
 */
const batchArrival = (body: unknown, refused: readonly RefusedCall[], request: readonly unknown[]): string | undefined => {
  if (!refused.every((r) => knownByContent(r.call))) return undefined;
  const { batch: _calls, ...shared } = isObject(body) ? body : {};
  return `batch\u0000${stableJson({ shared: identifying(shared), calls: request.map((c) => (isObject(c) ? payloadText(c) : stableJson(c))) })}`;
};

/**
 * The content that identifies an entry written by refusedBatchEntry, for its id: its payload
 * without the transport metadata of the batch (`sentAt`) and of each call, so that a retry whose
 * SDK set a new `sentAt` is the same entry. Undefined for any other entry.
 */
export const batchIdentity = (reason: QuarantineReason, payload: unknown): string | undefined => {
  if (reason.code !== BATCH_CALLS_REFUSED) return undefined;
  // as a store gives it back (a non-finite number as its {$nonFinite} mark): a retry and the entry kept agree
  const text = quarantinePayloadJson(payload);
  const held = text === undefined ? undefined : refusedBatchCalls(reason, JSON.parse(text));
  if (!held) return undefined;
  return stableJson({ ...(identifying(held.body) as Json), batch: held.calls.map((c) => identifying(c.call)) });
};

/**
 * The payload and reason of the one entry keeping a batch's refused calls (`total`: calls in the
 * request), and, given the request's calls (`request`, in request order), what names its arrival
 * (batchArrival; undefined when a refused call can only be told from a repeat by when it came).
 */
export const refusedBatchEntry = (
  body: unknown,
  total: number,
  refused: readonly RefusedCall[],
  request?: readonly unknown[],
): { readonly payload: Json; readonly reason: QuarantineReason; readonly arrival?: string | undefined } => {
  const issues = refused.flatMap((r) =>
    r.reason.issues.map((i) => ({ path: `batch[${r.index}]${i.path === '(root)' ? '' : `.${i.path}`}`, message: i.message })),
  );
  const message = `${refused.length} of the ${total} calls of a batch were refused (kept in "batch" in request order; "refused" holds, at the same place, each one's index in the request and its reasons; the issue paths name each call by that index, batch[<index>])`;
  return {
    payload: {
      ...(isObject(body) ? body : {}),
      // a write key is a credential: never kept, at the top or in a call
      // a call too deep for the stores' serializers as its JSON text (replayed, it is refused again)
      batch: refused.map((r) => {
        const call = withoutWriteKey(r.call);
        return deeperThan(call, MAX_KEPT_DEPTH) ? deepJsonText(call) : call;
      }),
      refused: refused.map((r) => ({ index: r.index, ...r.reason })),
    },
    reason: { code: BATCH_CALLS_REFUSED, message, issues },
    ...(request === undefined ? {} : { arrival: batchArrival(body, refused, request) }),
  };
};

/** The calls of an entry written by refusedBatchEntry, with their request indexes; undefined for any other entry. */
export const refusedBatchCalls = (
  reason: QuarantineReason,
  payload: unknown,
): { readonly body: Json; readonly calls: readonly { readonly index: number; readonly call: unknown }[] } | undefined => {
  if (reason.code !== BATCH_CALLS_REFUSED || !isObject(payload)) return undefined;
  const { batch, refused } = payload;
  if (!Array.isArray(batch) || !Array.isArray(refused) || batch.length !== refused.length) return undefined;
  const calls = batch.map((call, i) => {
    const r: unknown = refused[i];
    return { index: isObject(r) && typeof r.index === 'number' ? r.index : i, call };
  });
  return { body: payload, calls };
};
