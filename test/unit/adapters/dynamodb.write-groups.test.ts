import { describe, expect, it } from 'vitest';
import { formGroups, type Sized } from '../../../src/adapters/dynamodb/dynamodb.write-groups.js';

// Who shares a transaction: pure, so every rule is checked here on named writes.

type Named = Sized & { readonly name: string };
const c = (name: string, touched: string[], size = 3, bytes = 1_000, solo = false): Named => ({ name, touched, size, bytes, solo });
const names = (groups: Named[][]) => groups.map((g) => g.map((m) => m.name));
const limits = { maxItems: 100, maxBytes: 4_000_000 };

describe('formGroups', () => {
  it('packs commits in arrival order up to 100 items, then opens the next group', () => {
    const commits = Array.from({ length: 40 }, (_, i) => c(`c${i}`, [`s${i}`]));
    expect(names(formGroups(commits, limits)).map((g) => g.length)).toEqual([33, 7]);
  });

  it('keeps the byte limit too', () => {
    const commits = [c('a', ['s1'], 3, 2_500_000), c('b', ['s2'], 3, 2_000_000), c('c', ['s3'], 3, 1_400_000)];
    expect(names(formGroups(commits, limits))).toEqual([['a', 'c'], ['b']]);
  });

  it('never puts two commits touching one key in a group; the later arrival goes later, others fill in', () => {
    const commits = [c('a', ['s1', 'k1']), c('b', ['s2']), c('c', ['s3', 'k1']), c('d', ['s4']), c('e', ['k1']), c('f', ['s3'])];
    expect(names(formGroups(commits, limits))).toEqual([['a', 'b', 'd'], ['c'], ['e', 'f']]);
  });

  it('a commit goes after every group holding a key of it, even when an earlier group has room', () => {
    const commits = [c('a', ['s1']), c('b', ['s1']), c('c', ['s2']), c('d', ['s2', 's1'])];
    expect(names(formGroups(commits, limits))).toEqual([['a', 'c'], ['b'], ['d']]);
  });

  it('a commit that must go alone gets a group of its own, and nobody joins it', () => {
    const commits = [c('a', ['s1']), c('big', ['s2'], 100, 1_000, true), c('b', ['s3'])];
    expect(names(formGroups(commits, limits))).toEqual([['a', 'b'], ['big']]);
  });
});
