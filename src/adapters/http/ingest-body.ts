import type { Context } from 'hono';
import type { Principal } from '../../application/ports/access.port.js';
import type { AppEnv, Gate } from './auth.js';
import { BATCH_BODY_DEPTH, MAX_JSON_DEPTH, parseJson, readBody, unreadable, type BodyRefusal } from './body.js';
import { HttpError } from './errors.js';
import { BODY_EXCERPT_BYTES, type BodyExcerpt, excerptOfBytes, withoutWriteKeys, writeKeysIn } from '../body-excerpt.js';
import type { HttpDeps } from './http.deps.js';

// The body of an ingest route (Segment calls, interest capture): auth by header or body writeKey,
// a bounded read (gzip and deflate decoded, the bound on the decoded bytes), JSON of any content
// type (the SDKs send application/json, text/plain from sendBeacon, or a form type with a gzip
// body), at most MAX_JSON_DEPTH deep (a batch body BATCH_BODY_DEPTH as a whole; each of its calls is held to MAX_JSON_DEPTH by the route, refused alone). Unreadable JSON is kept in the quarantine, then refused; so
// is a body refused before it could be parsed (too large, cut short or stalled past the request
// timeout, not UTF-8, an encoding that does not decode), as a bounded excerpt: its first BODY_EXCERPT_BYTES decoded and its size, never
// more. A body refused while still compressed (or in an encoding that is unknown or does not
// decode) keeps no bytes at all, only its size and encoding: compressed bytes would hide the
// identifiers an erasure looks for and the write key that must be masked.

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The header that names the source of the calls (its priority and channel), instead of the credential's own. */
export const SOURCE_HEADER = 'C360-Source';
const SOURCE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * A credential with the admin scope (trusted with every scope) may say which source its calls come
 * from: `c360 seed --url` sends each source's calls as that source, as a seed into the store does.
 * A write key's calls always count as its own source: a key handed to a browser must not claim the
 * priority of the CRM.
 */
const sourced = (principal: Principal, header: string | undefined): Principal => {
  if (header === undefined) return principal;
  const issues = [{ path: SOURCE_HEADER, message: 'a source name: letters, digits, _ . -, at most 64' }];
  if (!principal.scopes.has('admin'))
    throw new HttpError(
      'FORBIDDEN',
      `only a credential with the admin scope may name the source (${SOURCE_HEADER}); calls under ${principal.id} count as its own source`,
      [{ path: SOURCE_HEADER, message: 'needs the admin scope' }],
    );
  if (!SOURCE_NAME.test(header)) throw new HttpError('VALIDATION_FAILED', `${SOURCE_HEADER} must name a source (e.g. crm)`, issues);
  return { ...principal, source: header };
};

export { BODY_EXCERPT_BYTES, type BodyExcerpt };

const lossy = new TextDecoder();

/** `secret`: a write key the body names, as written there, masked in what is kept (byte for byte, so offsets still hold) */
export const excerptOf = (read: BodyRefusal, secret?: string): BodyExcerpt =>
  // still encoded: its size and encoding only, never the bytes
  read.headEncoding !== undefined
    ? { bytes: read.size, kept: 0, contentEncoding: read.headEncoding }
    : excerptOfBytes(read.head, read.size, secret ? [secret] : []);

/** The write key a body refused unparsed names, if its first bytes show one: as written (to mask) and unescaped (to check). */
const writeKeyIn = (read: BodyRefusal): { readonly raw: string; readonly key: string | undefined } | undefined =>
  read.headEncoding === undefined ? writeKeysIn(lossy.decode(read.head.subarray(0, BODY_EXCERPT_BYTES)))[0] : undefined;

export const receiveIngestBody = async (
  c: Context<AppEnv>,
  deps: Pick<HttpDeps, 'core'>,
  gate: Gate,
  limit: number,
  what: 'call' | 'batch',
): Promise<{ principal: Principal; body: unknown; size: number; depth: number }> => {
  const address = c.get('clientAddress');
  let principal = gate.ingestByHeader(c.req.header('authorization'), address);
  const read = await readBody(c, limit, { excerpt: BODY_EXCERPT_BYTES });
  if (!read.ok) {
    const refused = unreadable(read, limit, what);
    // kept for the credential that sent it; a body no credential vouches for is refused only
    const named = writeKeyIn(read);
    if (!principal && named?.key !== undefined) principal = gate.ingestByWriteKey(named.key, address);
    if (!principal) throw refused;
    principal = sourced(principal, c.req.header(SOURCE_HEADER));
    c.set('principal', principal);
    const excerpt = excerptOf(read, named?.raw);
    const reason = { code: refused.code, message: refused.message, issues: refused.issues };
    const quarantineId = await deps.core.quarantine.hold(principal.tenant, principal.source, excerpt, reason, undefined, 'body');
    const kept =
      excerpt.contentEncoding !== undefined
        ? `only its size and Content-Encoding were kept (no ${excerpt.contentEncoding} bytes)`
        : excerpt.kept === excerpt.bytes
          ? 'the body was kept'
          : `its first ${excerpt.kept} bytes were kept`;
    throw new HttpError(refused.code, `${refused.message}; ${kept} in the quarantine`, refused.issues, refused.headers, { quarantineId });
  }
  const parsed = parseJson(read.text, what === 'batch' ? BATCH_BODY_DEPTH : MAX_JSON_DEPTH);
  const value = parsed.ok || parsed.code !== 'MALFORMED_JSON' ? parsed.value : undefined;
  principal ??= gate.ingestByWriteKey(isObject(value) && typeof value.writeKey === 'string' ? value.writeKey : undefined, address);
  principal = sourced(principal, c.req.header(SOURCE_HEADER));
  c.set('principal', principal);
  if (!parsed.ok) {
    // kept as the text received: a value nested too deep would overflow whatever serializes it next
    const reason = { code: parsed.code, message: parsed.message, issues: parsed.issues };
    const quarantineId = await deps.core.quarantine.hold(principal.tenant, principal.source, withoutWriteKeys(read.text), reason, undefined, 'body');
    throw new HttpError(parsed.code, `${parsed.message}; the body was kept in the quarantine`, parsed.issues, {}, { quarantineId });
  }
  return { principal, body: parsed.value, size: read.size, depth: parsed.depth };
};
