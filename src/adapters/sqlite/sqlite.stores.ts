import type { Clock } from '../../application/ports/runtime.port.js';
import type { MasterKeyring } from '../crypto/master-key.js';
import { SqliteAuditLog } from './sqlite.audit-log.js';
import type { SqliteDatabase } from './sqlite.database.js';
import { SqliteErasureLedger } from './sqlite.erasure-ledger.js';
import { SqliteKeyStore } from './sqlite.key-store.js';
import { SqliteOutbox } from './sqlite.outbox.js';
import { SqliteQuarantine } from './sqlite.quarantine.js';
import { SqliteReadModelStore } from './sqlite.read-model-store.js';
import { SqliteSnapshotStore } from './sqlite.snapshot-store.js';

// Every store of the embedded file except the event store, each creating its own tables. The
// quarantine is the plain one: wrap it in EncryptedQuarantine before it holds real payloads.

export type SqliteStoresOptions = {
  readonly keyring: MasterKeyring;
  readonly clock?: Clock | undefined;
  /** how long a quarantined entry is kept; default 30 days */
  readonly quarantineRetentionMs?: number | undefined;
};

export type SqliteStores = {
  readonly readModels: SqliteReadModelStore;
  readonly snapshots: SqliteSnapshotStore;
  readonly keys: SqliteKeyStore;
  readonly quarantine: SqliteQuarantine;
  readonly audit: SqliteAuditLog;
  readonly ledger: SqliteErasureLedger;
  readonly outbox: SqliteOutbox;
};

export const openSqliteStores = (db: SqliteDatabase, options: SqliteStoresOptions): SqliteStores => ({
  readModels: new SqliteReadModelStore(db),
  snapshots: new SqliteSnapshotStore(db),
  keys: new SqliteKeyStore(db, { keyring: options.keyring, clock: options.clock }),
  quarantine: new SqliteQuarantine(db, { retentionMs: options.quarantineRetentionMs, clock: options.clock }),
  audit: new SqliteAuditLog(db),
  ledger: new SqliteErasureLedger(db),
  outbox: new SqliteOutbox(db),
});
