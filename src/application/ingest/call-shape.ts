import type { Hasher } from '../ports/keys.port.js';
import { stableJson } from '../stable-json.js';

// What sync ingest and the queued intake must agree on, byte for byte: which fields a payload hash
// ignores (transport metadata and the credential), the id a call without messageId gets, and how
// a batch's shared context reaches its calls.

const IGNORED_FOR_HASH = new Set(['sentAt', 'receivedAt', 'writeKey', '_metadata']);
const objectOr = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});

/** Whether a top-level member of a call is left out of its payload hash. */
export const ignoredForHash = (key: string): boolean => IGNORED_FOR_HASH.has(key);

/** What a call's payload hash is taken of: its stable JSON without the members ignoredForHash. */
export const payloadText = (raw: unknown): string => stableJson(Object.fromEntries(Object.entries(raw as object).filter(([k]) => !IGNORED_FOR_HASH.has(k))));

/** keyed (HMAC under the tenant secret): a plain hash of a guessable payload would confirm its content */
export const payloadHashOfText = (hasher: Hasher, tenant: string, text: string): string => hasher.claimKey(tenant, '$payload', text);

/** A call's payload hash: payloadHashOfText of its payloadText. */
export const payloadHash = (hasher: Hasher, tenant: string, raw: unknown): string => payloadHashOfText(hasher, tenant, payloadText(raw));

/**
 * The id of a call sent without messageId. A call with a timestamp of its own is known by its
 * content: sent again (a retry, a redelivery), it is the same call. One without a timestamp cannot
 * be told from a genuine repeat by its content (a second "Product Added" of the same item), so its
 * id also holds when it was received and its place in its batch (`position`; for a stream record,
 * its sequence number): sent again, it is a new call. A client that retries such calls gives them a messageId, as Segment's libraries do.
 */
export const derivedMessageId = (
  hasher: Hasher,
  tenant: string,
  call: { readonly timestamp?: string | undefined },
  payloadHash: string,
  receivedAt: number,
  position: number | string,
): string =>
  call.timestamp !== undefined ? `derived-${payloadHash}` : `derived-${hasher.claimKey(tenant, '$received', `${payloadHash}|${receivedAt}|${position}`)}`;

/** A call sent with a messageId or a timestamp of its own: sent again, it is the same call (see derivedMessageId). */
export const knownByContent = (v: unknown): boolean =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  ((v as { messageId?: unknown }).messageId != null || (v as { timestamp?: unknown }).timestamp != null);

/** A write key is a credential: it is neither queued nor quarantined. */
export const withoutWriteKey = (raw: unknown): unknown => {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw) || !('writeKey' in raw)) return raw;
  const { writeKey: _secret, ...rest } = raw as Record<string, unknown>;
  return rest;
};

/** Batch-level context and integrations apply to every call; the call's own fields win. */
export const mergeBatchDefaults = (call: unknown, context: object | undefined, integrations: object | undefined): unknown => {
  if (!call || typeof call !== 'object' || Array.isArray(call)) return call;
  const own = call as Record<string, unknown>;
  return {
    ...own,
    ...(context || own.context ? { context: { ...context, ...objectOr(own.context) } } : {}),
    ...(integrations || own.integrations ? { integrations: { ...integrations, ...objectOr(own.integrations) } } : {}),
  };
};
