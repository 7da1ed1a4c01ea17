// Text that is not well-formed UTF-16: a lone surrogate (JSON's `"\ud800"` parses to one). It has
// no UTF-8 form, so it cannot be stored, hashed or sent on as the sender wrote it: a body holding
// one is refused as a body that is not UTF-8 is. Pure.

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
