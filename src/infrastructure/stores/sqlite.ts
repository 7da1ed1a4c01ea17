// The embedded store's adapters, loaded by the container only when C360_STORE is sqlite or eventstoredb.
export { SqliteAuditLog } from '../../adapters/sqlite/sqlite.audit-log.js';
export { SqliteCheckpoints, SqliteShardCheckpoints } from '../../adapters/sqlite/sqlite.checkpoints.js';
export { SqliteDatabase } from '../../adapters/sqlite/sqlite.database.js';
export { SqliteErasureLedger } from '../../adapters/sqlite/sqlite.erasure-ledger.js';
export { SqliteEventStore } from '../../adapters/sqlite/sqlite.event-store.js';
export { SqliteKeyStore } from '../../adapters/sqlite/sqlite.key-store.js';
export { SqliteLogFollower } from '../../adapters/sqlite/sqlite.log-follower.js';
export { SqliteOutbox } from '../../adapters/sqlite/sqlite.outbox.js';
export { SqliteQuarantine } from '../../adapters/sqlite/sqlite.quarantine.js';
export { SqliteReadModelStore } from '../../adapters/sqlite/sqlite.read-model-store.js';
export { SqliteSnapshotStore } from '../../adapters/sqlite/sqlite.snapshot-store.js';
