import { jsonDepth, MAX_JSON_DEPTH, tooDeepPath } from '../../application/ingest/call-bounds.js';
import { formatPath } from '../../application/segment/segment.schema.js';
import { firstIllFormedText, firstNonUtf8, type IllFormedText, mayHoldSurrogateEscape } from '../../domain/shared/well-formed.js';
import { HttpError } from './errors.js';

// Request bodies are read with a hard bound: a declared Content-Length above it is refused before
// reading, a streamed body is cancelled as soon as it crosses the bound, and a compressed body is
// inflated only up to the bound (the limits are on the DECODED body), so no request can make the
// server hold more than `max` bytes. A body cut short (Content-Length larger than what arrived) is
// the client's fault, not ours. The text must be UTF-8 (RFC 8259): other bytes are refused, never
// replaced with U+FFFD (two Latin-1 names would become one). A refusal carries the first bytes of
// the body (`head`, at most `excerpt` of them) for the quarantine to keep, only where they were
// decoded: a body refused while still in a Content-Encoding (over the bound or cut short before it
// was inflated, an unknown encoding, bytes that do not inflate) carries none, only that encoding
// (`headEncoding`): compressed bytes would hide whatever they hold from whoever must find or mask it.

/** Why a body could not be read, with its first bytes (`head`) and its size as far as known. */
export type BodyRefusal = (
  | { readonly reason: 'too-large'; readonly decoded: boolean }
  | { readonly reason: 'truncated' }
  /** the server's request timeout ended the wait for the rest of the body (Node's REQUEST_TIMEOUT_MS) */
  | { readonly reason: 'timed-out' }
  | { readonly reason: 'unsupported-encoding'; readonly encoding: string }
  | { readonly reason: 'undecodable'; readonly encoding: string }
  | { readonly reason: 'not-utf8'; readonly offset: number; readonly byte: number }
) & {
  readonly ok: false;
  /**
   * bytes: the Content-Length it declared when it was refused before (or without) arriving whole,
   * else the bytes received (decoded: at least that many when only the decoded body is over)
   */
  readonly size: number;
  /** the first bytes of the body (at most the reader's `excerpt`): as received when uncompressed, else as inflated; empty when it was refused still encoded */
  readonly head: Uint8Array;
  /** the Content-Encoding the body was refused in, before it was decoded (`head` is then empty) */
  readonly headEncoding?: string | undefined;
  /** the rest of the body was not read: the connection is closed after the answer */
  readonly unread: boolean;
};

export type BodyRead = { readonly ok: true; readonly text: string /** bytes, decoded */; readonly size: number } | BodyRefusal;

type Raw = { readonly ok: true; readonly bytes: Uint8Array } | BodyRefusal;

export { firstNonUtf8 } from '../../domain/shared/well-formed.js';

// JSON nesting allowed in any request body (the same bound as a call's on every other intake)
export { jsonDepth, MAX_JSON_DEPTH, tooDeepPath } from '../../application/ingest/call-bounds.js';

/**
 * JSON nesting allowed in a /v1/batch body as a whole: its calls sit two levels down (the body, its
 * batch array). Each call is held to MAX_JSON_DEPTH by itself, as a call sent alone is (the route,
 * then the core with the batch's context merged in): one deeper, up to this bound, is refused alone,
 * listed by its index in `invalid` as NESTING_TOO_DEEP, and the others are ingested, as a call over
 * 32 KB is. A body deeper than this is refused whole. Twice a call's depth: every walk of the body
 * (the quarantine's, JSON.stringify) stays far within the stack, and within MAX_KEPT_DEPTH.
 */
export const BATCH_BODY_DEPTH = 2 * MAX_JSON_DEPTH;

/** Content-Encoding values the API decodes; anything else is 415. */
export const BODY_ENCODINGS = ['gzip', 'deflate'] as const;
type Encoding = (typeof BODY_ENCODINGS)[number] | 'identity';

