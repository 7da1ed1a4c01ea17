// What the quarantine keeps of bytes refused before they became a call (an HTTP body refused before
// it was parsed, a Kinesis record too large to keep whole): a bounded excerpt, its first
// BODY_EXCERPT_BYTES and the size, never more. Write keys in what is kept are masked: a credential
// is not the personal data the quarantine is for, and whoever reads the quarantine must not learn one.

/** How much of refused bytes the quarantine keeps: one call's worth and more. */
export const BODY_EXCERPT_BYTES = 64 * 1024;

/** What the quarantine keeps of a body (or a record) refused before it was parsed. */
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

/**
 * The excerpt of bytes whose first bytes are `head` and whose size is `size`: at most
 * BODY_EXCERPT_BYTES of them, masked byte for byte (so offsets still hold): every write key a
 * `"writeKey": "..."` pair in them names, one the excerpt cuts short, and `secrets` (as written).
 */
export const excerptOfBytes = (head: Uint8Array, size: number, secrets: readonly string[] = []): BodyExcerpt => {
  const first = head.subarray(0, BODY_EXCERPT_BYTES);
  const masked = mask(first, [...secrets, ...writeKeySecrets(lossy.decode(first))]);
  const bytes = (kept: number) => ({ bytes: Math.max(size, masked.byteLength), kept });
  const base64 = () => Buffer.from(masked.buffer, masked.byteOffset, masked.byteLength).toString('base64');
  // an excerpt cut inside a character ends before it
  const whole = masked.subarray(0, masked.byteLength - (masked.byteLength < size ? unfinished(masked) : 0));
  try {
    return { ...bytes(whole.byteLength), text: utf8.decode(whole) };
  } catch {
    return { ...bytes(masked.byteLength), text: lossy.decode(masked), base64: base64() };
  }
};

/** `bytes` with every occurrence of each secret (its UTF-8 bytes) replaced by `*`s; a copy when it changes */
export const mask = (bytes: Uint8Array, secrets: readonly string[]): Uint8Array => {
  const found = secrets.filter((s) => s !== '');
  if (found.length === 0) return bytes;
  const out = Buffer.from(bytes);
  for (const secret of found) for (let at = out.indexOf(secret); at >= 0; at = out.indexOf(secret, at + 1)) out.fill('*', at, at + Buffer.byteLength(secret));
  return out;
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
/** a writeKey value the end of an excerpt cuts short (no closing quote) */
const CUT_PAIR = /"writeKey"\s*:\s*"((?:[^"\\]|\\.){1,1024})\\?$/;
const unescaped = (raw: string): string | undefined => {
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return undefined;
  }
};
export const writeKeysIn = (text: string): { readonly raw: string; readonly key: string | undefined; readonly at: number }[] => {
  const found: { raw: string; key: string | undefined; at: number }[] = [];
  for (const m of text.matchAll(PAIR)) {
    if (unescaped(m[1]!) !== 'writeKey') continue;
    found.push({ raw: m[2]!, key: unescaped(m[2]!), at: m.index + m[0].length - 1 - m[2]!.length });
  }
  return found;
};

/** what to mask in an excerpt of `text`: every write key it names as written, and one its end cuts short */
const writeKeySecrets = (text: string): string[] => {
  const cut = CUT_PAIR.exec(text)?.[1];
  return [...writeKeysIn(text).map((w) => w.raw), ...(cut ? [cut] : [])];
};

/**
 * A body kept as text although it does not parse: every write key it names is masked (character for
 * character, escapes included), as a call that parses is kept without its writeKey.
 */
export const withoutWriteKeys = (text: string): string => {
  let out = '';
  let from = 0;
  for (const { raw, at } of writeKeysIn(text)) {
    out += `${text.slice(from, at)}${'*'.repeat(raw.length)}`;
    from = at + raw.length;
  }
  return from === 0 ? text : out + text.slice(from);
};
