import { describe, expect, it } from 'vitest';
import { drain, pagesOf, type Page } from '../support/paging.js';

// The tests' one paging helper: it must read every page, in order, and never loop forever on a
// cursor that does not move.

const pagesFrom =
  (items: readonly number[], size: number) =>
  async (after: string | undefined): Promise<Page<number>> => {
    const start = after === undefined ? 0 : Number(after);
    const end = start + size;
    return end < items.length ? { items: items.slice(start, end), next: String(end) } : { items: items.slice(start) };
  };

describe('test paging helper', () => {
  it('reads every page in order, and says how many there were', async () => {
    const items = Array.from({ length: 7 }, (_, i) => i * 10);
    await expect(drain(pagesFrom(items, 3))).resolves.toEqual(items);
    await expect(pagesOf(pagesFrom(items, 3))).resolves.toEqual([[0, 10, 20], [30, 40, 50], [60]]);
    await expect(pagesOf(pagesFrom([], 3))).resolves.toEqual([[]]);
  });

  it('passes object cursors through (a DynamoDB LastEvaluatedKey)', async () => {
    const seen: unknown[] = [];
    const out = await drain(async (key: { n: number } | undefined) => {
      seen.push(key);
      return key === undefined ? { items: ['a'], next: { n: 1 } } : { items: ['b'] };
    });
    expect(out).toEqual(['a', 'b']);
    expect(seen).toEqual([undefined, { n: 1 }]);
  });

  it('fails instead of looping on a cursor that comes back, or past maxPages', async () => {
    await expect(drain(async () => ({ items: [1], next: 'same' }))).rejects.toThrow(/twice/);
    let n = 0;
    await expect(drain(async () => ({ items: [n], next: String(n++) }), { maxPages: 5 })).rejects.toThrow(/within 5 pages/);
    expect(n).toBe(5);
  });
});
