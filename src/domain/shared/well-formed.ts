// Text that is not well-formed UTF-16: a lone surrogate (JSON's `"\ud800"` parses to one). It has
// no UTF-8 form, so it cannot be stored, hashed or sent on as the sender wrote it: a body holding
// one is refused as a body that is not UTF-8 is. And bytes that are not UTF-8: where the first such
// byte is, for the refusal to name it. Pure.

/** String.prototype.isWellFormed (ES2024, in Node 20+), typed here as the project's lib is ES2023 */
type MaybeWellFormed = string & { isWellFormed(): boolean };

/** A string with a lone surrogate, found at `path`; `key` when it is a property name there, not a value. */
export type IllFormedText = { readonly path: readonly (string | number)[]; readonly key: boolean };

/**
 * The first string (value or property name, in document order) of a parsed JSON value that is not
 * well-formed UTF-16, or undefined when every one is. One walk, no allocation unless one is found;
 * recursive, so the value must be no deeper than the caller's nesting bound (JSON bodies: 64).
 */
export const firstIllFormedText = (value: unknown): IllFormedText | undefined => {
  if (typeof value === 'string') return (value as MaybeWellFormed).isWellFormed() ? undefined : { path: [], key: false };
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v === 'number' || typeof v === 'boolean' || v === null) continue;
      const found = firstIllFormedText(v);
      if (found) return { path: [i, ...found.path], key: found.key };
    }
    return undefined;
  }
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    if (!(k as MaybeWellFormed).isWellFormed()) return { path: [], key: true };
    const v: unknown = (value as Record<string, unknown>)[k];
    if (typeof v === 'number' || typeof v === 'boolean' || v === null) continue;
    const found = firstIllFormedText(v);
    if (found) return { path: [k, ...found.path], key: found.key };
  }
  return undefined;
};

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/**
 * Whether JSON text may hold a lone surrogate: text read as UTF-8 cannot, so only through a
 * `\uD800`-`\uDFFF` escape (a pair of them is fine, and an escaped backslash before `u` is a
 * false alarm: the walk over the parsed value decides). Most bodies hold none and skip the walk.
 */
export const mayHoldSurrogateEscape = (text: string): boolean => SURROGATE_ESCAPE.test(text);

/** Where the first byte that is not part of a well-formed UTF-8 sequence is (the decoder only says there is one). */
export const firstNonUtf8 = (b: Uint8Array): number => {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    const n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n === 0) return i;
    if (n > 1) {
      // the second byte's range excludes overlong forms, surrogates and code points above U+10FFFF
      const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
      const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
      if (i + 1 >= b.length || b[i + 1]! < lo || b[i + 1]! > hi) return i;
      for (let k = 2; k < n; k++) if (i + k >= b.length || (b[i + k]! & 0xc0) !== 0x80) return i;
    }
    i += n;
  }
  return -1;
};
