import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { DynamoDbErasureLedger } from '../../src/adapters/dynamodb/dynamodb.erasure-ledger.js';
import { ensureTables } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { ledgerContract } from '../contract/erasure-ledger.contract.js';

// The ErasureLedger contract on DynamoDB Local, as the other DynamoDB stores run theirs (memory in
// test/contract/memory.contract.test.ts, SQLite in test/contract/sqlite.stores.contract.test.ts).
// One table for the file; the contract gives every test its own tenant.

const client = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
const tableName = `ledger-${randomUUID()}`;

beforeAll(() => ensureTables(client, { ledger: tableName }));
afterAll(() => client.destroy());

ledgerContract('DynamoDB Local', async () => new DynamoDbErasureLedger(client, { tableName }));
