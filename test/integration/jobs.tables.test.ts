import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SqliteDatabase } from '../../src/adapters/sqlite/sqlite.database.js';
import { SqliteOutbox } from '../../src/adapters/sqlite/sqlite.outbox.js';
import { ensureTables, type TableNames } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { buildApp } from '../../src/infrastructure/app.js';
import { JOB_ACCESS, JOB_SCANS, JOBS, type JobName } from '../../src/infrastructure/cdk/jobs.stack.js';
import { READ, WRITE } from '../../src/infrastructure/cdk/grants.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import { runJob } from '../../src/infrastructure/job.js';
import { seedScenario } from '../support/erasure-scenario.js';

// The long jobs' task roles (JOB_ACCESS in the CDK app) against what the jobs really do. A tenant
// is built on a SQLite file (merges, an erasure, the quarantine, outbox entries), then the three
// jobs run through the container's entry (runJob) with the task's settings against DynamoDB Local
// behind a recording proxy: `migrate --to dynamodb`, `rebuild`, `match`. Every DynamoDB call a job
// makes (action and table; a transaction's items one by one) is one its role allows, and every
// table its role names is one the job uses (written, where the role may write; scanned, where it may scan).

type TableKind = keyof TableNames;
type Access = { readonly action: string; readonly table: string };

const tenant = 'acme';
const secrets = { C360_CLAIM_SECRET: randomBytes(32).toString('base64url'), C360_MASTER_KEY: randomBytes(32).toString('base64') };
const prefix = `jobs-${randomUUID().slice(0, 8)}-`;
const KINDS: readonly TableKind[] = ['events', 'views', 'keys', 'quarantine', 'audit', 'ledger', 'outbox'];
const tableName = (kind: TableKind) => `${prefix}${kind}`;
const kindOf = (table: string) => KINDS.find((k) => tableName(k) === table);

const TRANSACT_ITEM: Record<string, string> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
  Get: 'GetItem',
};

/** The IAM actions one DynamoDB request needs, per table (a transaction's items and a batch's tables each). */
const accessesOf = (target: string, body: Record<string, unknown>): Access[] => {
  const action = target.replace(/^DynamoDB_\d+\./, '');
  if (action === 'TransactWriteItems' || action === 'TransactGetItems')
    return (body.TransactItems as Record<string, { TableName: string }>[]).flatMap((item) =>
      Object.entries(item).map(([op, x]) => ({ action: TRANSACT_ITEM[op] ?? op, table: x.TableName })),
    );
  if (action === 'BatchWriteItem' || action === 'BatchGetItem') return Object.keys(body.RequestItems as object).map((table) => ({ action, table }));
  return [{ action, table: String(body.TableName) }];
};

let dir: string;
let proxy: Server;
let proxyUrl: string;
let recording: Access[] = [];

const jobEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  // as the task definition sets them (jobs.stack.ts), with DynamoDB Local behind the proxy for AWS
  C360_STORE: 'dynamodb',
  AWS_ENDPOINT_URL_DYNAMODB: proxyUrl,
  C360_CREATE_TABLES: 'false',
  ...Object.fromEntries(KINDS.map((k) => [`C360_${k.toUpperCase()}_TABLE`, tableName(k)])),
  C360_ENGAGEMENT: 'off',
  C360_LAKE: 'off',
  C360_DATA_DIR: join(dir, 'task'),
  C360_TENANT: tenant,
  C360_PHONE_REGION: 'GB',
  ...secrets,
  ...extra,
});

const captured = () => {
  let text = '';
  return { write: (t: string) => ((text += t), true), text: () => text };
};

/** Runs a job as the container does and returns the DynamoDB calls it made. */
const run = async (argv: string[], env: NodeJS.ProcessEnv): Promise<{ accesses: Access[]; stdout: string }> => {
  recording = [];
  const [stdout, stderr] = [captured(), captured()];
  const code = await runJob(argv, env, undefined, { stdout, stderr, debug: false, progressIntervalMs: 0 });
  expect(code, stderr.text()).toBe(0);
  return { accesses: recording, stdout: stdout.text() };
};

