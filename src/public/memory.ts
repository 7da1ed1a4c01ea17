/**
 * The in-memory adapters: tests, demos, and a core embedded where nothing has to outlive the process.
 *
 * @module customer360-core/memory
 */
import { MemoryAuditLog } from '../adapters/memory/memory.audit-log.js';
import { MemoryErasureLedger } from '../adapters/memory/memory.erasure-ledger.js';
import { MemoryEventStore } from '../adapters/memory/memory.event-store.js';
import { MemoryKeyStore } from '../adapters/memory/memory.key-store.js';
import { MemoryOutbox } from '../adapters/memory/memory.outbox.js';
import { MemoryQuarantine } from '../adapters/memory/memory.quarantine.js';
import { MemoryReadModelStore } from '../adapters/memory/memory.read-model-store.js';
import { MemorySnapshotStore } from '../adapters/memory/memory.snapshot-store.js';
import type { Clock } from '../application/ports/runtime.port.js';
import type { StorePorts } from './embed.js';

export { MemoryAuditLog } from '../adapters/memory/memory.audit-log.js';
export { MemoryErasureLedger } from '../adapters/memory/memory.erasure-ledger.js';
export { MemoryEventStore } from '../adapters/memory/memory.event-store.js';
export { MemoryIdentityFeed } from '../adapters/memory/memory.identity-feed.js';
export { MemoryKeyStore } from '../adapters/memory/memory.key-store.js';
export { MemoryNotifier } from '../adapters/memory/memory.notifier.js';
export { MemoryOutbox } from '../adapters/memory/memory.outbox.js';
export { MemoryQuarantine, type MemoryQuarantineOptions } from '../adapters/memory/memory.quarantine.js';
export { MemoryReadModelStore } from '../adapters/memory/memory.read-model-store.js';
export { MemorySnapshotStore } from '../adapters/memory/memory.snapshot-store.js';

export type MemoryStoresOptions = {
  /** the clock the event store stamps commits with; use the one given to createPorts */
  readonly clock?: Clock | undefined;
  /** how long a quarantined entry is kept; default 30 days */
  readonly quarantineRetentionMs?: number | undefined;
};

/** Every store in memory, for `createPorts({ stores })`, with the engagement outbox beside them. */
export const memoryStores = (options: MemoryStoresOptions = {}): StorePorts & { readonly outbox: MemoryOutbox } => ({
  store: new MemoryEventStore(options.clock),
  readModels: new MemoryReadModelStore(),
  keys: new MemoryKeyStore(),
  quarantine: new MemoryQuarantine({ retentionMs: options.quarantineRetentionMs, clock: options.clock }),
  snapshots: new MemorySnapshotStore(),
  audit: new MemoryAuditLog(),
  ledger: new MemoryErasureLedger(),
  outbox: new MemoryOutbox(),
});
