/**
 * The core: createCore over a set of ports, the ports' types, the use cases it hands out, the
 * identity rules, and the adapters every embedding needs whatever its store (Node's crypto, settings
 * from data, in-process counters). Nothing here imports the AWS SDK, Hono or inversify.
 *
 * @module customer360-core
 */

export type { Core, CoreOptions } from '../application/core.js';
export { createCore } from '../application/core.js';
export type { CorePorts } from '../application/deps.js';
export {
  createPorts,
  defaultSourceOf,
  IdentityRulesError,
  parseIdentityRules,
  verifyClaimSecret,
  type PortsOptions,
  type StorePorts,
} from './embed.js';
export { ClaimSecretMismatch, type ClaimSecretCheck } from '../application/claim-secret.js';
export { reapplyErasures, rebuildViews, type ReapplyErasuresOptions, type RebuildOptions } from './rebuilds.js';

// ports
export type { Authenticator, Principal, Scope } from '../application/ports/access.port.js';
export type { AuditAction, AuditEntry, AuditLog, AuditPage } from '../application/ports/audit.port.js';
export type { ErasureLedger, ErasureReceipt } from '../application/ports/erasure-ledger.port.js';
export type {
  ClaimOp,
  Commit,
  CommitResult,
  EventStore,
  IdempotencyRecord,
  ReadAllOptions,
  ReadAllPage,
  StoredEvent,
  StreamAppend,
} from '../application/ports/event-store.port.js';
export type { IdentityChange, IdentityFeed } from '../application/ports/identity-feed.port.js';
export type { IngestQueue, QueuedCall, QueueLimits, QueueRecord, QueueResult } from '../application/ports/ingest-queue.port.js';
export type { Cipher, DataKey, Hasher, KeyStore } from '../application/ports/keys.port.js';
export type { Notification, Notifier } from '../application/ports/notifier.port.js';
export type { Outbox, OutboxEntry, OutboxRetry } from '../application/ports/outbox.port.js';
export type {
  Quarantine,
  QuarantineEntry,
  QuarantineIntake,
  QuarantinePage,
  QuarantineReason,
  QuarantineRewrite,
} from '../application/ports/quarantine.port.js';
/** how a Quarantine adapter of one's own keeps a payload as JSON text (what the contract suite expects) */
export { quarantinePayloadJson } from '../application/ports/quarantine.port.js';
export { appliedSum, docOrder, stampOf, uniqueDocs, type DocStamp, type ReadModelStore, type ViewDoc } from '../application/ports/read-model.port.js';
export type { TenantSettings } from '../application/ports/rules.port.js';
export type { Clock, IdGenerator, MetricName, Metrics } from '../application/ports/runtime.port.js';
export type { SnapshotStore, StoredSnapshot } from '../application/ports/snapshot.port.js';
export { STORE_RETRY_AFTER_SECONDS, StoreUnavailable } from '../application/ports/store-unavailable.js';

// the use cases a caller drives (each reached through the Core: core.ingest, core.gdpr, ...)
export type { ConsentUseCase } from '../application/customers/consent.use-case.js';
export type { CustomerQueries, Get360Result } from '../application/customers/customer.queries.js';
export type { IdentityUseCases } from '../application/customers/identity.use-cases.js';
export type { EngagementOptions } from '../application/engagement/engagement.use-case.js';
export type { ErasureUseCase, ReapplyOptions, ReapplyProgress, ReapplyReport } from '../application/gdpr/erasure.use-case.js';
export type { ExportUseCase } from '../application/gdpr/export.use-case.js';
export type { IngestOutcome, IngestSource, IngestUseCase } from '../application/ingest/ingest.use-case.js';
export { syncIntake, type AcceptOutcome, type CallIntake } from '../application/ingest/intake.js';
export type { RebuildProgress, RebuildProjections } from '../application/projection/rebuild.use-case.js';
export { NOT_REPLAYABLE, type QuarantineUseCases } from '../application/quarantine/quarantine.use-cases.js';

// identity rules and errors
export { compileRules, DEFAULT_IDENTITY_RULES, IdentityRules, type CompiledRules, type TypeRule } from '../domain/identity/rules.js';
export { KNOWN_IDENTIFIER_TYPES, type Identifier, type PhoneRegion } from '../domain/identity/identifier.js';
export type { CustomerState } from '../domain/customer/customer.state.js';
export type { Customer360 } from '../domain/projection/customer360.js';
export { DEFAULT_SCORE_CONFIG, ScoreConfig } from '../domain/projection/scores.js';
export { DomainError, type ErrorCode } from '../domain/shared/errors.js';

// adapters every embedding uses, whatever its store
export { StaticTenantSettings, type TenantSettingsInput } from '../adapters/config/static-tenant-settings.js';
export { StaticAuthenticator, type CredentialSpec } from '../adapters/config/static-credentials.js';
export { EncryptedQuarantine } from '../adapters/crypto/encrypted-quarantine.js';
export { generateLocalMasterKey, LocalMasterKey, MasterKeyring, type MasterKey } from '../adapters/crypto/master-key.js';
export { AesGcmCipher, HmacHasher, SystemClock, UuidV7Generator } from '../adapters/crypto/node-crypto.js';
export { MemoryMetrics } from '../adapters/metrics/memory.metrics.js';
