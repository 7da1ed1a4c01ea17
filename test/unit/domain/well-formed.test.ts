import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstIllFormedText } from '../../../src/domain/shared/well-formed.js';

// The first string of a parsed JSON value holding a lone surrogate, in document order: a value or
// a property name, at any depth; none in well-formed text (surrogate pairs included).

describe('firstIllFormedText', () => {
  it('finds a lone surrogate in a value, an array element or a property name, naming where', () => {
    expect(firstIllFormedText('\ud800')).toEqual({ path: [], key: false });
    expect(firstIllFormedText({ userId: 'u1', traits: { name: 'x\ud800y' } })).toEqual({ path: ['traits', 'name'], key: false });
    expect(firstIllFormedText({ batch: [{ a: 1 }, { tags: ['ok', '\udc00'] }] })).toEqual({ path: ['batch', 1, 'tags', 1], key: false });
    expect(firstIllFormedText({ traits: { ['a\udbff']: 1 } })).toEqual({ path: ['traits'], key: true });
    // the first in document order
    expect(firstIllFormedText({ a: ['\ud800'], b: '\ud800' })).toEqual({ path: ['a', 0], key: false });
    // a lone surrogate at either end, a low one before a high one
    for (const s of ['\ud800x', 'x\udfff', '\udc00\ud800']) expect(firstIllFormedText({ s })).toEqual({ path: ['s'], key: false });
  });

  it('finds nothing in well-formed text, surrogate pairs and non-strings included', () => {
    expect(firstIllFormedText({ a: '😀 \ud83d\ude00', b: [1, true, null, { c: 'é' }], d: 1.5 })).toBeUndefined();
    expect(firstIllFormedText(null)).toBeUndefined();
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(firstIllFormedText(JSON.parse(JSON.stringify(v)))).toBeUndefined();
      }),
    );
  });

  it('agrees with String.prototype.isWellFormed on every string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const wellFormed = (s as string & { isWellFormed(): boolean }).isWellFormed();
        expect(firstIllFormedText({ k: [s] }) === undefined).toBe(wellFormed);
      }),
    );
  });
});
