import type { AuditLog } from './ports/audit.port.js';
import type { ErasureLedger } from './ports/erasure-ledger.port.js';
import type { EventStore } from './ports/event-store.port.js';
import type { Cipher, Hasher, KeyStore } from './ports/keys.port.js';
import type { LakeEraser } from './ports/lake.port.js';
import type { Quarantine } from './ports/quarantine.port.js';
import type { ReadModelStore } from './ports/read-model.port.js';
import type { TenantSettings } from './ports/rules.port.js';
import type { SnapshotStore } from './ports/snapshot.port.js';
import type { Clock, IdGenerator, Metrics } from './ports/runtime.port.js';

/** Every driven port the use cases need; the composition root provides the adapters. */
export type CorePorts = {
  readonly store: EventStore;
  readonly readModels: ReadModelStore;
  readonly keys: KeyStore;
  readonly cipher: Cipher;
  readonly hasher: Hasher;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly quarantine: Quarantine;
  readonly settings: TenantSettings;
  readonly metrics: Metrics;
  /** erasures, exports, consent and admin actions: ids only */
  readonly audit: AuditLog;
  /** every erasure, for idempotent receipts and re-applying after a restore */
  readonly ledger: ErasureLedger;
  /** optional: without it every load folds the whole stream */
  readonly snapshots?: SnapshotStore | undefined;
  /** the analytics lake, where one is written: erasure removes the cluster's rows from it */
  readonly lake?: LakeEraser | undefined;
};
