/**
 * The embedded store: one SQLite file (node:sqlite, WAL, durable when a commit is acknowledged)
 * holding the log and every store beside it. Node 22.15 or later (the
 * package's engines: node:sqlite came unflagged in 22.13, the lake's zstd in 22.15).
 *
 * @module customer360-core/sqlite
 */
import type { MasterKeyring } from '../adapters/crypto/master-key.js';
import { SqliteDatabase } from '../adapters/sqlite/sqlite.database.js';
import { SqliteEventStore } from '../adapters/sqlite/sqlite.event-store.js';
import { openSqliteStores, type SqliteStores } from '../adapters/sqlite/sqlite.stores.js';
import type { Clock } from '../application/ports/runtime.port.js';
import type { StorePorts } from './embed.js';

export { SqliteAuditLog } from '../adapters/sqlite/sqlite.audit-log.js';
export { SqliteCheckpoints, SqliteShardCheckpoints } from '../adapters/sqlite/sqlite.checkpoints.js';
export { SqliteDatabase, type SqliteDatabaseOptions } from '../adapters/sqlite/sqlite.database.js';
export { SqliteErasureLedger } from '../adapters/sqlite/sqlite.erasure-ledger.js';
export { SqliteEventStore } from '../adapters/sqlite/sqlite.event-store.js';
export { SqliteKeyStore } from '../adapters/sqlite/sqlite.key-store.js';
export { SqliteLogFollower } from '../adapters/sqlite/sqlite.log-follower.js';
export { SqliteOutbox } from '../adapters/sqlite/sqlite.outbox.js';
export { SqliteQuarantine } from '../adapters/sqlite/sqlite.quarantine.js';
export { SqliteReadModelStore } from '../adapters/sqlite/sqlite.read-model-store.js';
export { SqliteSnapshotStore } from '../adapters/sqlite/sqlite.snapshot-store.js';
export { openSqliteStores, type SqliteStores, type SqliteStoresOptions } from '../adapters/sqlite/sqlite.stores.js';

export type SqliteFileOptions = {
  /** the database file, or ':memory:' */
  readonly path: string;
  /** wraps every customer data key */
  readonly keyring: MasterKeyring;
  /** the clock commits are stamped with; use the one given to createPorts */
  readonly clock?: Clock | undefined;
  /** how long a quarantined entry is kept; default 30 days */
  readonly quarantineRetentionMs?: number | undefined;
};

/** Every store in one SQLite file, for `createPorts({ stores })`; `close()` closes the file. */
export const sqliteStores = (options: SqliteFileOptions): StorePorts & Pick<SqliteStores, 'outbox'> & { close(): void } => {
  const db = new SqliteDatabase({ path: options.path });
  const stores = openSqliteStores(db, options);
  return { ...stores, store: new SqliteEventStore(db, { clock: options.clock }), close: () => db.close() };
};
