import { describe, expect, it } from 'vitest';
import { editDistance, jaroWinkler } from '../../../src/domain/matching/similarity.js';

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
