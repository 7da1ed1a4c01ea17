import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { secretsManagerSource, type SecretSource } from '../../src/adapters/config/secrets-manager.source.js';
import { ensureTables, type TableNames } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { buildApp, type App } from '../../src/infrastructure/app.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import { runJob } from '../../src/infrastructure/job.js';
import { seedScenario } from '../support/erasure-scenario.js';
import { motoAvailable, startMoto, type Moto } from '../support/moto.js';
import { listAllViews, readAllEvents } from '../support/paging.js';

// The long jobs' container entry (src/infrastructure/job.ts) as an ECS task runs it: the claim
// secret and master key come from Secrets Manager (C360_SECRET_ID, never the environment), a
// migration's SQLite source is fetched from S3 (C360_JOB_SOURCE), and the CLI then runs against
// the stage's tables. moto's server on loopback stands in for Secrets Manager and S3, DynamoDB
// Local for DynamoDB.

const available = motoAvailable();
if (!available) console.warn('job.entry.test.ts: skipped, moto_server is not on PATH (pip install "moto[server]")');

const tenant = 'acme';
const secrets = { C360_CLAIM_SECRET: randomBytes(32).toString('base64url'), C360_MASTER_KEY: randomBytes(32).toString('base64') };
const prefix = `job-${randomUUID().slice(0, 8)}-`;
const KINDS = ['events', 'views', 'keys', 'quarantine', 'audit', 'ledger', 'outbox'] as const;
const tables = Object.fromEntries(KINDS.map((k) => [`C360_${k.toUpperCase()}_TABLE`, `${prefix}${k}`]));

const captured = () => {
  let text = '';
  return { write: (t: string) => ((text += t), true), text: () => text };
};

describe.skipIf(!available)('the long jobs’ container entry', () => {
  let moto: Moto;
  let dir: string;
  let source: SecretSource;
  let secretArn: string;
  let sourceCounts: { events: number; views: number };
  const bucket = `c360-job-inputs-${randomUUID().slice(0, 8)}`;

  /** the task definition's environment (jobs.stack.ts), on the local stand-ins; no secret value in it */
  const taskEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    C360_STORE: 'dynamodb',
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
    C360_CREATE_TABLES: 'false',
    ...tables,
    C360_SECRET_ID: secretArn,
    C360_ENGAGEMENT: 'off',
    C360_LAKE: 'off',
    C360_DATA_DIR: join(dir, 'task'),
    C360_TENANT: tenant,
    C360_PHONE_REGION: 'GB',
    ...extra,
  });
  const job = async (argv: string[], env: NodeJS.ProcessEnv) => {
    const [stdout, stderr] = [captured(), captured()];
    const code = await runJob(argv, env, source, { stdout, stderr, debug: false, progressIntervalMs: 0 });
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  };
  const counts = async (app: App) => ({
    events: (await readAllEvents(app.core.ports.store, tenant, 50)).length,
    views: (await listAllViews(app.core.ports.readModels, tenant, 50)).length,
  });

  beforeAll(async () => {
    moto = await startMoto();
    dir = await mkdtemp(join(tmpdir(), 'c360-job-entry-'));
    // the S3 client the entry makes finds its endpoint as the SDK does (AWS_ENDPOINT_URL_S3)
    process.env.AWS_ENDPOINT_URL_S3 = moto.endpoint;
    source = secretsManagerSource({ endpoint: moto.endpoint, maxAgeSeconds: 60 });
    const sm = new SecretsManagerClient({ endpoint: moto.endpoint });
    secretArn = (
      await sm.send(
        new CreateSecretCommand({
          Name: `c360-test/core-${randomUUID()}`,
          SecretString: JSON.stringify({ claimSecret: secrets.C360_CLAIM_SECRET, masterKey: secrets.C360_MASTER_KEY }),
        }),
      )
    ).ARN!;
    sm.destroy();

    const file = join(dir, 'embedded.sqlite');
    const embedded = await buildApp(loadConfig({ C360_DATA_DIR: dir, C360_SQLITE_FILE: file, C360_TENANT: tenant, C360_PHONE_REGION: 'GB', ...secrets }));
    try {
      await seedScenario((call) => embedded.core.ingest.ingest(tenant, embedded.sourceOf(tenant, 'web'), call));
      sourceCounts = await counts(embedded);
    } finally {
      await embedded.close();
    }
    const s3 = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'migrations/embedded.sqlite', Body: await readFile(file) }));
    s3.destroy();

    const client = new DynamoDBClient({ endpoint: inject('dynamoEndpoint') });
    await ensureTables(client, Object.fromEntries(KINDS.map((k) => [k, `${prefix}${k}`])) as unknown as TableNames);
    client.destroy();
  }, 120_000);
  afterAll(async () => {
    moto?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('migrates a SQLite file fetched from S3 into the tables, with the claim secret and master key from Secrets Manager', async () => {
    const r = await job(['migrate', '--to', 'dynamodb'], taskEnv({ C360_JOB_SOURCE: `s3://${bucket}/migrations/embedded.sqlite` }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`migrated tenant "${tenant}" to dynamodb`);
    // read back with the same secrets: the copied claims and data keys open under them
    const migrated = await buildApp(loadConfig({ ...taskEnv(), C360_SECRET_ID: undefined, C360_PROJECTION: 'inline', ...secrets }));
    try {
      expect(await counts(migrated)).toEqual(sourceCounts);
      expect(sourceCounts.views).toBeGreaterThan(0);
    } finally {
      await migrated.close();
    }
  }, 120_000);

  it('then rebuilds and matches there, started the same way', async () => {
    const rebuild = await job(['rebuild', '--json'], taskEnv());
    expect(rebuild.code, rebuild.stderr).toBe(0);
    expect(JSON.parse(rebuild.stdout)).toMatchObject({ tenant, events: sourceCounts.events });
    const match = await job(['match', '--json'], taskEnv());
    expect(match.code, match.stderr).toBe(0);
    expect(JSON.parse(match.stdout)).toMatchObject({ tenant, customers: expect.any(Number) });
    expect(JSON.parse(match.stdout).customers).toBeGreaterThan(0);
  }, 120_000);

  it('refuses a secret value beside C360_SECRET_ID, naming the variable, before running anything', async () => {
    const r = await job(['rebuild'], taskEnv({ C360_CLAIM_SECRET: secrets.C360_CLAIM_SECRET }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('C360_CLAIM_SECRET: set beside a Secrets Manager secret');
  });

  it('a migration source that is not an s3:// URI, or is not there, fails naming C360_JOB_SOURCE', async () => {
    const bad = await job(['migrate', '--to', 'dynamodb'], taskEnv({ C360_JOB_SOURCE: '/tmp/embedded.sqlite' }));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('C360_JOB_SOURCE: "/tmp/embedded.sqlite" is not an s3://bucket/key URI');
    const missing = await job(['migrate', '--to', 'dynamodb'], taskEnv({ C360_JOB_SOURCE: `s3://${bucket}/migrations/none.sqlite` }));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/C360_JOB_SOURCE: cannot fetch s3:\/\/.*none\.sqlite \(NoSuchKey/);
  });
});
