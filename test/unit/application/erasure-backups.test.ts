import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/infrastructure/app.js';
import { loadConfig } from '../../../src/infrastructure/config.js';

// A backup taken before an erasure (DynamoDB point-in-time recovery, the lake bucket's old object
// versions) still holds the erased data until it expires: the receipt says when that is, from the
// deployment's retention (C360_BACKUP_RETENTION_DAYS; the CDK app sets its 35 days).

const DAY = 86_400_000;

const erasedWith = async (env: Record<string, string> | ((tenant: string) => Record<string, string>)) => {
  const tenant = `t-${randomUUID().slice(0, 8)}`;
  const app = await buildApp(
    loadConfig({ C360_STORE: 'memory', C360_TENANT: tenant, C360_ENGAGEMENT: 'off', ...(typeof env === 'function' ? env(tenant) : env) }),
  );
  try {
    const source = app.sourceOf(tenant, 'crm');
    const [out] = await app.core.ingest.ingestBatch(tenant, source, {
      batch: [{ type: 'identify', userId: 'u-1', messageId: 'm-1', traits: { email: 'u1@example.com' } }],
    });
    const customerId = (out as { customerId?: string }).customerId!;
    expect(customerId).toBeTruthy();
    return await app.core.gdpr.erase(tenant, customerId, { actor: 'test', reason: 'art17-request' });
  } finally {
    await app.close();
  }
};

describe('the erasure receipt and backups', () => {
  it('names when the last backup holding the erased data expires: the erasure plus the retention', async () => {
    const receipt = await erasedWith({ C360_BACKUP_RETENTION_DAYS: '35' });
    expect(receipt.backupsCleanAt).toBe(new Date(Date.parse(receipt.erasedAt) + 35 * DAY).toISOString());
  });

  it('says nothing of backups where the deployment keeps none of ours (the default)', async () => {
    const receipt = await erasedWith({});
    expect(receipt.erasedAt).toBeTruthy();
    expect(receipt).not.toHaveProperty('backupsCleanAt');
  });

  it('refuses a retention that is not a whole number of days, naming the variable', () => {
    expect(() => loadConfig({ C360_STORE: 'memory', C360_BACKUP_RETENTION_DAYS: '1.5' })).toThrow(/C360_BACKUP_RETENTION_DAYS/);
  });
});

// On AWS the lake is written by the lake function on a schedule, for the tenants the workload names
// (the CDK app gives the api function both): a receipt gives the bound for those tenants only.
describe('the erasure receipt and a lake written elsewhere on a schedule', () => {
  it('gives the bound, two intervals, for a tenant the schedule covers', async () => {
    const receipt = await erasedWith((tenant) => ({ C360_LAKE_SCHEDULE_MINUTES: '15', C360_LAKE_SCHEDULE_TENANTS: `other, ${tenant}` }));
    expect(Date.parse(receipt.lakeCleanBy!) - Date.parse(receipt.erasedAt)).toBe(30 * 60_000);
    expect(receipt).not.toHaveProperty('lakeCleanAt');
  });

  it('gives none for a tenant it does not cover: no lake holds its rows', async () => {
    const receipt = await erasedWith({ C360_LAKE_SCHEDULE_MINUTES: '15', C360_LAKE_SCHEDULE_TENANTS: 'other,another' });
    expect(receipt.erasedAt).toBeTruthy();
    expect(receipt).not.toHaveProperty('lakeCleanBy');
  });

  it('covers every tenant when the schedule names none', async () => {
    const receipt = await erasedWith({ C360_LAKE_SCHEDULE_MINUTES: '15' });
    expect(Date.parse(receipt.lakeCleanBy!) - Date.parse(receipt.erasedAt)).toBe(30 * 60_000);
  });
});