const encodingOf = (header: string | null | undefined): Encoding | { readonly unknown: string } => {
  const value = (header ?? '').trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'deflate') return 'deflate';
  return { unknown: value };
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The first `n` bytes of chunks (copying only those). */
const headOf = (chunks: readonly Uint8Array[], n: number): Uint8Array => {
  if (n <= 0 || chunks.length === 0) return new Uint8Array(0);
  if (chunks[0]!.byteLength >= n) return chunks[0]!.slice(0, n);
  const out: Uint8Array[] = [];
  let size = 0;
  for (const c of chunks) {
    if (size >= n) break;
    const part = c.byteLength > n - size ? c.subarray(0, n - size) : c;
    out.push(part);
    size += part.byteLength;
  }
  return concat(out, size);
};

const concat = (chunks: readonly Uint8Array[], size: number): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!;
  const all = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  return all;
};

const EMPTY = new Uint8Array(0);

/** The raw bytes of a web Request (Lambda, app.request), bounded. */
const readRequest = async (req: Request, max: number, excerpt: number): Promise<Raw> => {
  const declared = Number(req.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > max) {
    const head = excerpt > 0 && req.body ? await readHead(req.body.getReader(), excerpt) : EMPTY;
    return { ok: false, reason: 'too-large', size: declared, decoded: false, head, unread: true };
  }
  if (!req.body) return { ok: true, bytes: EMPTY };
  return drain(req.body.getReader(), max, excerpt, false);
};

/** The first `n` bytes of a stream, which is then cancelled. */
const readHead = async (reader: ReadableStreamDefaultReader<Uint8Array>, n: number): Promise<Uint8Array> => {
  const read = await drain(reader, n, n, false);
  return read.ok ? read.bytes : read.head;
};

/**
 * Reads a stream whole unless it exceeds `max` bytes (then it is cancelled); when reading throws,
 * the bytes did not decode (`encoding`) or, for the request itself, the body was cut short.
 */
const drain = async (reader: ReadableStreamDefaultReader<Uint8Array>, max: number, excerpt: number, decoded: boolean, encoding?: string): Promise<Raw> => {
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > max) {
        await reader.cancel().catch(() => {});
        return { ok: false, reason: 'too-large', size, decoded, head: headOf([...chunks, value], excerpt), unread: !decoded };
      }
      chunks.push(value);
    }
  } catch {
    const head = headOf(chunks, excerpt);
    return encoding ? { ok: false, reason: 'undecodable', encoding, size, head, unread: false } : { ok: false, reason: 'truncated', size, head, unread: false };
  }
  return { ok: true, bytes: concat(chunks, size) };
};

/** the events of a Node socket this module listens to */
type NodeSocket = {
  once(event: 'end', listener: () => void): unknown;
  off(event: 'end', listener: () => void): unknown;
};

/** The Node request under @hono/node-server (`c.env.incoming`); absent on Lambda and in app.request. */
type NodeIncoming = {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly complete: boolean;
  readonly socket?: NodeSocket | null | undefined;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (e: Error) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
  pause(): unknown;
};

const incomingOf = (env: unknown): NodeIncoming | undefined => {
  const incoming = (env as { incoming?: unknown } | undefined)?.incoming;
  return typeof incoming === 'object' && incoming !== null && 'headers' in incoming && typeof (incoming as NodeIncoming).on === 'function'
    ? (incoming as NodeIncoming)
    : undefined;
};

/**
 * What the API Gateway adapter says of a body it could not decode (`isBase64Encoded` with a body
 * that is not base64): the request carries the body as sent, and reading it is refused.
 */
export type UndecodableBodyEnv = { readonly bodyUndecodable?: string | undefined };

const undecodableOf = (env: unknown): string | undefined => {
  const v = (env as UndecodableBodyEnv | undefined)?.bodyUndecodable;
  return typeof v === 'string' ? v : undefined;
};

const declaredOf = (incoming: NodeIncoming): number => Number(incoming.headers['content-length'] ?? Number.NaN);

/**
 * The sockets whose request body a route is reading now, each with what ends that read when the
 * server's request timeout fires. A client that half-closes its connection before its body's
 * Content-Length arrived makes Node's parser report HPE_INVALID_EOF_STATE ('clientError'), and a
 * client that stalls past the request timeout makes the server report ERR_HTTP_REQUEST_TIMEOUT; on
 * such a socket the route answers (it keeps what arrived in the quarantine and says under which
 * quarantineId), so the server's clientError handler leaves the answer to it (node-server.ts). On
 * any other socket that handler answers itself.
 */
