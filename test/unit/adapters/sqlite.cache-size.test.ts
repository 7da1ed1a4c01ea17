import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteDatabase } from '../../../src/adapters/sqlite/sqlite.database.js';

// The page cache a connection keeps: SQLite's default 2 MiB holds a few hundred pages, so on a store
// of thousands of customers most reads missed it and read their page again from the WAL or the file.

const dir = mkdtempSync(join(tmpdir(), 'c360-sqlite-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cacheSize = (db: SqliteDatabase): number => (db.db.prepare('PRAGMA cache_size').get() as { cache_size: number }).cache_size;

describe('SqliteDatabase page cache', () => {
  it('keeps up to 64 MiB of pages by default (a negative cache_size is KiB)', () => {
    const db = new SqliteDatabase({ path: join(dir, 'default.sqlite') });
    try {
      expect(cacheSize(db)).toBe(-65_536);
    } finally {
      db.db.close();
    }
  });

  it('takes another size in KiB, never less than 1 MiB', () => {
    const big = new SqliteDatabase({ path: join(dir, 'big.sqlite'), cacheKiB: 262_144 });
    const tiny = new SqliteDatabase({ path: join(dir, 'tiny.sqlite'), cacheKiB: 10 });
    try {
      expect(cacheSize(big)).toBe(-262_144);
      expect(cacheSize(tiny)).toBe(-1_024);
    } finally {
      big.db.close();
      tiny.db.close();
    }
  });
});
