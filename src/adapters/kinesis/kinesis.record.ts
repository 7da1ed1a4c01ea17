import { createHmac, timingSafeEqual } from 'node:crypto';
import { callBoundsProblem } from '../../application/ingest/call-bounds.js';
import type { Authenticator } from '../../application/ports/access.port.js';
import type { QuarantineReason } from '../../application/ports/quarantine.port.js';
import { BODY_EXCERPT_BYTES, excerptOfBytes, mask, withoutWriteKeys, writeKeysIn } from '../body-excerpt.js';

// What a Kinesis record carries: our envelope (written by the async intake, tenant and source
// already known) or a bare Segment call from another producer, whose tenant comes from its
// writeKey or the consumer's configuration. The envelope names its tenant and source with no
// credential of its own, so it is signed: an HMAC-SHA256 under a key derived from the claim secret
// (envelopeKey; the api function and the consumer both hold that secret, a producer with only
// PutRecord on the stream does not). An envelope that is unsigned or whose signature does not
// verify is quarantined as ENVELOPE_NOT_AUTHENTIC under the consumer's default tenant (never the
// one it names), not ingested. The signature covers the envelope's bytes after its own member:
// `{"c360":1,"sig":"<43 base64url>",` then the rest exactly as written. Decoding never throws: what cannot be attributed or
// read is handed back with a quarantine reason, and a write key never reaches the quarantine. A
// call out of the bounds every intake holds calls to (call-bounds.ts: 64 levels deep, 32 KB) is
// handed back so too, with the reason the HTTP API answers (NESTING_TOO_DEEP, CALL_TOO_LARGE,
// BODY_NOT_UTF8 for a lone surrogate). A refused record over BODY_EXCERPT_BYTES is kept as an
// excerpt (see decodeKinesisRecord); text that is not JSON has its write keys masked.

/** Where JSON.parse failed, without its message: V8 quotes a piece of the input, which may be personal data. */
const jsonErrorWhere = (e: unknown): string => {
  const at = /position (\d+)/.exec((e as Error).message ?? '');
  return at ? `syntax error at position ${at[1]}` : 'syntax error';
};

export type KinesisCall = { readonly tenant: string; readonly source: string; readonly receivedAt?: number | undefined; readonly call: unknown };

export type DecodedRecord =
  | { readonly ok: true; readonly value: KinesisCall }
  | { readonly ok: false; readonly tenant: string; readonly source: string; readonly reason: QuarantineReason; readonly raw: unknown };

export type DecodeContext = {
  readonly auth: Authenticator;
  readonly defaultTenant?: string | undefined;
  readonly defaultSource?: string | undefined;
  /** the key envelopes are signed with (envelopeKey of the claim secret); without it every envelope is refused */
  readonly envelopeKey?: Uint8Array | undefined;
};

/** the tenant an unattributable record is quarantined under when no default is configured */
export const UNASSIGNED_TENANT = '_unassigned';
export const DEFAULT_KINESIS_SOURCE = 'kinesis';

const ENVELOPE_VERSION = 1;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const lossy = new TextDecoder();
const encoder = new TextEncoder();

/** The label that sets the envelope key apart from every other use of the claim secret. */
const ENVELOPE_KEY_LABEL = 'c360/kinesis-envelope/v1';

/** The key our envelopes are signed with: HMAC-SHA256(claim secret, a label of its own), never the secret itself. */
export const envelopeKey = (claimSecret: string | Uint8Array): Uint8Array =>
  new Uint8Array(createHmac('sha256', claimSecret).update(ENVELOPE_KEY_LABEL).digest());

