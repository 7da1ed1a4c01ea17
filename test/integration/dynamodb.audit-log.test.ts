import { randomUUID } from 'node:crypto';
import { DescribeTimeToLiveCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { UuidV7Generator } from '../../src/adapters/crypto/uuid-v7.id-generator.js';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { DynamoDbAuditLog } from '../../src/adapters/dynamodb/dynamodb.audit-log.js';
import { ensureTables } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { MemoryAuditLog } from '../../src/adapters/memory/memory.audit-log.js';
import { auditLogContract } from '../contract/audit-log.contract.js';

// The AuditLog contract on memory (the reference) and on DynamoDB Local, then what the table holds.

const client = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
const tableName = `audit-${randomUUID()}`;

beforeAll(() => ensureTables(client, { audit: tableName }));
afterAll(() => client.destroy());

auditLogContract('memory', () => new MemoryAuditLog());
auditLogContract('DynamoDB Local', () => new DynamoDbAuditLog(client, { tableName }));

describe('DynamoDbAuditLog table', () => {
  it('keeps entries for good (no TTL), and a tenant or customer id holding "#" cannot reach another partition', async () => {
    const { TimeToLiveDescription } = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    expect(TimeToLiveDescription?.TimeToLiveStatus).toBe('DISABLED');

    const log = new DynamoDbAuditLog(client, { tableName });
    const ids = new UuidV7Generator();
    const base = `t-${randomUUID()}`;
    const at = 1_767_225_600_000;
    // tenant "base" with customer "x" versus tenant "base#C#x" with no customer: without encoding, both would be A#base#C#x
    await log.append({ id: ids.newId(), tenant: base, at, actor: 'system', action: 'customer.export', customerId: 'x', outcome: 'ok' });
    await log.append({ id: ids.newId(), tenant: `${base}#C#x`, at, actor: 'system', action: 'admin.rebuild', outcome: 'ok' });
    expect((await log.list(base, { limit: 10, customerId: 'x' })).entries.map((e) => e.action)).toEqual(['customer.export']);
    expect((await log.list(`${base}#C#x`, { limit: 10 })).entries.map((e) => e.action)).toEqual(['admin.rebuild']);
  });

  it('writes an entry naming a customer as two items with the same content, and one without as one', async () => {
    const log = new DynamoDbAuditLog(client, { tableName });
    const tenant = `t-${randomUUID()}`;
    const ids = new UuidV7Generator();
    const [withCustomer, without] = [ids.newId(), ids.newId()];
    await log.append({
      id: withCustomer,
      tenant,
      at: 1,
      actor: 'cred-1',
      action: 'customer.erase',
      customerId: 'c-9',
      outcome: 'ok',
      detail: { customers: 2 },
    });
    await log.append({ id: without, tenant, at: 2, actor: 'cred-1', action: 'admin.rebuild', outcome: 'ok' });
    const { Items = [] } = await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
    const mine = Items.filter((i) => i.sk?.S === withCustomer || i.sk?.S === without);
    expect(mine.map((i) => [i.pk?.S, i.sk?.S]).sort()).toEqual(
      [
        [`A#${tenant}`, withCustomer],
        [`A#${tenant}#C#c-9`, withCustomer],
        [`A#${tenant}`, without],
      ].sort(),
    );
    expect(new Set(mine.filter((i) => i.sk?.S === withCustomer).map((i) => i.entry?.S)).size).toBe(1);
  });

  it('refuses a page size below 1 with a message naming the limit', async () => {
    await expect(new DynamoDbAuditLog(client, { tableName }).list('t', { limit: 0 })).rejects.toThrow(/limit must be at least 1, got 0/);
  });
});