const bodyReaders = new WeakMap<object, () => void>();
export const readingBodyOn = (socket: object): boolean => bodyReaders.has(socket);

/**
 * The server's request timeout fired on this socket: a body being read there stops with what
 * arrived (`timed-out`), and the route answers 408 with it kept. False when no body is being read
 * there (the handler answers itself).
 */
export const requestTimedOut = (socket: object): boolean => {
  const stop = bodyReaders.get(socket);
  if (!stop) return false;
  stop();
  return true;
};

/**
 * How long the first bytes of a body already refused (declared too large, an unknown encoding) are
 * waited for: the refusal is not held up by a client that sends them slowly.
 */
export const HEAD_WAIT_MS = 1_000;

/**
 * The Node request's bytes by its events (cheaper than its async iterator), with the same bound.
 * `waitMs`: stop after that long with what arrived (as cut short, the rest unread).
 */
const readIncoming = (incoming: NodeIncoming, max: number, excerpt: number, checkDeclared = true, waitMs?: number): Promise<Raw> => {
  const declared = declaredOf(incoming);
  if (checkDeclared && Number.isFinite(declared) && declared > max) {
    if (excerpt <= 0) return Promise.resolve({ ok: false, reason: 'too-large', size: declared, decoded: false, head: EMPTY, unread: true });
    return readIncoming(incoming, excerpt, excerpt, false, HEAD_WAIT_MS).then((head) => ({
      ok: false,
      reason: 'too-large',
      size: declared,
      decoded: false,
      head: head.ok ? head.bytes : head.head,
      unread: true,
    }));
  }
  return new Promise<Raw>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const socket = incoming.socket ?? undefined;
    let done = false;
    const finish = (raw: Raw) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onGone);
      incoming.off('close', onClose);
      if (socket) {
        socket.off('end', onSocketEnd);
        bodyReaders.delete(socket);
      }
      resolve(raw);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= max) return void chunks.push(chunk);
      // stop buffering: the rest of an oversized body is never held (Node discards it after the answer)
      finish({ ok: false, reason: 'too-large', size, decoded: false, head: headOf([...chunks, chunk], excerpt), unread: true });
      incoming.pause();
    };
    const onEnd = () => finish({ ok: true, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
    // 'aborted' / an early close (the client's, or the server's request timeout): the connection
    // ended before Content-Length bytes arrived
    const onGone = () =>
      finish({ ok: false, reason: 'truncated', size: Number.isFinite(declared) ? declared : size, head: headOf(chunks, excerpt), unread: false });
    const onClose = () => {
      if (!incoming.complete) onGone();
    };
    // the server's request timeout: what arrived is all there will be (the rest is not waited for)
    const onTimeout = () => {
      finish({ ok: false, reason: 'timed-out', size: Number.isFinite(declared) ? declared : size, head: headOf(chunks, excerpt), unread: true });
      incoming.pause();
    };
    // the client ended its side of the connection: whatever of the body was coming has come (what
    // the parser passed on before the end is delivered first, hence the turn's wait)
    const onSocketEnd = () =>
      setImmediate(() => {
        if (!incoming.complete) onGone();
      });
    const timer =
      waitMs === undefined
        ? undefined
        : setTimeout(() => {
            finish({ ok: false, reason: 'truncated', size: Number.isFinite(declared) ? declared : size, head: headOf(chunks, excerpt), unread: true });
            incoming.pause();
          }, waitMs);
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onGone);
    incoming.on('close', onClose);
    if (socket && !incoming.complete) {
      bodyReaders.set(socket, onTimeout);
      socket.once('end', onSocketEnd);
    }
  });
};

/** zlib-wrapped deflate (what HTTP's "deflate" means) has a 2-byte header divisible by 31; some senders send it raw. */
const isZlib = (b: Uint8Array): boolean => b.length >= 2 && (b[0]! & 0x0f) === 8 && ((b[0]! << 8) | b[1]!) % 31 === 0;

