import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { INLINE_JSON_BYTES, MAX_PARTS, partsNeeded, viewItems, viewJson } from '../../../src/adapters/dynamodb/dynamodb.view-item.js';

// The layout of one view doc in the views table (dynamodb.view-item.ts), without DynamoDB.

const key = { pk: { S: 'T#t#G#g#B#0' }, sk: { S: 'c-1' } };
const noise = (bytes: number) => JSON.stringify({ v: randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64') });

describe('viewItems / viewJson', () => {
  it('keeps a doc up to the inline bound as its JSON text in one item', () => {
    const json = noise(INLINE_JSON_BYTES - 100);
    const items = viewItems(key, json);
    expect(items).toMatchObject({ head: { ...key, doc: { S: json } }, parts: [], stale: [] });
    expect(partsNeeded(items.head)).toBe(0);
    expect(viewJson(items.head, [])).toBe(json);
  });

  it('gzips a larger doc into chunks, deletes the part keys past its last, and reads it back whole', () => {
    const json = noise(1_000_000);
    const { head, parts, stale } = viewItems(key, json);
    expect(head.doc).toBeUndefined();
    expect(partsNeeded(head)).toBe(parts.length);
    expect(parts.length).toBeGreaterThanOrEqual(1);
    expect(parts.length + 1 + stale.length).toBe(MAX_PARTS);
    expect(parts.map((p) => p.sk!.S)).toEqual(parts.map((_, i) => `c-1\u0000${i + 1}`));
    expect(stale[0]!.sk!.S).toBe(`c-1\u0000${parts.length + 1}`);
    expect(viewJson(head, parts)).toBe(json);
  });

  it("answers 'torn' when a part belongs to another write or is missing, so the reader reads again", () => {
    const json = noise(1_000_000);
    const first = viewItems(key, json);
    const second = viewItems(key, json);
    expect(viewJson(first.head, [second.parts[0]!, ...first.parts.slice(1)])).toBe('torn');
    expect(viewJson(first.head, [undefined, ...first.parts.slice(1)])).toBe('torn');
  });
});
