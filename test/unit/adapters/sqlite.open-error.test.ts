import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteDatabase } from '../../../src/adapters/sqlite/sqlite.database.js';

// node:sqlite says `unable to open database file` and no more: the error names the path it was
// given, and a path that is a folder (C360_SQLITE_FILE set to the data dir) is said to be one.

const dir = mkdtempSync(join(tmpdir(), 'c360-sqlite-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const openError = (path: string): Error & { code?: unknown; errcode?: unknown } => {
  try {
    new SqliteDatabase({ path }).db.close();
  } catch (e) {
    return e as Error;
  }
  throw new Error(`${path} opened`);
};

describe('an SQLite file that cannot be opened', () => {
  it('a folder: the error names it and says it is a folder, keeping SQLite code and errcode', () => {
    const e = openError(dir);
    expect(e.message).toBe(
      `cannot open the SQLite database ${dir}: unable to open database file (it is a folder; give the path of a file in it, such as c360.sqlite)`,
    );
    expect(e.code).toBe('ERR_SQLITE_ERROR');
    expect(e.errcode).toBe(14);
  });

  it('a file in it opens', () => {
    const db = new SqliteDatabase({ path: join(dir, 'c360.sqlite') });
    expect(db.path).toBe(join(dir, 'c360.sqlite'));
    db.db.close();
  });
});