/** Inflates at most `max` bytes: a compression bomb is stopped as soon as its output crosses the bound. */
const inflate = async (bytes: Uint8Array, encoding: 'gzip' | 'deflate', max: number, excerpt: number): Promise<Raw> => {
  const format = encoding === 'gzip' ? 'gzip' : isZlib(bytes) ? 'deflate' : 'deflate-raw';
  const reader = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream(format)).getReader();
  const out = await drain(reader, max, excerpt, true, encoding);
  // what did not decode is kept as its size and encoding only (never as compressed bytes)
  return !out.ok && out.reason === 'undecodable' ? { ...out, size: bytes.byteLength, head: EMPTY, headEncoding: encoding } : out;
};

/**
 * The body of a request as text, at most `max` bytes after decoding. Under @hono/node-server it is
 * read from the Node request itself: asking Hono's Request for its body makes the server build an
 * undici Request over a web stream, which cost about a fifth of the CPU of an ingest call. Lambda
 * and app.request read the web Request; the bounds and answers are the same. `excerpt`: how many
 * of its first bytes a refusal carries (read, when the body was refused unread, up to that many).
 */
export const readBody = async (
  c: { readonly env: unknown; readonly req: { readonly raw: Request } },
  max: number,
  options: { readonly excerpt?: number | undefined } = {},
): Promise<BodyRead> => {
  const excerpt = options.excerpt ?? 0;
  const incoming = incomingOf(c.env);
  const read = (limit: number, keep: number, waitMs?: number) =>
    incoming ? readIncoming(incoming, limit, keep, true, waitMs) : readRequest(c.req.raw, limit, keep);
  const undecodable = undecodableOf(c.env);
  if (undecodable !== undefined) {
    const raw = await read(max, excerpt);
    if (!raw.ok) return raw;
    return { ok: false, reason: 'undecodable', encoding: undecodable, size: raw.bytes.byteLength, head: raw.bytes.slice(0, excerpt), unread: false };
  }
  const header = incoming ? incoming.headers['content-encoding'] : c.req.raw.headers.get('content-encoding');
  const encoding = encodingOf(Array.isArray(header) ? header.join(',') : header);
  if (typeof encoding === 'object') {
    const unknown = encoding.unknown;
    if (excerpt <= 0) return { ok: false, reason: 'unsupported-encoding', encoding: unknown, size: 0, head: EMPTY, headEncoding: unknown, unread: true };
    // only its first bytes, for its size: a body that cannot be decoded is not read further, nor kept
    const raw = await read(excerpt, 0, HEAD_WAIT_MS);
    const [size, unread] = raw.ok ? [raw.bytes.byteLength, false] : [raw.size, raw.unread];
    return { ok: false, reason: 'unsupported-encoding', encoding: unknown, size, head: EMPTY, headEncoding: unknown, unread };
  }
  // a compressed body refused before it is inflated (over the bound, cut short) keeps no bytes
  const raw = await read(max, encoding === 'identity' ? excerpt : 0);
  if (!raw.ok) return encoding === 'identity' ? raw : { ...raw, head: EMPTY, headEncoding: encoding };
  const decoded = encoding === 'identity' || raw.bytes.byteLength === 0 ? raw : await inflate(raw.bytes, encoding, max, excerpt);
  if (!decoded.ok) return decoded;
  const bytes = decoded.bytes;
  try {
    return { ok: true, text: utf8.decode(bytes), size: bytes.byteLength };
  } catch {
    const offset = firstNonUtf8(bytes);
    return { ok: false, reason: 'not-utf8', offset, byte: bytes[offset] ?? 0, size: bytes.byteLength, head: bytes.slice(0, excerpt), unread: false };
  }
};

const kb = (n: number) => `${Math.round(n / 1024)} KB`;

/** The 400 Segment answers for an oversized call or batch; `path`: where it is (a call of a batch: `batch[3]`). */
export const tooLarge = (what: 'call' | 'batch', max: number, path = 'body'): HttpError =>
  new HttpError(
    what === 'call' ? 'CALL_TOO_LARGE' : 'BODY_TOO_LARGE',
    `the ${what} is larger than Segment's limit of ${kb(max)} per ${what}; send ${what === 'call' ? 'less data per call' : 'smaller batches'}`,
    [{ path, message: `at most ${max} bytes` }],
  );

const hex = (byte: number) => `0x${byte.toString(16).toUpperCase().padStart(2, '0')}`;

/**
 * The answer to a body that could not be read. An oversized ingest body keeps Segment's 400
 * (`segment`); a body over the bound only once decoded is 413, as on every other route.
 */
