import type { SnapshotStore, StoredSnapshot } from '../../application/ports/snapshot.port.js';
import type { SqliteDatabase } from './sqlite.database.js';

// Snapshots in the embedded file, one row per stream, kept as JSON text. A put only replaces a
// lower version (one conditional upsert, so racing loaders, even in other processes, end with the
// highest). No event store table is touched: readAll never sees a snapshot.

const SQL = {
  get: 'SELECT version, snapshot FROM snapshots WHERE tenant = ? AND stream_id = ?',
  put: `INSERT INTO snapshots (tenant, stream_id, version, snapshot) VALUES (?, ?, ?, ?)
        ON CONFLICT (tenant, stream_id) DO UPDATE SET version = excluded.version, snapshot = excluded.snapshot
        WHERE snapshots.version < excluded.version`,
  delete: 'DELETE FROM snapshots WHERE tenant = ? AND stream_id = ?',
  all: 'SELECT tenant, stream_id, version, snapshot FROM snapshots ORDER BY tenant, stream_id',
};

type Row = { tenant: string; stream_id: string; version: number; snapshot: string };

export class SqliteSnapshotStore implements SnapshotStore {
  constructor(private readonly db: SqliteDatabase) {
    db.db.exec(`CREATE TABLE IF NOT EXISTS snapshots (
      tenant TEXT NOT NULL, stream_id TEXT NOT NULL, version INTEGER NOT NULL, snapshot TEXT NOT NULL,
      PRIMARY KEY (tenant, stream_id))`); // a rowid table: snapshots are large rows (see view_docs)
  }

  async get(tenant: string, streamId: string): Promise<StoredSnapshot | undefined> {
    const row = this.db.prepare(SQL.get).get(tenant, streamId) as Pick<Row, 'version' | 'snapshot'> | undefined;
    return row && { version: row.version, snapshot: JSON.parse(row.snapshot) };
  }

  async put(tenant: string, streamId: string, version: number, snapshot: unknown): Promise<void> {
    const json = JSON.stringify(snapshot);
    if (json === undefined) throw new Error(`snapshot of ${streamId} is not a JSON value`);
    // a snapshot re-derives from the log: no fsync of its own (the next event commit's covers it)
    this.db.transaction(() => this.db.prepare(SQL.put).run(tenant, streamId, version, json), { synchronous: 'NORMAL' });
  }

  async delete(tenant: string, streamId: string): Promise<void> {
    this.db.prepare(SQL.delete).run(tenant, streamId);
  }

  /** Everything kept, as plain JSON (erasure proofs search it). */
  dump(): unknown {
    return (this.db.prepare(SQL.all).all() as Row[]).map((r) => ({
      tenant: r.tenant,
      streamId: r.stream_id,
      version: r.version,
      snapshot: JSON.parse(r.snapshot),
    }));
  }
}
