import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPath } from '../../../src/application/segment/segment.schema.js';
import { firstNonUtf8, jsonDepth, MAX_JSON_DEPTH, parseJson, readBody, tooDeepPath, type BodyRefusal } from '../../../src/adapters/http/body.js';
import { BODY_EXCERPT_BYTES, excerptOf } from '../../../src/adapters/http/ingest-body.js';

// The nesting check at the edge: a linear scan of the JSON text, no recursion, that must agree
// with the depth of the value JSON.parse makes of it (strings full of brackets and escapes included).

/** the reference: objects and arrays nested, the top level counting as 1 (recursive, for small values only) */
const depthOf = (v: unknown): number => (typeof v !== 'object' || v === null ? 0 : 1 + Math.max(0, ...(Array.isArray(v) ? v : Object.values(v)).map(depthOf)));

const tricky = fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a', '\u2028', '\u{1F600}'), maxLength: 12 });
const value = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'large', maxDepth: 12 },
    tricky,
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(tricky, tie('node'), { maxKeys: 3 }),
  ),
})).node;

describe('JSON nesting at the edge', () => {
  it('scans the same depth as the parsed value has, however the text is spaced', () => {
    fc.assert(
      fc.property(value, fc.constantFrom(undefined, 2), (v, space) => {
        expect(jsonDepth(JSON.stringify(v, null, space))).toBe(depthOf(v));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses exactly the values deeper than the limit, naming a path that leads to a value that deep', () => {
    const deep = fc.tuple(
      fc.integer({ min: 1, max: MAX_JSON_DEPTH * 3 }),
      fc.array(fc.constantFrom('array', 'object'), { minLength: 1, maxLength: 4 }),
      fc.string({ maxLength: 4 }),
    );
    fc.assert(
      fc.property(deep, ([levels, kinds, key]) => {
        let v: unknown = 1;
        for (let i = 0; i < levels; i++) v = kinds[i % kinds.length] === 'array' ? [v] : { [key]: v };
        const parsed = parseJson(JSON.stringify(v));
        if (levels <= MAX_JSON_DEPTH) {
          expect(parsed.ok).toBe(true);
          expect(tooDeepPath(v, MAX_JSON_DEPTH)).toBeUndefined();
          return;
        }
        expect(parsed).toMatchObject({ ok: false, code: 'NESTING_TOO_DEEP' });
        const path = tooDeepPath(v, MAX_JSON_DEPTH)!;
        expect(parsed.ok ? undefined : parsed.issues[0]!.path).toBe(path);
        // one step per level above the first value too deep, from the outside in
        const steps = Array.from({ length: MAX_JSON_DEPTH }, (_, j) => (kinds[(levels - 1 - j) % kinds.length] === 'array' ? 0 : key));
        expect(path).toBe(formatPath(steps) || '(root)');
      }),
      { numRuns: 300 },
    );
  });

  it('scans a body nested a million deep without recursion', () => {
    const text = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
    expect(jsonDepth(text)).toBe(1_000_000);
    expect(jsonDepth(text, MAX_JSON_DEPTH)).toBe(MAX_JSON_DEPTH + 1);
    expect(parseJson(text)).toMatchObject({ ok: false, code: 'NESTING_TOO_DEEP', issues: [{ path: `${'[0]'.repeat(MAX_JSON_DEPTH)}` }] });
  });
});

describe('UTF-8 at the edge', () => {
  const fatal = new TextDecoder('utf-8', { fatal: true });
  const decodes = (b: Uint8Array): boolean => {
    try {
      fatal.decode(b);
      return true;
    } catch {
      return false;
    }
  };
  // mostly text, with bytes of every kind spliced in: lead bytes, continuations, overlongs, surrogates
  const bytes = fc
    .array(
      fc.oneof(
        fc.string({ unit: 'binary', maxLength: 6 }).map((t) => [...Buffer.from(t)]),
        fc.array(fc.integer({ min: 0x80, max: 0xff }), { maxLength: 3 }),
      ),
      {
        maxLength: 12,
      },
    )
    .map((parts) => Uint8Array.from(parts.flat()));

  it('finds a byte that is not UTF-8 exactly when the strict decoder refuses, and the bytes before it decode', () => {
    fc.assert(
      fc.property(bytes, (b) => {
        const at = firstNonUtf8(b);
        expect(at === -1).toBe(decodes(b));
        if (at >= 0) {
          expect(decodes(b.subarray(0, at))).toBe(true);
          expect(decodes(b.subarray(0, at + 1))).toBe(false);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('names the Latin-1 byte of a legacy name', () => {
    expect(firstNonUtf8(Buffer.from('{"userId":"Jos\xe9"}', 'latin1'))).toBe(14);
    expect(firstNonUtf8(Buffer.from('{"userId":"José"}'))).toBe(-1);
  });
});

describe('the excerpt the quarantine keeps of a body refused unparsed', () => {
  const refusal = (head: Uint8Array, size: number): BodyRefusal => ({ ok: false, reason: 'truncated', size, head, unread: false });

  it('keeps text exactly, cut before a character the bound would split, and the bytes of anything else', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 800 }), (text, cut) => {
        const all = Buffer.from(text);
        fc.pre(cut < all.byteLength);
        const kept = excerptOf(refusal(all.subarray(0, cut), all.byteLength));
        expect(kept.bytes).toBe(all.byteLength);
        expect(kept.base64).toBeUndefined();
        expect(cut - kept.kept).toBeLessThanOrEqual(3);
        expect(Buffer.from(kept.text!).equals(all.subarray(0, kept.kept))).toBe(true);
      }),
      { numRuns: 500 },
    );
    const latin1 = Buffer.from('{"userId":"M\xfcller"}', 'latin1');
    const held = excerptOf(refusal(latin1, latin1.byteLength));
    expect(held).toEqual({ bytes: latin1.byteLength, kept: latin1.byteLength, text: '{"userId":"M\uFFFDller"}', base64: latin1.toString('base64') });
  });

  it(`keeps at most ${BODY_EXCERPT_BYTES} bytes of any body, and masks the write key byte for byte`, () => {
    const big = Buffer.from(`{"writeKey":"wk-secret","pad":"${'p'.repeat(BODY_EXCERPT_BYTES * 2)}"}`);
    const held = excerptOf(refusal(big, big.byteLength), 'wk-secret');
    expect(held.kept).toBe(BODY_EXCERPT_BYTES);
    expect(held.bytes).toBe(big.byteLength);
    expect(held.text!.startsWith('{"writeKey":"*********","pad":"ppp')).toBe(true);
  });
});

describe('a body refused while still in a Content-Encoding', () => {
  const MAX = 4 * 1024;
  // a batch of calls naming people, with a write key; its compressed bytes too are over MAX
  const calls = (n: number, pad = (i: number) => randomBytes(64).toString('hex') + i) =>
    JSON.stringify({
      writeKey: 'wk-secret',
      batch: Array.from({ length: n }, (_, i) => ({ type: 'track', userId: `u-${i}`, traits: { email: `p${i}@example.com` }, pad: pad(i) })),
    });
  const post = (body: Uint8Array | string | ReadableStream<Uint8Array>, headers: Record<string, string>) =>
    readBody({ env: undefined, req: { raw: new Request('http://x/v1/batch', { method: 'POST', headers, body, duplex: 'half' } as RequestInit) } }, MAX, {
      excerpt: BODY_EXCERPT_BYTES,
    });
  /** a body streamed without a Content-Length, ending whole or cut short */
  const streamed = (bytes: Uint8Array, cut = false) =>
    new ReadableStream<Uint8Array>({
      pull(controller) {
        if (bytes.byteLength === 0) return cut ? controller.error(new Error('connection reset')) : controller.close();
        controller.enqueue(bytes.slice(0, 1024));
        bytes = bytes.subarray(1024);
      },
    });
  const refusedEncoded = async (read: Awaited<ReturnType<typeof readBody>>, reason: string, encoding: string) => {
    expect(read).toMatchObject({ ok: false, reason, headEncoding: encoding });
    if (read.ok) return;
    expect(read.head.byteLength).toBe(0);
    const kept = excerptOf(read, 'wk-secret');
    // its size and encoding, never its bytes (compressed, they would hide the emails and the write key)
    expect(kept).toEqual({ bytes: read.size, kept: 0, contentEncoding: encoding });
    expect(read.size).toBeGreaterThan(0);
  };

  it('keeps no bytes of a gzip body over the bound, declared or streamed, nor of one cut short', async () => {
    const gz = gzipSync(calls(60));
    expect(gz.byteLength).toBeGreaterThan(MAX);
    await refusedEncoded(await post(gz, { 'content-encoding': 'gzip', 'content-length': String(gz.byteLength) }), 'too-large', 'gzip');
    await refusedEncoded(await post(streamed(gz), { 'content-encoding': 'x-gzip' }), 'too-large', 'gzip');
    const small = gzipSync(calls(2));
    await refusedEncoded(await post(streamed(small.subarray(0, 200), true), { 'content-encoding': 'gzip' }), 'truncated', 'gzip');
  });

  it('keeps no bytes of a body in an unknown encoding, nor of one that does not inflate', async () => {
    const gz = gzipSync(calls(2));
    await refusedEncoded(await post(gz, { 'content-encoding': 'br' }), 'unsupported-encoding', 'br');
    await refusedEncoded(await post(gz.subarray(0, 200), { 'content-encoding': 'gzip' }), 'undecodable', 'gzip');
    await refusedEncoded(await post(calls(2), { 'content-encoding': 'deflate' }), 'undecodable', 'deflate');
  });

  it('keeps the decoded first bytes of a body over the bound only once inflated, the write key masked', async () => {
    const text = calls(200, () => 'x'.repeat(100));
    const read = await post(gzipSync(text), { 'content-encoding': 'gzip' });
    expect(read).toMatchObject({ ok: false, reason: 'too-large', decoded: true });
    if (read.ok) return;
    expect(read.headEncoding).toBeUndefined();
    const kept = excerptOf(read, 'wk-secret');
    expect(kept.contentEncoding).toBeUndefined();
    expect(kept.text).toBe(text.slice(0, kept.kept).replace('wk-secret', '*********'));
  });
});
