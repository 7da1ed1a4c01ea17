import type { ServiceIdentifier } from 'inversify';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventStoreDBClient } from '@eventstore/db-client';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { Core } from '../application/core.js';
import type { CorePorts } from '../application/deps.js';
import type { IdentityFeed } from '../application/ports/identity-feed.port.js';
import type { Notifier } from '../application/ports/notifier.port.js';
import type { Outbox } from '../application/ports/outbox.port.js';
import type { DynamoDbStreamsProjector } from '../adapters/dynamodb/dynamodb.streams-projector.js';
import type { Authenticator } from '../application/ports/access.port.js';
import type { AuditLog } from '../application/ports/audit.port.js';
import type { ErasureLedger } from '../application/ports/erasure-ledger.port.js';
import type { EventStore } from '../application/ports/event-store.port.js';
import type { Cipher, Hasher, KeyStore } from '../application/ports/keys.port.js';
import type { Quarantine } from '../application/ports/quarantine.port.js';
import type { ReadModelStore } from '../application/ports/read-model.port.js';
import type { TenantSettings } from '../application/ports/rules.port.js';
import type { SnapshotStore } from '../application/ports/snapshot.port.js';
import type { Clock, IdGenerator, Metrics } from '../application/ports/runtime.port.js';
import type { SqliteDatabase } from '../adapters/sqlite/sqlite.database.js';
import type { Config } from './config.js';

// Every DI token in one place. Explicit tokens and factories: esbuild emits no decorator metadata.
const token = <T>(name: string): ServiceIdentifier<T> => Symbol.for(`c360.${name}`);

export const TOKENS = {
  Config: token<Config>('Config'),
  EventStore: token<EventStore>('EventStore'),
  ReadModelStore: token<ReadModelStore>('ReadModelStore'),
  KeyStore: token<KeyStore>('KeyStore'),
  Cipher: token<Cipher>('Cipher'),
  Hasher: token<Hasher>('Hasher'),
  Clock: token<Clock>('Clock'),
  IdGenerator: token<IdGenerator>('IdGenerator'),
  Quarantine: token<Quarantine>('Quarantine'),
  SnapshotStore: token<SnapshotStore>('SnapshotStore'),
  TenantSettings: token<TenantSettings>('TenantSettings'),
  Metrics: token<Metrics>('Metrics'),
  AuditLog: token<AuditLog>('AuditLog'),
  ErasureLedger: token<ErasureLedger>('ErasureLedger'),
  Authenticator: token<Authenticator>('Authenticator'),
  DynamoDbClient: token<DynamoDBClient>('DynamoDbClient'),
  /** C360_STORE=eventstoredb: the client, disposed when the app closes */
  EventStoreDbClient: token<EventStoreDBClient>('EventStoreDbClient'),
  Sqlite: token<SqliteDatabase>('Sqlite'),
  /** the ports as the use cases see them, each adapter resolved on first read */
  Ports: token<CorePorts>('Ports'),
  /** the SNS client, created on its first call (createSnsClient) */
  SnsClient: token<() => SNSClient>('SnsClient'),
  IdentityFeed: token<IdentityFeed>('IdentityFeed'),
  Notifier: token<Notifier>('Notifier'),
  Outbox: token<Outbox>('Outbox'),
  /** the use cases, each built on first use */
  Core: token<Core>('Core'),
  /** DynamoDB Streams records -> the views (the streams function, the local poller) */
  StreamsProjector: token<DynamoDbStreamsProjector>('StreamsProjector'),
} as const;
