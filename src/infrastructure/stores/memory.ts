// The in-memory store's adapters, loaded by the container only when C360_STORE=memory.
export { MemoryAuditLog } from '../../adapters/memory/memory.audit-log.js';
export { MemoryErasureLedger } from '../../adapters/memory/memory.erasure-ledger.js';
export { MemoryEventStore } from '../../adapters/memory/memory.event-store.js';
export { MemoryKeyStore } from '../../adapters/memory/memory.key-store.js';
export { MemoryOutbox } from '../../adapters/memory/memory.outbox.js';
export { MemoryQuarantine } from '../../adapters/memory/memory.quarantine.js';
export { MemoryReadModelStore } from '../../adapters/memory/memory.read-model-store.js';
export { MemorySnapshotStore } from '../../adapters/memory/memory.snapshot-store.js';
