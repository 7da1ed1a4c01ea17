import type { SqliteDatabase } from './sqlite.database.js';

// How far each follower of the global log has got, by name, in the same file as the log: a
// checkpoint saved after its views is durable with them (synchronous=FULL).

export class SqliteCheckpoints {
  constructor(private readonly db: SqliteDatabase) {
    db.db.exec('CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, position TEXT NOT NULL) WITHOUT ROWID');
  }

  get(name: string): string | undefined {
    return (this.db.prepare('SELECT position FROM checkpoints WHERE name = ?').get(name) as { position: string } | undefined)?.position;
  }

  save(name: string, position: string): void {
    this.db.prepare('INSERT OR REPLACE INTO checkpoints (name, position) VALUES (?, ?)').run(name, position);
  }
}