export const unreadable = (read: BodyRefusal, max: number, segment?: 'call' | 'batch'): HttpError => {
  // the rest of the body was not read: close the connection after the answer rather than let
  // Node read and discard however much more the client sends
  const close: Record<string, string> = read.unread ? { Connection: 'close' } : {};
  switch (read.reason) {
    case 'too-large': {
      if (segment && !read.decoded) {
        const e = tooLarge(segment, max);
        return new HttpError(e.code, e.message, e.issues, close);
      }
      return new HttpError(
        'PAYLOAD_TOO_LARGE',
        `the request body is larger than the ${kb(max)} limit${read.decoded ? ' once decoded' : ''}`,
        [{ path: 'body', message: `at most ${max} bytes${read.decoded ? ' after Content-Encoding is decoded' : ''}` }],
        close,
      );
    }
    case 'truncated':
      // the client ended its side, or stalled: the connection is closed after the answer either way
      return new HttpError(
        'BODY_INCOMPLETE',
        'the request body ended before its Content-Length (the connection closed, or the body did not arrive in time); send the whole body',
        [{ path: 'content-length', message: 'more than the bytes sent' }],
        { Connection: 'close' },
      );
    case 'timed-out':
      // the client stalled: the rest of the body is not read, and the connection is closed
      return new HttpError(
        'REQUEST_TIMEOUT',
        'the request did not arrive in time: its body stopped before its Content-Length; send its headers and body without pausing',
        [{ path: 'body', message: 'not received in time' }],
        { Connection: 'close' },
      );
    case 'unsupported-encoding':
      return new HttpError(
        'UNSUPPORTED_MEDIA_TYPE',
        `the Content-Encoding ${JSON.stringify(read.encoding)} is not supported; send ${BODY_ENCODINGS.join(', ')} or an uncompressed body`,
        [{ path: 'content-encoding', message: `must be one of ${BODY_ENCODINGS.join(', ')}, identity` }],
        close,
      );
    case 'undecodable':
      return read.encoding === 'base64'
        ? new HttpError('BODY_UNDECODABLE', 'the request body is marked base64-encoded (isBase64Encoded) but is not base64', [
            { path: 'body', message: 'not base64' },
          ])
        : new HttpError('BODY_UNDECODABLE', `the request body is not valid ${read.encoding} data`, [
            { path: 'content-encoding', message: `the body is not ${read.encoding}` },
          ]);
    case 'not-utf8':
      return new HttpError(
        'BODY_NOT_UTF8',
        `the request body is not UTF-8 text: byte ${read.offset} (${hex(read.byte)}) does not begin or continue a UTF-8 character; send JSON encoded as UTF-8 (a Latin-1 é, 0xE9, is 0xC3 0xA9 in UTF-8)`,
        [{ path: 'body', message: `not UTF-8 at byte ${read.offset}` }],
      );
  }
};

/** Where JSON.parse failed, without its message: V8 quotes a piece of the input, which may be personal data. */
export const jsonErrorWhere = (e: unknown): string => {
  const at = /position (\d+)/.exec((e as Error).message ?? '');
  return at ? `syntax error at position ${at[1]}` : 'syntax error';
};

export type JsonParse =
  | { readonly ok: true; readonly value: unknown /** its nesting (objects and arrays, the top level 1) */; readonly depth: number }
  | { readonly ok: false; readonly code: 'MALFORMED_JSON'; readonly message: string; readonly issues: { path: string; message: string }[] }
  | {
      readonly ok: false;
      readonly code: 'NESTING_TOO_DEEP' | 'BODY_NOT_UTF8';
      readonly message: string;
      readonly issues: { path: string; message: string }[];
      /** parsed all the same (V8 parses without recursion), so the body's writeKey can still be read */
      readonly value: unknown;
    };

/** The refusal of a body holding a lone surrogate (`"\ud800"`): text with no UTF-8 form, refused as a body that is not UTF-8. */
export const illFormed = (ill: IllFormedText): { code: 'BODY_NOT_UTF8'; message: string; issues: { path: string; message: string }[] } => {
  const path = formatPath(ill.path) || '(root)';
  const what = ill.key ? `a property name of ${path}` : `the string at ${path}`;
  return {
    code: 'BODY_NOT_UTF8',
    message: `the request body is not UTF-8 text: ${what} holds a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape), which has no UTF-8 form; send well-formed text`,
    issues: [{ path, message: `${ill.key ? 'a property name holds' : 'holds'} a lone surrogate` }],
  };
};

