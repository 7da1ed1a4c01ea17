import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { editDistance, jaroWinkler, withinEdits } from '../../../src/domain/matching/similarity.js';

// Plain reference versions, full tables and fresh arrays, to hold the fast ones (char codes, reused
// scratch rows, early answers) to the textbook definitions.
const referenceDistance = (s: string, t: string): number => {
  const d = Array.from({ length: s.length + 1 }, (_, i) => Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= s.length; i++)
    for (let j = 1; j <= t.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  return d[s.length]![t.length]!;
};
const referenceJaroWinkler = (a: string, b: string): number => {
  const [s, t] = a <= b ? [a, b] : [b, a];
  let j = 0;
  if (s === t) j = 1;
  else if (s.length > 0 && t.length > 0) {
    const window = Math.max(0, Math.floor(Math.max(s.length, t.length) / 2) - 1);
    const sm = s.split('').map(() => false);
    const tm = t.split('').map(() => false);
    let matches = 0;
    for (let i = 0; i < s.length; i++)
      for (let k = Math.max(0, i - window); k <= Math.min(t.length - 1, i + window); k++)
        if (!tm[k] && s[i] === t[k]) {
          sm[i] = tm[k] = true;
          matches++;
          break;
        }
    if (matches > 0) {
      const sChars = s.split('').filter((_, i) => sm[i]);
      const tChars = t.split('').filter((_, i) => tm[i]);
      const transposed = sChars.filter((c, i) => c !== tChars[i]).length;
      j = (matches / s.length + matches / t.length + (matches - transposed / 2) / matches) / 3;
    }
  }
  let prefix = 0;
  while (prefix < 4 && prefix < s.length && prefix < t.length && s[prefix] === t[prefix]) prefix++;
  return j + prefix * 0.1 * (1 - j);
};
// a small alphabet, so near pairs (one or two edits apart) are common
const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'é'), maxLength: 9 });
// long ones too: the scratch arrays grow past their first size and must not carry anything over
const words = fc.array(fc.oneof(word, fc.string({ unit: fc.constantFrom('a', 'b'), minLength: 60, maxLength: 140 })), { minLength: 2, maxLength: 6 });

describe('the fast similarity functions agree with the textbook definitions', () => {
  it('editDistance is the full-table distance, and withinEdits answers editDistance <= max, on any sequence of calls', () => {
    fc.assert(
      fc.property(words, fc.integer({ min: 0, max: 3 }), (ws, max) => {
        for (let i = 1; i < ws.length; i++) {
          const [a, b] = [ws[i - 1]!, ws[i]!];
          const d = referenceDistance(a <= b ? a : b, a <= b ? b : a);
          expect(editDistance(a, b)).toBe(d);
          expect(withinEdits(a, b, max)).toBe(d <= max);
          expect(withinEdits(b, a, max)).toBe(d <= max);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('withinEdits sees the one-edit cases at every position', () => {
    expect(withinEdits('1990-03-12', '1990-03-21', 1)).toBe(true); // adjacent swap at the end
    expect(withinEdits('smith', 'smyth', 1)).toBe(true);
    expect(withinEdits('smith', 'smiths', 1)).toBe(true);
    expect(withinEdits('smith', 'mith', 1)).toBe(true);
    expect(withinEdits('smith', 'msith', 1)).toBe(true);
    expect(withinEdits('smith', 'mstih', 1)).toBe(false);
    expect(withinEdits('abc', 'cba', 1)).toBe(false);
  });

  it('jaroWinkler is the textbook value, on any sequence of calls', () => {
    fc.assert(
      fc.property(words, (ws) => {
        for (let i = 1; i < ws.length; i++) expect(jaroWinkler(ws[i - 1]!, ws[i]!)).toBe(referenceJaroWinkler(ws[i - 1]!, ws[i]!));
      }),
      { numRuns: 400 },
    );
  });
});

describe('jaroWinkler', () => {
  it('gives the textbook values', () => {
    expect(jaroWinkler('martha', 'marhta')).toBeCloseTo(0.9611, 4);
    expect(jaroWinkler('dwayne', 'duane')).toBeCloseTo(0.84, 2);
    expect(jaroWinkler('dixon', 'dicksonx')).toBeCloseTo(0.8133, 4);
  });

  it('is 1 for equal strings and 0 when nothing matches or one side is empty', () => {
    expect(jaroWinkler('smith', 'smith')).toBe(1);
    expect(jaroWinkler('abc', 'xyz')).toBe(0);
    expect(jaroWinkler('', 'abc')).toBe(0);
  });

  it('is symmetric where greedy matching would not be', () => {
    expect(jaroWinkler('abcd', 'badc')).toBe(jaroWinkler('badc', 'abcd'));
    expect(jaroWinkler('crate', 'trace')).toBe(jaroWinkler('trace', 'crate'));
  });
});

describe('editDistance', () => {
  it('counts insertions, deletions and substitutions', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });

  it('counts an adjacent transposition as one edit', () => {
    expect(editDistance('ab', 'ba')).toBe(1);
    expect(editDistance('jonh', 'john')).toBe(1);
    expect(editDistance('ca', 'abc')).toBe(3);
  });
});
