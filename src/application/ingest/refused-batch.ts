import type { QuarantineReason } from '../ports/quarantine.port.js';
import { deeperThan, deepJsonText, MAX_KEPT_DEPTH } from './call-bounds.js';
import { withoutWriteKey } from './call-shape.js';

// The calls of one batch request that were refused are kept together in ONE quarantine entry,
// whatever their number, so nothing is lost and one request writes a bounded number of entries.
// The entry holds the batch body with its shared context, its "batch" cut down to the refused
// calls as received, and "refused": each call's index in the request with its reason. Its match
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

/** The payload and reason of the one entry keeping a batch's refused calls (`total`: calls in the request). */
export const refusedBatchEntry = (
  body: unknown,
  total: number,
  refused: readonly RefusedCall[],
): { readonly payload: Json; readonly reason: QuarantineReason } => {
  const issues = refused.flatMap((r) =>
    r.reason.issues.map((i) => ({ path: `batch[${r.index}]${i.path === '(root)' ? '' : `.${i.path}`}`, message: i.message })),
  );
  const message = `${refused.length} of the ${total} calls of a batch were refused (kept in "batch", their indexes and reasons in "refused")`;
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