const signature = (key: Uint8Array, signed: string): Buffer => createHmac('sha256', key).update(signed, 'utf8').digest();
/** what an envelope begins with: its version, then its signature (43 characters of base64url) */
const SIGNED_ENVELOPE = /^\{"c360":1,"sig":"([A-Za-z0-9_-]{43})",/;

/** Our envelope, signed with `key` (envelopeKey of the claim secret the consumer holds too). */
export const encodeKinesisCall = (c: KinesisCall, key: Uint8Array): Uint8Array => {
  // the members after the signature, exactly as they are signed
  const rest = JSON.stringify({ tenant: c.tenant, source: c.source, receivedAt: c.receivedAt, call: c.call }).slice(1);
  return encoder.encode(`{"c360":${ENVELOPE_VERSION},"sig":"${signature(key, rest).toString('base64url')}",${rest}`);
};

/** Why an envelope's text is not ours as signed, or undefined when its signature verifies. */
const notAuthentic = (text: string, key: Uint8Array | undefined): string | undefined => {
  const signed = SIGNED_ENVELOPE.exec(text);
  if (!signed) return 'the envelope is not signed';
  if (!key) return 'this consumer has no envelope key to verify it with';
  const given = Buffer.from(signed[1]!, 'base64url');
  const expected = signature(key, text.slice(signed[0].length));
  return given.length === expected.length && timingSafeEqual(given, expected) ? undefined : "the envelope's signature does not verify";
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const withoutWriteKey = (v: unknown): unknown => {
  if (!isObject(v) || !('writeKey' in v)) return v;
  const { writeKey: _secret, ...rest } = v;
  return rest;
};

const reason = (code: string, message: string, path?: string): QuarantineReason => ({ code, message, issues: path ? [{ path, message }] : [] });

/**
 * The record decoded; one refused that is larger than BODY_EXCERPT_BYTES (Kinesis takes up to 1 MiB)
 * is kept as the HTTP intake keeps a body refused before it was parsed: its first bytes and its
 * size (an excerpt, write keys masked), so that what the quarantine holds stays bounded.
 */
export const decodeKinesisRecord = (data: Uint8Array, ctx: DecodeContext): DecodedRecord => {
  const decoded = decodeWhole(data, ctx);
  if (decoded.ok || data.byteLength <= BODY_EXCERPT_BYTES) return decoded;
  const raw = excerptOfBytes(data, data.byteLength);
  const kept = `the record is ${data.byteLength} bytes; its first ${raw.kept} are kept`;
  return { ...decoded, raw, reason: { ...decoded.reason, message: `${decoded.reason.message}; ${kept}` } };
};

const decodeWhole = (data: Uint8Array, ctx: DecodeContext): DecodedRecord => {
  const fallback = { tenant: ctx.defaultTenant ?? UNASSIGNED_TENANT, source: ctx.defaultSource ?? DEFAULT_KINESIS_SOURCE };
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    // write keys masked in the bytes, as in an excerpt
    const masked = mask(
      data,
      writeKeysIn(lossy.decode(data)).map((w) => w.raw),
    );
    const raw = Buffer.from(masked.buffer, masked.byteOffset, masked.byteLength).toString('base64');
    return { ok: false, ...fallback, raw, reason: reason('UNDECODABLE_RECORD', 'the record data is not UTF-8 text; it is kept base64-encoded') };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return {
      ok: false,
      ...fallback,
      raw: withoutWriteKeys(text),
      reason: reason('UNDECODABLE_RECORD', `the record data is not JSON (${jsonErrorWhere(e)}); send one Segment call as a JSON object per record`),
    };
  }
  const decoded = isObject(parsed) && 'c360' in parsed ? envelope(parsed, text, ctx, fallback) : bareCall(parsed, ctx, fallback);
  if (!decoded.ok) return decoded;
  // a call out of bounds (too deep, too large, a lone surrogate) is refused here as the HTTP intake
  // refuses it: never an exception, so never a failure the shard would be read again for
  const outOfBounds = callBoundsProblem(decoded.value.call);
  if (outOfBounds) return { ok: false, tenant: decoded.value.tenant, source: decoded.value.source, raw: decoded.value.call, reason: outOfBounds };
  return decoded;
};

const envelope = (e: Record<string, unknown>, text: string, ctx: DecodeContext, fallback: { tenant: string; source: string }): DecodedRecord => {
  const { c360, tenant, source, receivedAt, call } = e;
  const bad = (message: string, path: string, code = 'UNDECODABLE_RECORD'): DecodedRecord => ({
    ok: false,
    ...fallback,
    raw: { ...e, call: withoutWriteKey(call) },
    reason: reason(code, message, path),
  });
  if (c360 !== ENVELOPE_VERSION) return bad(`envelope version ${JSON.stringify(c360)} is not supported (expected ${ENVELOPE_VERSION})`, 'c360');
  // before anything it names is believed: the tenant and source are taken from a signed envelope only
  const why = notAuthentic(text, ctx.envelopeKey);
  if (why)
    return bad(
      `${why}: only the platform's queued intake (the api function in async mode) writes envelopes, signed with a key derived from the claim secret; another producer sends bare Segment calls with their writeKey`,
      'sig',
      'ENVELOPE_NOT_AUTHENTIC',
    );
  if (typeof tenant !== 'string' || tenant === '') return bad('the envelope has no tenant', 'tenant');
  if (typeof source !== 'string' || source === '')
    return {
      ok: false,
      tenant,
      source: fallback.source,
      raw: { ...e, call: withoutWriteKey(call) },
      reason: reason('UNDECODABLE_RECORD', 'the envelope has no source', 'source'),
    };
  const at = typeof receivedAt === 'number' && Number.isFinite(receivedAt) ? receivedAt : undefined;
  return { ok: true, value: { tenant, source, receivedAt: at, call: withoutWriteKey(call) } };
};

const bareCall = (call: unknown, ctx: DecodeContext, fallback: { tenant: string; source: string }): DecodedRecord => {
  const writeKey = isObject(call) ? call.writeKey : undefined;
  const clean = withoutWriteKey(call);
  if (writeKey !== undefined) {
    const principal = typeof writeKey === 'string' ? ctx.auth.byWriteKey(writeKey) : undefined;
    if (!principal)
      return {
        ok: false,
        ...fallback,
        raw: clean,
        reason: reason('UNKNOWN_WRITE_KEY', "the call carries a writeKey that no credential knows; fix the producer's key", 'writeKey'),
      };
    if (!principal.scopes.has('ingest')) {
      return {
        ok: false,
        ...fallback,
        raw: clean,
        reason: reason('UNKNOWN_WRITE_KEY', `write key ${principal.id} may not ingest; give it the ingest scope`, 'writeKey'),
      };
    }
    return { ok: true, value: { tenant: principal.tenant, source: principal.source, call: clean } };
  }
  if (ctx.defaultTenant === undefined) {
    return {
      ok: false,
      ...fallback,
      raw: clean,
      reason: reason('UNKNOWN_TENANT', 'the call has no writeKey and no default tenant is configured for this stream', 'writeKey'),
    };
  }
  return { ok: true, value: { tenant: ctx.defaultTenant, source: fallback.source, call: clean } };
};
