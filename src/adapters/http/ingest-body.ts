import type { Context } from 'hono';
import type { Principal } from '../../application/ports/access.port.js';
import type { AppEnv, Gate } from './auth.js';
import { BATCH_BODY_DEPTH, MAX_JSON_DEPTH, parseJson, readBody, unreadable, type BodyRefusal } from './body.js';
import { HttpError } from './errors.js';
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

/** How much of a body refused before it was parsed the quarantine keeps: one call's worth and more. */
export const BODY_EXCERPT_BYTES = 64 * 1024;

/** What the quarantine keeps of a body refused before it was parsed. */
export type BodyExcerpt = {
  /** the body's size as far as known: its Content-Length when it did not arrive whole, else the bytes received */
  readonly bytes: number;
  /** how many of its first bytes (decoded) are kept, at most BODY_EXCERPT_BYTES; 0 when it was refused still encoded */
  readonly kept: number;
  /** the kept bytes as UTF-8 text, what is not UTF-8 shown as U+FFFD */
  readonly text?: string;
  /** the kept bytes exactly, when the text does not hold them exactly (not UTF-8) */
  readonly base64?: string;
  /** the Content-Encoding the body was refused in before it was decoded (then no bytes are kept) */
  readonly contentEncoding?: string;
};

const lossy = new TextDecoder();
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `secret`: a write key the body names, as written there, masked in what is kept (byte for byte, so offsets still hold) */
export const excerptOf = (read: BodyRefusal, secret?: string): BodyExcerpt => {
  // still encoded: its size and encoding only, never the bytes
  if (read.headEncoding !== undefined) return { bytes: read.size, kept: 0, contentEncoding: read.headEncoding };
  const head = mask(read.head.subarray(0, BODY_EXCERPT_BYTES), secret);
  const bytes = (kept: number) => ({ bytes: Math.max(read.size, head.byteLength), kept });
  const base64 = () => Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('base64');
  // an excerpt cut inside a character ends before it
  const whole = head.subarray(0, head.byteLength - (head.byteLength < read.size ? unfinished(head) : 0));
  try {
    return { ...bytes(whole.byteLength), text: utf8.decode(whole) };
  } catch {
    return { ...bytes(head.byteLength), text: lossy.decode(head), base64: base64() };
  }
};

const mask = (head: Uint8Array, secret: string | undefined): Uint8Array => {
  if (!secret) return head;
  const bytes = Buffer.from(head);
  for (let at = bytes.indexOf(secret); at >= 0; at = bytes.indexOf(secret, at + 1)) bytes.fill('*', at, at + Buffer.byteLength(secret));
  return bytes;
};

/** how many bytes at the end of `b` begin a UTF-8 character they do not finish (0 to 3) */
const unfinished = (b: Uint8Array): number => {
  for (let k = 1; k <= Math.min(3, b.length); k++) {
    const c = b[b.length - k]!;
    if ((c & 0xc0) !== 0x80) return c >= 0xc0 && (c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2) > k ? k : 0;
  }
  return 0;
};

/**
 * Every `"name": "value"` pair whose name is `writeKey`, written plainly or with JSON escapes in the
 * name or the value (`"write\u004bey"`, `"wk_\u0061bc"`): the value's span as written, and what it
 * says once unescaped. The alternatives inside a string cannot overlap, so the scan is linear.
 */
const PAIR = /"((?:[^"\\]|\\.){1,64})"\s*:\s*"((?:[^"\\]|\\.){1,1024})"/g;
const unescaped = (raw: string): string | undefined => {
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return undefined;
  }
};
const writeKeysIn = (text: string): { readonly raw: string; readonly key: string | undefined; readonly at: number }[] => {
  const found: { raw: string; key: string | undefined; at: number }[] = [];
  for (const m of text.matchAll(PAIR)) {
    if (unescaped(m[1]!) !== 'writeKey') continue;
    found.push({ raw: m[2]!, key: unescaped(m[2]!), at: m.index + m[0].length - 1 - m[2]!.length });
  }
  return found;
};

/**
 * A body kept as text although it does not parse: every write key it names is masked (character for
 * character, escapes included), as a call that parses is kept without its writeKey. A credential is
 * not personal data the quarantine is for, and whoever reads the quarantine must not learn one.
 */
const withoutWriteKeys = (text: string): string => {
  let out = '';
  let from = 0;
  for (const { raw, at } of writeKeysIn(text)) {
    out += `${text.slice(from, at)}${'*'.repeat(raw.length)}`;
    from = at + raw.length;
  }
  return from === 0 ? text : out + text.slice(from);
};

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
