/**
 * DynamoDB: the event log (with its claims, idempotency records and snapshots), the 360 views,
 * data keys, the quarantine, the audit log, the erasure ledger and the engagement outbox, one
 * table each; and the DynamoDB Streams projector the streams Lambda runs.
 *
 * @module customer360-core/dynamodb
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbAuditLog } from '../adapters/dynamodb/dynamodb.audit-log.js';
import { DynamoDbErasureLedger } from '../adapters/dynamodb/dynamodb.erasure-ledger.js';
import { DynamoDbEventStore } from '../adapters/dynamodb/dynamodb.event-store.js';
import { DynamoDbKeyStore } from '../adapters/dynamodb/dynamodb.key-store.js';
import { DynamoDbOutbox } from '../adapters/dynamodb/dynamodb.outbox.js';
import { DynamoDbQuarantine } from '../adapters/dynamodb/dynamodb.quarantine.js';
import { DynamoDbReadModelStore } from '../adapters/dynamodb/dynamodb.read-model-store.js';
import { DynamoDbSnapshotStore } from '../adapters/dynamodb/dynamodb.snapshot-store.js';
import type { MasterKeyring } from '../adapters/crypto/master-key.js';
import type { Clock } from '../application/ports/runtime.port.js';
import type { StorePorts } from './embed.js';

export { DynamoDbAuditLog } from '../adapters/dynamodb/dynamodb.audit-log.js';
export { createDynamoDbClient, DYNAMODB_RETRY } from '../adapters/dynamodb/dynamodb.client.js';
export { DynamoDbErasureLedger } from '../adapters/dynamodb/dynamodb.erasure-ledger.js';
export { DynamoDbEventStore, type LateCommit } from '../adapters/dynamodb/dynamodb.event-store.js';
export { DynamoDbKeyStore } from '../adapters/dynamodb/dynamodb.key-store.js';
export { DynamoDbOutbox } from '../adapters/dynamodb/dynamodb.outbox.js';
export { DynamoDbQuarantine } from '../adapters/dynamodb/dynamodb.quarantine.js';
export { DynamoDbReadModelStore } from '../adapters/dynamodb/dynamodb.read-model-store.js';
export { DynamoDbSnapshotStore } from '../adapters/dynamodb/dynamodb.snapshot-store.js';
export { DynamoDbCheckpoints } from '../adapters/dynamodb/dynamodb.stream-checkpoints.js';
export { DynamoDbStreamsProjector } from '../adapters/dynamodb/dynamodb.streams-projector.js';
export { ensureTables, tableDefinitions, type TableDefinition, type TableNames } from '../adapters/dynamodb/dynamodb.tables.js';

export type DynamoDbTables = {
  /** the event log; snapshots live in it too */
  readonly events: string;
  readonly views: string;
  readonly keys: string;
  readonly quarantine: string;
  readonly audit: string;
  readonly ledger: string;
  /** default `${events}-outbox` */
  readonly outbox?: string | undefined;
};

export type DynamoDbStoresOptions = {
  readonly client: DynamoDBClient;
  readonly tables: DynamoDbTables;
  /** wraps every customer data key: a LocalMasterKey, or KMS (see the core's MasterKeyring) */
  readonly keyring: MasterKeyring;
  /** the clock commits are stamped with; use the one given to createPorts */
  readonly clock?: Clock | undefined;
  /** how long a quarantined entry is kept; default 30 days */
  readonly quarantineRetentionMs?: number | undefined;
  /** the log's settle horizon (default 60 s): see DynamoDbEventStoreOptions.settleMs */
  readonly settleMs?: number | undefined;
};

/** Every store on DynamoDB, for `createPorts({ stores })`, with the engagement outbox beside them. */
export const dynamoDbStores = (options: DynamoDbStoresOptions): StorePorts & { readonly outbox: DynamoDbOutbox } => {
  const { client, tables, keyring, clock } = options;
  return {
    store: new DynamoDbEventStore(client, { tableName: tables.events, clock, settleMs: options.settleMs }),
    readModels: new DynamoDbReadModelStore(client, { tableName: tables.views }),
    snapshots: new DynamoDbSnapshotStore(client, { tableName: tables.events }),
    keys: new DynamoDbKeyStore(client, { tableName: tables.keys, keyring, clock }),
    quarantine: new DynamoDbQuarantine(client, { tableName: tables.quarantine, retentionMs: options.quarantineRetentionMs, clock }),
    audit: new DynamoDbAuditLog(client, { tableName: tables.audit }),
    ledger: new DynamoDbErasureLedger(client, { tableName: tables.ledger }),
    outbox: new DynamoDbOutbox(client, { tableName: tables.outbox ?? `${tables.events}-outbox` }),
  };
};
