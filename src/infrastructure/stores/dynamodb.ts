// DynamoDB's adapters, loaded by the container only when C360_STORE=dynamodb.
export { DynamoDbAuditLog } from '../../adapters/dynamodb/dynamodb.audit-log.js';
export { createDynamoDbClient } from '../../adapters/dynamodb/dynamodb.client.js';
export { DynamoDbErasureLedger } from '../../adapters/dynamodb/dynamodb.erasure-ledger.js';
export { DynamoDbEventStore } from '../../adapters/dynamodb/dynamodb.event-store.js';
export { DynamoDbKeyStore } from '../../adapters/dynamodb/dynamodb.key-store.js';
export { DynamoDbOutbox } from '../../adapters/dynamodb/dynamodb.outbox.js';
export { DynamoDbQuarantine } from '../../adapters/dynamodb/dynamodb.quarantine.js';
export { DynamoDbReadModelStore } from '../../adapters/dynamodb/dynamodb.read-model-store.js';
export { DynamoDbSnapshotStore } from '../../adapters/dynamodb/dynamodb.snapshot-store.js';
export { DynamoDbCheckpoints } from '../../adapters/dynamodb/dynamodb.stream-checkpoints.js';
export { DynamoDbStreamsProjector, reportStreamBatch } from '../../adapters/dynamodb/dynamodb.streams-projector.js';

/** The local stand-in for the streams Lambda (npm start on DynamoDB): loaded only where a poller runs. */
export const loadStreamsPoller = () => import('./dynamodb.poller.js');