/**
 * JSON.parse, refusing empty text, nesting deeper than `maxDepth` (which would overflow the stack
 * of whatever walks it next) and a string with a lone surrogate (BODY_NOT_UTF8, naming its path).
 * `maxDepth`: MAX_JSON_DEPTH, or BATCH_BODY_DEPTH for a /v1/batch body.
 */
export const parseJson = (text: string, maxDepth = MAX_JSON_DEPTH): JsonParse => {
  if (!/\S/.test(text))
    return { ok: false, code: 'MALFORMED_JSON', message: 'the request body is empty; send a JSON object', issues: [{ path: '(root)', message: 'empty' }] };
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    return {
      ok: false,
      code: 'MALFORMED_JSON',
      message: `the request body is not valid JSON (${jsonErrorWhere(e)})`,
      issues: [{ path: '(root)', message: 'not valid JSON' }],
    };
  }
  const depth = jsonDepth(text, maxDepth);
  if (depth <= maxDepth) {
    const ill = mayHoldSurrogateEscape(text) ? firstIllFormedText(value) : undefined;
    return ill ? { ok: false, value, ...illFormed(ill) } : { ok: true, value, depth };
  }
  const path = tooDeepPath(value, maxDepth) ?? '(root)';
  const levels =
    maxDepth === BATCH_BODY_DEPTH
      ? `${maxDepth} levels (a call of its batch array deeper than ${MAX_JSON_DEPTH} is refused alone, up to that)`
      : `${maxDepth} levels`;
  return {
    ok: false,
    code: 'NESTING_TOO_DEEP',
    message: `the request body nests objects and arrays deeper than ${levels} (at ${path})`,
    issues: [{ path, message: `nested deeper than ${maxDepth} levels` }],
    value,
  };
};

const JSON_MEDIA = /^application\/([\w.-]+\+)?json$/i;

const mediaOf = (req: Request): string => (req.headers.get('content-type') ?? '').split(';')[0]!.trim();

/**
 * The JSON body of a non-ingest route: bounded (413 beyond), application/json only (415), at most
 * MAX_JSON_DEPTH deep (400), and replaced on the request so the route's zod validator reads the
 * buffered copy.
 */
export const bufferJsonBody = async (c: { readonly env: unknown; readonly req: { readonly raw: Request } }, max: number): Promise<Request> => {
  const req = c.req.raw;
  // HTTP/1.1: a body comes with Content-Length or Transfer-Encoding (asking for req.body on Node
  // would build a web stream over the request we read directly)
  const declared = req.headers.get('content-length');
  const bodiless = incomingOf(c.env) ? declared === null && !req.headers.has('transfer-encoding') : !req.body;
  // no body at all (`curl -X POST -H 'content-type: application/json'`) is an empty one
  const read = bodiless || declared === '0' ? ({ ok: true, text: '' } as const) : await readBody(c, max);
  if (!read.ok) throw unreadable(read, max);
  const media = mediaOf(req);
  const isJson = JSON_MEDIA.test(media);
  const headers = new Headers(req.headers);
  // the buffered copy is decoded: its length and encoding are no longer the client's
  headers.delete('content-encoding');
  headers.delete('content-length');
  // an empty body (none, Content-Length: 0, or chunked with nothing in it) is no body: a JSON route
  // whose body is optional takes it, one whose body is required names the fields it lacks (the JSON
  // validator would answer "Malformed JSON" to nothing)
  if (read.text === '') return new Request(req.url, { method: req.method, headers, body: isJson ? '{}' : null });
  if (!isJson) {
    throw new HttpError('UNSUPPORTED_MEDIA_TYPE', `send the body as application/json (got ${media ? JSON.stringify(media) : 'no content type'})`, [
      { path: 'content-type', message: 'must be application/json' },
    ]);
  }
  const parsed = parseJson(read.text);
  if (!parsed.ok) throw new HttpError(parsed.code, parsed.message, parsed.issues);
  return new Request(req.url, { method: req.method, headers, body: read.text });
};
