import { HttpError } from './errors.js';

// Request bodies are read with a hard bound: a declared Content-Length above it is refused before
// reading, and a chunked body is cancelled as soon as it crosses the bound, so no request can make
// the server buffer more than `max` bytes.

export type BodyRead = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly size: number };

export const readBounded = async (req: Request, max: number): Promise<BodyRead> => {
  const declared = Number(req.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > max) return { ok: false, size: declared };
  if (!req.body) return { ok: true, text: '' };
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return { ok: false, size };
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  return { ok: true, text: new TextDecoder().decode(all) };
};

/** The Node request under @hono/node-server (`c.env.incoming`); absent on Lambda and in app.request. */
type NodeIncoming = AsyncIterable<Uint8Array> & { readonly headers: Readonly<Record<string, string | string[] | undefined>> };

const incomingOf = (env: unknown): NodeIncoming | undefined => {
  const incoming = (env as { incoming?: unknown } | undefined)?.incoming;
  return typeof incoming === 'object' && incoming !== null && Symbol.asyncIterator in incoming && 'headers' in incoming
    ? (incoming as NodeIncoming)
    : undefined;
};

/**
 * readBounded on the Node request itself when there is one: asking Hono's Request for its body
 * makes @hono/node-server build an undici Request over a web stream, which cost about a fifth of
 * the CPU of an ingest call. Same bound, same answers; Lambda and tests read the Request.
 */
export const readBody = async (c: { readonly env: unknown; readonly req: { readonly raw: Request } }, max: number): Promise<BodyRead> => {
  const incoming = incomingOf(c.env);
  if (!incoming) return readBounded(c.req.raw, max);
  const declared = Number(incoming.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > max) return { ok: false, size: declared };
  const chunks: Uint8Array[] = [];
  let size = 0;
  // leaving the loop early destroys the stream, as cancelling the web reader does
  for await (const chunk of incoming) {
    size += chunk.byteLength;
    if (size > max) return { ok: false, size };
    chunks.push(chunk);
  }
  return { ok: true, text: Buffer.concat(chunks, size).toString('utf8') };
};

/** Where JSON.parse failed, without its message: V8 quotes a piece of the input, which may be personal data. */
export const jsonErrorWhere = (e: unknown): string => {
  const at = /position (\d+)/.exec((e as Error).message ?? '');
  return at ? `syntax error at position ${at[1]}` : 'syntax error';
};

export type JsonParse = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

export const parseJson = (text: string): JsonParse => {
  if (text.trim() === '') return { ok: false, message: 'the request body is empty; send a JSON object' };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, message: `the request body is not valid JSON (${jsonErrorWhere(e)})` };
  }
};

const kb = (n: number) => `${Math.round(n / 1024)} KB`;

/** The 400 Segment answers for an oversized call or batch. */
export const tooLarge = (what: 'call' | 'batch', max: number): HttpError =>
  new HttpError(
    what === 'call' ? 'CALL_TOO_LARGE' : 'BODY_TOO_LARGE',
    `the ${what} is larger than Segment's limit of ${kb(max)} per ${what}; send ${what === 'call' ? 'less data per call' : 'smaller batches'}`,
    [{ path: '(root)', message: `at most ${max} bytes` }],
  );

const JSON_MEDIA = /^application\/([\w.-]+\+)?json$/i;

/**
 * The JSON body of a non-ingest route: bounded (413 beyond), application/json only (415), and
 * replaced on the request so the route's zod validator reads the buffered copy.
 */
export const bufferJsonBody = async (req: Request, max: number): Promise<Request> => {
  if (!req.body || req.headers.get('content-length') === '0') return req;
  const read = await readBounded(req, max);
  if (!read.ok)
    throw new HttpError('PAYLOAD_TOO_LARGE', `the request body is larger than the ${kb(max)} limit`, [{ path: '(root)', message: `at most ${max} bytes` }]);
  const media = (req.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const isJson = JSON_MEDIA.test(media);
  if (read.text === '') return new Request(req.url, { method: req.method, headers: req.headers, body: isJson ? '{}' : null });
  if (!isJson) {
    throw new HttpError('UNSUPPORTED_MEDIA_TYPE', `send the body as application/json (got ${media ? JSON.stringify(media) : 'no content type'})`, [
      { path: 'content-type', message: 'must be application/json' },
    ]);
  }
  const parsed = parseJson(read.text);
  if (!parsed.ok) throw new HttpError('MALFORMED_JSON', parsed.message, [{ path: '(root)', message: 'not valid JSON' }]);
  return new Request(req.url, { method: req.method, headers: req.headers, body: read.text });
};
