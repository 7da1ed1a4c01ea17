/**
 * For users' own tests (needs fast-check, an optional peer dependency of this package; the vitest
 * suites, identityLawsSuite and the contract suites, need vitest too, another one; the rest imports
 * and runs without it, checkIdentityLaws from a plain script among them):
 * the fast-check arbitraries for identifiers, Segment calls, histories and clusters; the identity
 * laws, run against a rules file of yours; and the contract suite of every port, for an adapter
 * of yours to prove itself against.
 *
 * @module customer360-core/testing
 */

export {
  arbCall,
  arbCluster,
  arbHistory,
  arbIdentifier,
  arbOps,
  arbPermutedHistory,
  arbSized,
  BLOCKED,
  ID_TYPES,
  identifiersOf,
  NOW,
  observedAtOf,
  POOLS,
  TENANTS,
  toSegment,
  traitsOf,
  type CallSpec,
  type HistoryOptions,
  type IdType,
  type ObservedId,
  type Op,
} from '../testing/arbitraries.js';
export {
  checkIdentityLaws,
  formatCoverage,
  formatLawFailure,
  IDENTITY_LAWS,
  type IdentityLaw,
  type IdentityLawName,
  type LawCoverage,
  type LawResult,
  type LawsOptions,
} from '../testing/identity-laws.js';
export { identityLawsSuite } from '../testing/identity-laws.suite.js';

// the contract suites: call one with a name and a factory of your adapter, inside a vitest file
export { auditLogContract } from '../testing/contracts/audit-log.contract.js';
export { checkpointsContract, type CheckpointsTraits, type CheckpointsUnderTest } from '../testing/contracts/checkpoints.contract.js';
export { ledgerContract } from '../testing/contracts/erasure-ledger.contract.js';
export { eventStoreContract, type EventStoreContractOptions } from '../testing/contracts/event-store.contract.js';
export {
  identityFeedContract,
  type DeliveredChange,
  type IdentityFeedTraits,
  type IdentityFeedUnderTest,
} from '../testing/contracts/identity-feed.contract.js';
export { ingestQueueContract, type IngestQueueUnderTest, type ReceivedRecord } from '../testing/contracts/ingest-queue.contract.js';
export { keyStoreContract, type KeyStoreFixture } from '../testing/contracts/key-store.contract.js';
export { notifierContract, type DeliveredNotification, type NotifierTraits, type NotifierUnderTest } from '../testing/contracts/notifier.contract.js';
export { outboxContract } from '../testing/contracts/outbox.contract.js';
export { quarantineContract } from '../testing/contracts/quarantine.contract.js';
export { readModelStoreContract } from '../testing/contracts/read-model-store.contract.js';
export { snapshotStoreContract } from '../testing/contracts/snapshot-store.contract.js';

// storage-format values and paging, for an adapter's own tests beside the contracts
export { append, pointerDoc, quarantineEntry, registered, storedEvent, viewDoc } from '../testing/builders.js';
export { drain, listAllViews, readAllEvents } from '../testing/paging.js';
