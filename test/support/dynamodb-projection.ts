import { randomUUID } from 'node:crypto';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { createCore, type Core } from '../../src/application/core.js';
import type { IngestSource } from '../../src/application/ingest/ingest.use-case.js';
import type { ReadModelStore } from '../../src/application/ports/read-model.port.js';
import type { ViewDocs } from '../../src/application/projection/customer360.projector.js';
import { StaticTenantSettings } from '../../src/adapters/config/static-tenant-settings.js';
import { AesGcmCipher, HmacHasher, UuidV7Generator } from '../../src/adapters/crypto/node-crypto.js';
import { DynamoDbEventStore } from '../../src/adapters/dynamodb/dynamodb.event-store.js';
import { DynamoDbReadModelStore } from '../../src/adapters/dynamodb/dynamodb.read-model-store.js';
import { DynamoDbStreamsProjector } from '../../src/adapters/dynamodb/dynamodb.streams-projector.js';
import { ensureTables, type TableNames } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import type { MemoryKeyStore } from '../../src/adapters/memory/memory.key-store.js';
import { MemoryQuarantine } from '../../src/adapters/memory/memory.quarantine.js';
import { MemoryAuditLog } from '../../src/adapters/memory/memory.audit-log.js';
import { MemoryErasureLedger } from '../../src/adapters/memory/memory.erasure-ledger.js';
import { MemoryMetrics } from '../../src/adapters/metrics/memory.metrics.js';
import { generateDataset } from '../../src/infrastructure/demo/dataset.js';
import { ManualClock } from './harness.js';
import { listAllViews } from './paging.js';

// The core on DynamoDB (events and views), projecting only from DynamoDB Streams, as production
// runs it. Each "process" gets its own core and stores; the key store stands in for the shared
// one (DynamoDB in production) and is passed from one process to the next.

export const WEB: IngestSource = { name: 'web', priority: 10, channel: 'web' };

export type DynamoProcess = { readonly core: Core; readonly views: DynamoDbReadModelStore; readonly metrics: MemoryMetrics; readonly clock: ManualClock };

export const freshTables = async (client: DynamoDBClient): Promise<TableNames & { readonly streamArn: string }> => {
  const names = { events: `events-${randomUUID()}`, views: `views-${randomUUID()}` };
  await ensureTables(client, names);
  const { Table } = await client.send(new DescribeTableCommand({ TableName: names.events }));
  if (!Table?.LatestStreamArn) throw new Error(`table ${names.events} has no stream`);
  return { ...names, streamArn: Table.LatestStreamArn };
};

export const streamsClient = (endpoint: string): DynamoDBStreamsClient => new DynamoDBStreamsClient({ endpoint });

export const startProcess = (client: DynamoDBClient, tables: TableNames, keys: MemoryKeyStore, clock = new ManualClock()): DynamoProcess => {
  const metrics = new MemoryMetrics();
  const views = new DynamoDbReadModelStore(client, { tableName: tables.views });
  const ports = {
    store: new DynamoDbEventStore(client, { tableName: tables.events, clock }),
    readModels: views,
    keys,
    cipher: new AesGcmCipher(),
    hasher: new HmacHasher((tenant) => `test-secret-for-${tenant}-0123456789abcdef`),
    clock,
    ids: new UuidV7Generator(clock.now),
    quarantine: new MemoryQuarantine(),
    settings: new StaticTenantSettings(),
    metrics,
    audit: new MemoryAuditLog(),
    ledger: new MemoryErasureLedger(),
  };
  const core = createCore(ports, { inlineProjection: false, sourceOf: (_t, name) => ({ name, priority: 0, channel: 'other' }) });
  return { core, views, metrics, clock };
};

export const streamsProjector = (p: DynamoProcess, docs: ViewDocs = p.views): DynamoDbStreamsProjector => new DynamoDbStreamsProjector(p.core.projector, docs);

/**
 * A small generated data set (devices merging on identify, orders, page views, retries, invalid
 * calls) plus a manual merge that is undone and one that is kept: every path of the projector.
 */
export const populate = async (p: DynamoProcess, tenant: string, seed = 7): Promise<void> => {
  const { calls } = generateDataset({ customers: 6, ordersPerCustomer: 2, eventsPerCustomer: 4, seed });
  for (const call of calls) {
    await p.core.ingest.ingest(tenant, WEB, call);
    p.clock.advance(1_000);
  }
  const send = async (call: Record<string, unknown>): Promise<string> => {
    const out = await p.core.ingest.ingest(tenant, WEB, call);
    p.clock.advance(60_000);
    if (out.status !== 'accepted') throw new Error(`setup call refused: ${JSON.stringify(out)}`);
    return out.customerId;
  };
  const a = await send({ type: 'identify', messageId: `${seed}-a1`, anonymousId: `anon-${seed}-a`, traits: { email: `a${seed}@example.com`, plan: 'pro' } });
  const b = await send({ type: 'identify', messageId: `${seed}-b1`, anonymousId: `anon-${seed}-b`, traits: { email: `b${seed}@example.com`, plan: 'free' } });
  const c = await send({ type: 'track', messageId: `${seed}-c1`, anonymousId: `anon-${seed}-c`, event: 'Order Completed', properties: { revenue: 42 } });
  const undone = await p.core.identity.merge(tenant, a, b, { actor: 'ops' });
  await send({ type: 'page', messageId: `${seed}-b2`, anonymousId: `anon-${seed}-b`, name: 'Home' });
  await p.core.identity.unmerge(tenant, undone.survivorId, undone.mergeId, { actor: 'ops' });
  await p.core.identity.merge(tenant, a, c, { actor: 'ops' });
  await send({ type: 'track', messageId: `${seed}-c2`, anonymousId: `anon-${seed}-c`, event: 'Order Completed', properties: { revenue: 7 } });
};

const byId = (a: { customerId: string }, b: { customerId: string }) => (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0);

/** Every doc the store holds for the tenant, as JSON. */
export const storedViews = async (views: ReadModelStore, tenant: string): Promise<unknown> => {
  const docs = await listAllViews(views, tenant, 200);
  return JSON.parse(JSON.stringify(docs.sort(byId)));
};

/** The tenant's docs folded from the whole log into scratch, as JSON: what a rebuild would store. */
export const rebuiltViews = async (p: DynamoProcess, tenant: string): Promise<unknown> => {
  const { scratch } = await p.core.rebuild.build(tenant);
  return JSON.parse(JSON.stringify([...scratch.docs.values()].sort(byId)));
};