const results = new Map<JobName, Access[]>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'c360-jobs-'));
  const upstream = new URL(inject('dynamoEndpoint'));
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const target = String(req.headers['x-amz-target'] ?? '');
      if (target) recording.push(...accessesOf(target, JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>));
      const forward = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      forward.on('error', (e) => res.destroy(e));
      forward.end(body);
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

  // the stage's tables exist before any job runs (the data stack makes them)
  const client = new DynamoDBClient({ endpoint: inject('dynamoEndpoint') });
  await ensureTables(client, Object.fromEntries(KINDS.map((k) => [k, tableName(k)])) as unknown as TableNames);
  client.destroy();

  // the source: a tenant on the embedded SQLite file, with every kind of record migrate copies
  const sqlite = join(dir, 'source.sqlite');
  const source = await buildApp(
    loadConfig({ C360_DATA_DIR: dir, C360_SQLITE_FILE: sqlite, C360_TENANT: tenant, C360_PROJECTION: 'inline', C360_PHONE_REGION: 'GB', ...secrets }),
  );
  try {
    const seeded = await seedScenario((call) => source.core.ingest.ingest(tenant, source.sourceOf(tenant, 'web'), call));
    await source.core.gdpr.erase(tenant, seeded.alice[1]!, { actor: 'dpo' });
  } finally {
    await source.close();
  }
  const db = new SqliteDatabase({ path: sqlite });
  const at = 1_767_000_000_000;
  await new SqliteOutbox(db).stage({
    tenant,
    decisionId: 'd-1',
    customerId: 'c-1',
    version: 3,
    eventId: 'e-1',
    attempts: 0,
    createdAt: at,
    nextAttemptAt: at,
    status: 'pending',
    confirmed: false,
    notification: { decisionId: 'd-1', tenant, customerId: 'c-1', channel: 'email', offerId: 'o-1', offerTitle: 'Ten off', decidedAt: at },
  });
  db.close();

  results.set('migrate', (await run(['migrate', '--to', 'dynamodb'], jobEnv({ C360_STORE: 'sqlite', C360_SQLITE_FILE: sqlite }))).accesses);
  results.set('rebuild', (await run(['rebuild'], jobEnv())).accesses);
  const match = await run(['match', '--json'], jobEnv());
  expect(JSON.parse(match.stdout)).toMatchObject({ tenant, customers: expect.any(Number) });
  results.set('match', match.accesses);
}, 180_000);

afterAll(async () => {
  await new Promise((r) => proxy?.close(r));
  await rm(dir, { recursive: true, force: true });
});

describe.each(JOBS)('the %s task role', (job) => {
  it('allows every DynamoDB call the job makes, on the tables it names', () => {
    const accesses = results.get(job)!;
    expect(accesses.length).toBeGreaterThan(0);
    const allowed = (kind: TableKind) => {
      const level = JOB_ACCESS[job][kind];
      if (!level) return new Set<string>();
      const scan = JOB_SCANS[job].includes(kind) ? ['dynamodb:Scan'] : [];
      return new Set([...READ, ...scan, ...(level === 'readWrite' ? WRITE : [])].map((a) => a.replace('dynamodb:', '')));
    };
    const refused = accesses.filter((a) => {
      const kind = kindOf(a.table);
      return kind === undefined || !allowed(kind).has(a.action);
    });
    expect(refused).toEqual([]);
  });

  it('names no table the job does not use, and grants writes only where it writes', () => {
    const accesses = results.get(job)!;
    const written = new Set(accesses.filter((a) => WRITE.includes(`dynamodb:${a.action}`)).map((a) => kindOf(a.table)));
    const used = new Set(accesses.map((a) => kindOf(a.table)));
    for (const [kind, level] of Object.entries(JOB_ACCESS[job]) as [TableKind, 'read' | 'readWrite'][]) {
      expect(used.has(kind), `${job} never touches ${kind}`).toBe(true);
      expect(written.has(kind), `${job}: ${kind} is ${level}`).toBe(level === 'readWrite');
    }
    for (const kind of JOB_SCANS[job]) expect(accesses.some((a) => a.action === 'Scan' && kindOf(a.table) === kind)).toBe(true);
  });
});
