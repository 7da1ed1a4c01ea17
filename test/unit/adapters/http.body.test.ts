import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPath } from '../../../src/application/segment/segment.schema.js';
import { jsonDepth, MAX_JSON_DEPTH, parseJson, tooDeepPath } from '../../../src/adapters/http/body.js';

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
