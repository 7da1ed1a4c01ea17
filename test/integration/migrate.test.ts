import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { migrateTenant, TargetNotEmptyError } from '../../src/application/admin/migrate.use-case.js';
import type { OutboxEntry } from '../../src/application/ports/outbox.port.js';
import type { StoredEvent } from '../../src/application/ports/event-store.port.js';
import type { ViewDoc } from '../../src/application/ports/read-model.port.js';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { DynamoDbCheckpoints } from '../../src/adapters/dynamodb/dynamodb.stream-checkpoints.js';
import { DynamoDbStreamsPoller } from '../../src/adapters/dynamodb/dynamodb.streams-poller.js';
import { SqliteCheckpoints } from '../../src/adapters/sqlite/sqlite.checkpoints.js';
import { SqliteDatabase } from '../../src/adapters/sqlite/sqlite.database.js';
import type { SqliteEventStore } from '../../src/adapters/sqlite/sqlite.event-store.js';
import { SqliteLogFollower } from '../../src/adapters/sqlite/sqlite.log-follower.js';
import { SqliteOutbox } from '../../src/adapters/sqlite/sqlite.outbox.js';
import { buildApp, type App } from '../../src/infrastructure/app.js';
import { loadConfig, type Config } from '../../src/infrastructure/config.js';
import { main } from '../../src/infrastructure/cli.js';
import { startEmbeddedDynamoDb, type Embedded } from '../../src/infrastructure/local/embedded.js';
import { openMigrationSide, runMigration, targetConfig } from '../../src/infrastructure/migrate.js';
import { ALICE, scenarioCalls, seedScenario, type Seeded } from '../support/erasure-scenario.js';
import { listAllViews, readAllEvents } from '../support/paging.js';

// `c360 migrate` end to end: a tenant built on the embedded SQLite file (merges, an erasure, the
// quarantine) moves to DynamoDB Local and back to a new SQLite file. On every target the views
// equal the source's, the log is the same event for event, the erased cluster stays erased (key
// tombstones, no lookups, the ledger's receipt) and replaying an original call is a duplicate.

const tenant = 'acme';
const secrets = { C360_CLAIM_SECRET: randomBytes(32).toString('base64url'), C360_MASTER_KEY: randomBytes(32).toString('base64') };
const prefix = `migrate-${randomUUID().slice(0, 8)}-`;
let dir: string;
let source: App;
let seeded: Seeded;

const sqliteConfig = (file: string): Config =>
  loadConfig({ C360_DATA_DIR: dir, C360_SQLITE_FILE: join(dir, file), C360_TENANT: tenant, C360_PROJECTION: 'inline', C360_PHONE_REGION: 'GB', ...secrets });
const dynamoConfig = (tables = prefix, projection = 'inline'): Config =>
  loadConfig({
    C360_STORE: 'dynamodb',
    C360_PROJECTION: projection,
    C360_DATA_DIR: dir,
    C360_TENANT: tenant,
    C360_PHONE_REGION: 'GB',
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
    ...Object.fromEntries(
      ['EVENTS', 'VIEWS', 'KEYS', 'QUARANTINE', 'AUDIT', 'LEDGER', 'OUTBOX'].map((t) => [`C360_${t}_TABLE`, `${tables}${t.toLowerCase()}`]),
    ),
    ...secrets,
  });

const docs = async (app: App): Promise<ViewDoc[]> =>
  (await listAllViews(app.core.ports.readModels, tenant, 50)).sort((a, b) => a.customerId.localeCompare(b.customerId));
const log = async (app: App): Promise<Omit<StoredEvent, 'position'>[]> =>
  (await readAllEvents(app.core.ports.store, tenant, 7)).map(({ position: _, ...e }) => e);
const counts = async (app: App) => ({
  quarantine: (await app.core.ports.quarantine.list(tenant, { limit: 100 })).entries.length,
  ledger: (await app.core.ports.ledger.list(tenant, { limit: 100 })).entries.length,
  audit: (await app.core.ports.audit.list(tenant, { limit: 100 })).entries.length,
});
/** Rows of the source file, counted by SQL, not by the exporter under test. */
const sourceRows = () => {
  const db = new SqliteDatabase({ path: join(dir, 'source.sqlite') });
  try {
    const n = (sql: string) => (db.db.prepare(sql).get(tenant) as { n: number }).n;
    return {
      keys: n('SELECT COUNT(*) AS n FROM data_keys WHERE tenant = ? AND destroyed_at IS NULL'),
      tombstones: n('SELECT COUNT(*) AS n FROM data_keys WHERE tenant = ? AND destroyed_at IS NOT NULL'),
      claims: n('SELECT COUNT(*) AS n FROM claims WHERE tenant = ?'),
      idempotency: n('SELECT COUNT(*) AS n FROM idempotency WHERE tenant = ?'),
    };
  } finally {
    db.close();
  }
};
const note = (decisionId: string) => ({
  decisionId,
  tenant,
  customerId: 'c-1',
  channel: 'email',
  offerId: 'o-1',
  offerTitle: 'Ten off',
  decidedAt: 1_767_000_000_000,
});
const entry = { tenant, customerId: 'c-1', version: 3, eventId: 'e-1', attempts: 0, createdAt: 1_767_000_000_000, nextAttemptAt: 1_767_000_000_000 };
const OUTBOX = [
  { ...entry, decisionId: 'd-1', notification: note('d-1'), status: 'published', confirmed: true, publishedAt: 1_767_000_001_000 },
  {
    ...entry,
    decisionId: 'd-2',
    notification: note('d-2'),
    status: 'pending',
    confirmed: true,
    attempts: 2,
    nextAttemptAt: 1_767_000_009_000,
    lastError: 'sns: timeout',
  },
] as const satisfies readonly OutboxEntry[];
const capture = () => {
  let text = '';
  return { write: (t: string) => ((text += t), true), text: () => text };
};
const ingestOn = (app: App, call: Record<string, unknown>) => app.core.ingest.ingest(tenant, app.sourceOf(tenant, 'web'), call);

/** GETs of some ids each time the migration copies events (its onProgress); answers: what they said (the view's kind or the error's code), at least one asked */
const askedDuringCopy = (server: App, ids: readonly string[]) => {
  const during: Promise<string>[] = [];
  return {
    onProgress: (kind: string) => {
      if (kind !== 'events') return;
      for (const id of ids)
        during.push(
          server.core.queries.get360(tenant, id).then(
            (r) => r.kind,
            (e: { code?: string }) => String(e.code),
          ),
        );
    },
    answers: async () => {
      expect(during.length).toBeGreaterThan(0);
      return new Set(await Promise.all(during));
    },
  };
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'c360-migrate-'));
  source = await buildApp(sqliteConfig('source.sqlite'));
  seeded = await seedScenario((call) => ingestOn(source, call));
  for (const call of [
    {
      type: 'track',
      messageId: 'm-x1',
      userId: 'u-bob-22aa',
      event: 'Order Completed',
      properties: { orderId: 'o-b2', revenue: 30, currency: 'EUR' },
      timestamp: '2026-01-06T10:00:00Z',
    },
    { type: 'identify', messageId: 'm-x2', userId: 'u-dan-1', traits: { email: 'dan@example.org', name: 'Dan Dale' }, timestamp: '2026-01-06T11:00:00Z' },
  ])
    expect((await ingestOn(source, call)).status).toBe('accepted');
  await source.core.gdpr.erase(tenant, seeded.alice[1]!, { actor: 'dpo' });
  // two outbox entries (engagement is off here): one published, one confirmed and retrying
  const db = new SqliteDatabase({ path: join(dir, 'source.sqlite') });
  const outbox = new SqliteOutbox(db);
  for (const e of OUTBOX) await outbox.stage({ ...e, status: 'pending', confirmed: false });
  await outbox.markPublished(tenant, 'd-1', OUTBOX[0].publishedAt);
  await outbox.reschedule(tenant, 'd-2', { attempts: 2, nextAttemptAt: OUTBOX[1].nextAttemptAt, confirmed: true, lastError: 'sns: timeout' });
  db.close();
}, 60_000);
afterAll(async () => {
  await source?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Everything a migrated tenant must show on its new store. */
const expectSameTenant = async (target: App, from: App) => {
  const viewsFrom = await docs(from);
  expect(viewsFrom.filter((d) => d.kind === 'view').length).toBeGreaterThanOrEqual(3);
  expect(await docs(target)).toEqual(viewsFrom);
  expect(await log(target)).toEqual(await log(from));
  const [c, f] = [await counts(target), await counts(from)];
  expect(c).toEqual({ ...f, audit: c.audit }); // quarantine and ledger as they were
  expect(c.quarantine).toBe(1); // Bob's invalid call; Alice's two went with her erasure
  // the entry still opens under the tenant's quarantine key on the target, and equals the source's
  const entries = async (app: App) => (await app.core.ports.quarantine.list(tenant, { limit: 100 })).entries;
  expect(await entries(target)).toEqual(await entries(from));
  expect(JSON.stringify((await entries(target))[0]?.payload)).toContain('u-bob-22aa');
  const audit = async (app: App) => (await app.core.ports.audit.list(tenant, { limit: 100 })).entries;
  expect((await audit(target)).slice(0, f.audit)).toEqual(await audit(from));
  // the erased cluster stays erased: tombstones, no lookup, the same receipt
  for (const id of seeded.alice) {
    expect(await target.core.ports.keys.get(tenant, id)).toBeNull();
    await expect(target.core.ports.keys.getOrCreate(tenant, id)).rejects.toMatchObject({ code: 'CUSTOMER_NOT_ACTIVE' });
    expect(await target.core.ports.ledger.find(tenant, id)).toEqual(await from.core.ports.ledger.find(tenant, id));
  }
  await expect(target.core.queries.findByIdentifier(tenant, 'email', ALICE.email)).rejects.toMatchObject({ code: 'CUSTOMER_NOT_FOUND' });
  expect((await target.core.queries.findByIdentifier(tenant, 'email', 'dan@example.org')).kind).toBe('view');
  // replaying original calls (Alice's, Bob's) is a duplicate and changes nothing
  const { valid } = scenarioCalls();
  for (const call of [valid[0]!, valid[3]!]) expect((await ingestOn(target, call)).status).toBe('duplicate');
  expect(await docs(target)).toEqual(viewsFrom);
  expect(await log(target)).toEqual(await log(from));
};

describe('c360 migrate: SQLite -> DynamoDB Local -> SQLite', () => {
  it('moves the tenant to DynamoDB with the same views, log, keys, tombstones, ledger and quarantine', async () => {
    const sourceAudit = (await counts(source)).audit;
    const report = await runMigration(sqliteConfig('source.sqlite'), dynamoConfig(), tenant);
    const events = (await log(source)).length;
    expect(report.counts).toEqual({ ...sourceRows(), events, quarantine: 1, ledger: 1, audit: sourceAudit, outbox: 2 });
    expect(report.counts).toMatchObject({ keys: 5, tombstones: 3 }); // Bob's two, Carol, Dan, the quarantine key; Alice's three
    expect(report.rebuild.events).toBe(events);

    const side = await openMigrationSide(targetConfig(source.config, dynamoConfig()));
    try {
      expect([await side.outbox.get(tenant, 'd-1'), await side.outbox.get(tenant, 'd-2')]).toEqual(OUTBOX);
      // the claim keys copied are under the source's claim secret: the target records its fingerprint
      const recorded = await source.core.ports.keys.claimSecretFingerprint();
      expect(recorded).toBeDefined();
      expect(await side.keys.claimSecretFingerprint()).toBe(recorded);
    } finally {
      await side.close();
    }
    const target = await buildApp(targetConfig(source.config, dynamoConfig()));
    try {
      expect((await counts(target)).audit).toBe(sourceAudit + 1); // the rebuild is audited there
      await expectSameTenant(target, source);
    } finally {
      await target.close();
    }
  }, 120_000);

  it('refuses a target that holds the tenant already, and --resume copies nothing twice', async () => {
    const from = await openMigrationSide(sqliteConfig('source.sqlite'));
    const to = await openMigrationSide(targetConfig(source.config, dynamoConfig()));
    try {
      await expect(migrateTenant(tenant, from, to)).rejects.toBeInstanceOf(TargetNotEmptyError);
      const again = await migrateTenant(tenant, from, to, { resume: true });
      expect(again.events).toBe((await log(source)).length);
    } finally {
      await Promise.all([from.close(), to.close()]);
    }
    const target = await buildApp(targetConfig(source.config, dynamoConfig()));
    try {
      expect(await log(target)).toEqual(await log(source));
      expect(await docs(target)).toEqual(await docs(source));
    } finally {
      await target.close();
    }
  }, 120_000);

  it('moves it back from DynamoDB to a new SQLite file', async () => {
    const dynamo = targetConfig(source.config, dynamoConfig());
    const report = await runMigration(dynamo, sqliteConfig('back.sqlite'), tenant);
    expect(report.counts).toMatchObject({ ...sourceRows(), events: (await log(source)).length, quarantine: 1, ledger: 1, outbox: 2 });
    const back = await buildApp(sqliteConfig('back.sqlite'));
    try {
      await expectSameTenant(back, source);
    } finally {
      await back.close();
    }
  }, 120_000);

  it('refuses a target that records another claim secret, before copying anything', async () => {
    const other = loadConfig({
      C360_DATA_DIR: dir,
      C360_SQLITE_FILE: join(dir, 'other-secret.sqlite'),
      C360_TENANT: 'beta',
      C360_PHONE_REGION: 'GB',
      ...secrets,
      C360_CLAIM_SECRET: randomBytes(32).toString('base64url'),
    });
    const theirs = await buildApp(other);
    await theirs.core.ingest.ingest('beta', theirs.sourceOf('beta', 'web'), { type: 'identify', userId: 'b-1' });
    await theirs.close();
    await expect(runMigration(sqliteConfig('source.sqlite'), targetConfig(source.config, other), tenant)).rejects.toThrow(
      /^migrate: the target store records another claim secret than the source's C360_CLAIM_SECRET/,
    );
    const to = await openMigrationSide(targetConfig(source.config, other));
    try {
      expect(await to.transfer.holdsTenant(tenant)).toBe(false);
    } finally {
      await to.close();
    }
  });

  it('runs as `c360 migrate --to sqlite --file` through the bin, and refuses to run twice into the same file', async () => {
    const env = { C360_DATA_DIR: dir, C360_SQLITE_FILE: join(dir, 'source.sqlite'), C360_TENANT: tenant, C360_PHONE_REGION: 'GB', ...secrets };
    const file = join(dir, 'cli.sqlite');
    const captured = capture;
    const [stdout, stderr] = [captured(), captured()];
    const code = await main(['migrate', '--to', 'sqlite', '--file', file], env, { stdout, stderr, debug: false, progressIntervalMs: 0 });
    expect(code, stderr.text()).toBe(0);
    const events = (await log(source)).length;
    expect(stdout.text()).toMatch(new RegExp(`events +${events}\\n`));
    expect(stdout.text()).toContain(`rebuilt the views there: ${events} events replayed`);
    // the data dir (its secrets.json) with the file, for the server and for the jobs beside it
    expect(stdout.text()).toContain(`now start on it with C360_STORE=sqlite C360_SQLITE_FILE=${file} C360_DATA_DIR=${dir} npm start`);
    expect(stdout.text()).toContain('and run c360 jobs with the same settings');

    const again = captured();
    expect(await main(['migrate', '--to', 'sqlite', '--file', file], env, { stdout: captured(), stderr: again, debug: false })).toBe(1);
    expect(again.text()).toContain(`already holds data of tenant "${tenant}"`);
    expect(await main(['migrate', '--to', 'sqlite'], env, { stdout: captured(), stderr: captured(), debug: false })).toBe(2);

    const migrated = await buildApp(sqliteConfig('cli.sqlite'));
    try {
      await expectSameTenant(migrated, source);
    } finally {
      await migrated.close();
    }
  }, 120_000);
});

describe('c360 migrate into a running server: an erased customer never shows there', () => {
  // The server on the target projects the copied log as it lands (DynamoDB Streams; on SQLite its
  // log follower), while the copy goes on and before the rebuild. Its projection takes one record
  // at a time here (a Lambda's batch size is a setting), so the erased cluster's events reach it
  // apart from their tombstones, and before the log on the target holds those. Before the fix,
  // the first of them made a view of the erased customer, which GET /v1/customers/<id> answered
  // with 200 until its tombstone was projected (or for good, when that came first).
  const live = `${prefix}live-`;
  /** Every doc the server writes for an erased id, and every snapshot. */
  const watch = (app: App) => {
    const put = vi.spyOn(app.core.ports.readModels, 'put');
    const snap = app.core.ports.snapshots ? vi.spyOn(app.core.ports.snapshots, 'put') : undefined;
    return () => [
      ...put.mock.calls.flatMap(([, doc]) => (seeded.alice.includes(doc.customerId) ? [`${doc.kind} ${doc.customerId}`] : [])),
      ...(snap?.mock.calls ?? []).flatMap(([, id]) => (seeded.alice.includes(id) ? [`snapshot ${id}`] : [])),
    ];
  };
  /** What every route answers for the erased ids, and what the target holds for them. */
  const expectErased = async (app: App) => {
    const receipt = await source.core.ports.ledger.find(tenant, seeded.alice[0]!);
    for (const id of seeded.alice) {
      await expect(app.core.queries.get360(tenant, id)).rejects.toMatchObject({ code: 'CUSTOMER_ERASED', details: { erasureId: receipt!.erasureId } });
      expect(await app.core.ports.readModels.get(tenant, id)).toBeUndefined();
      expect(await app.core.ports.snapshots?.get(tenant, id)).toBeUndefined();
    }
    for (const value of [ALICE.email, ALICE.otherEmail])
      await expect(app.core.queries.findByIdentifier(tenant, 'email', value)).rejects.toMatchObject({ code: 'CUSTOMER_NOT_FOUND' });
  };

  it('--to dynamodb: the Streams projection of the copied log writes no doc of the erased cluster', async () => {
    const server = await buildApp(targetConfig(source.config, dynamoConfig(live, 'streams')));
    const written = watch(server);
    const client = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
    const streams = new DynamoDBStreamsClient({ endpoint: inject('dynamoEndpoint') });
    const { Table } = await client.send(new DescribeTableCommand({ TableName: server.config.tables.events }));
    const poller = new DynamoDbStreamsPoller(streams, server.streamsProjector!, {
      streamArn: Table!.LatestStreamArn!,
      checkpoints: new DynamoDbCheckpoints(client, server.config.tables.views),
      batchSize: 1,
      idleDelayMs: [10, 50],
    });
    try {
      poller.start();
      // GETs of the erased ids while the log is being copied (the tombstones may not be there yet)
      const asked = askedDuringCopy(server, seeded.alice);
      await runMigration(source.config, dynamoConfig(live), tenant, { onProgress: asked.onProgress });
      expect(await asked.answers()).toEqual(new Set(['CUSTOMER_ERASED']));
      await poller.drain({ quietMs: 500, timeoutMs: 60_000 });
      await poller.stop();
      expect(written()).toEqual([]);
      await expectErased(server);
      await expectSameTenant(server, source);
      expect(written()).toEqual([]);
    } finally {
      await poller.stop();
      streams.destroy();
      client.destroy();
      await server.close();
    }
  }, 120_000);

  it('--to sqlite: the log follower of a server on the new file writes no doc of the erased cluster', async () => {
    const file = sqliteConfig('live-back.sqlite');
    const server = await buildApp(file);
    const written = watch(server);
    const db = new SqliteDatabase({ path: file.sqliteFile });
    const follower = new SqliteLogFollower(
      server.core.ports.store as SqliteEventStore,
      new SqliteCheckpoints(db),
      server.core.projector,
      server.core.ports.readModels,
      {
        pageSize: 1,
      },
    );
    try {
      follower.start(5);
      const asked = askedDuringCopy(server, seeded.alice);
      await runMigration(targetConfig(source.config, dynamoConfig(live)), file, tenant, { onProgress: asked.onProgress });
      expect(await asked.answers()).toEqual(new Set(['CUSTOMER_ERASED']));
      await follower.stop();
      await follower.catchUp();
      expect(written()).toEqual([]);
      await expectErased(server);
      await expectSameTenant(server, source);
      expect(written()).toEqual([]);
    } finally {
      await follower.stop();
      db.close();
      await server.close();
    }
  }, 120_000);
});

describe('c360 migrate --to dynamodb through the bin: what to start with after it, and what is missing before it', () => {
  const BIN = join(import.meta.dirname, '../../bin/c360.mjs');
  let home: string;
  let local: Embedded;
  const env = (extra: Record<string, string> = {}) => ({ C360_DATA_DIR: home, C360_TENANT: 'moved', C360_PHONE_REGION: 'GB', ...secrets, ...extra });
  const c360 = async (argv: string[], extra: Record<string, string> = {}) => {
    const [stdout, stderr] = [capture(), capture()];
    const code = await main(argv, env(extra), { stdout, stderr, debug: false, progressIntervalMs: 0 });
    return { code, out: stdout.text(), err: stderr.text() };
  };
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'c360-migrate-bin-'));
    const seeded = await c360(['seed', '--customers', '2']);
    expect(seeded.code, seeded.err).toBe(0);
    // the data dir's own DynamoDB Local, as `C360_STORE=dynamodb npm start` on it starts one
    local = await startEmbeddedDynamoDb(loadConfig({ C360_STORE: 'dynamodb', C360_DATA_DIR: home }));
  }, 120_000);
  afterAll(async () => {
    await local?.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('names the endpoint and every table that is not the default in the settings to start with', async () => {
    const tables = Object.fromEntries(
      ['EVENTS', 'VIEWS', 'KEYS', 'QUARANTINE', 'AUDIT', 'LEDGER', 'OUTBOX'].map((t) => [`C360_${t}_TABLE`, `${prefix}bin-${t.toLowerCase()}`]),
    );
    const r = await c360(['migrate', '--to', 'dynamodb'], { AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'), ...tables });
    expect(r.code, r.err).toBe(0);
    const start = /^now start on it with (.*) npm start \(same C360_MASTER_KEY and C360_CLAIM_SECRET\)$/m.exec(r.out)?.[1];
    expect(start, r.out).toBeDefined();
    const settings = Object.fromEntries(start!.split(' ').map((kv) => kv.split('=') as [string, string]));
    expect(settings).toEqual({ C360_STORE: 'dynamodb', AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'), ...tables, C360_DATA_DIR: home });
    expect(r.out).toContain('and run c360 jobs with the same settings');

    // only the tables that are not the default: the outbox named after the events table is left out
    const some = { C360_EVENTS_TABLE: `${prefix}bin2-events`, C360_VIEWS_TABLE: `${prefix}bin2-views` };
    const again = await c360(['migrate', '--to', 'dynamodb'], { AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'), ...some });
    expect(again.code, again.err).toBe(0);
    expect(again.out).toContain(
      `now start on it with C360_STORE=dynamodb AWS_ENDPOINT_URL_DYNAMODB=${inject('dynamoEndpoint')} C360_EVENTS_TABLE=${some.C360_EVENTS_TABLE} C360_VIEWS_TABLE=${some.C360_VIEWS_TABLE} C360_DATA_DIR=${home} npm start`,
    );
  }, 120_000);

  it("into the data dir's own DynamoDB Local (the README's recipe): the settings leave out its endpoint, which the next start finds", async () => {
    const r = await c360(['migrate', '--to', 'dynamodb'], { AWS_ENDPOINT_URL_DYNAMODB: local.config.dynamoEndpoint! });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/rebuilt the views there: [1-9][\d,]* events replayed/);
    expect(r.out).toContain(`now start on it with C360_STORE=dynamodb C360_DATA_DIR=${home} npm start`);
    // a job on those settings alone reaches the migrated data through the same DynamoDB Local
    const listed = await c360(['quarantine', 'list', '--json'], { C360_STORE: 'dynamodb' });
    expect(listed.code, listed.err).toBe(0);
    const target = await buildApp(
      targetConfig(loadConfig(env()), loadConfig(env({ C360_STORE: 'dynamodb', AWS_ENDPOINT_URL_DYNAMODB: local.config.dynamoEndpoint! }))),
    );
    try {
      expect((await target.core.queries.findByIdentifier('moved', 'user_id', 'user-42-0')).kind).toBe('view');
    } finally {
      await target.close();
    }
  }, 120_000);

  it('without an endpoint or an AWS region: says what is missing and how to point at DynamoDB Local, before reaching anything', async () => {
    // a process of its own, with no AWS settings at all (no region, no credentials, no config
    // files, no instance metadata): the SDK finds no region, so nothing is sent anywhere
    const bare = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('C360_')));
    const run = (dataDir: string) =>
      spawnSync(process.execPath, [BIN, 'migrate', '--to', 'dynamodb'], {
        encoding: 'utf8',
        env: {
          ...bare,
          ...env({ C360_DATA_DIR: dataDir }),
          AWS_CONFIG_FILE: join(home, 'no-aws-config'),
          AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-aws-credentials'),
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      });
    const beside = run(home);
    expect(beside.status, beside.stderr).toBe(1);
    expect(beside.stderr).toContain(
      'error: migrate --to dynamodb: AWS_ENDPOINT_URL_DYNAMODB is not set, so the target is DynamoDB on AWS, and the AWS SDK found no AWS region (AWS_REGION).',
    );
    // the DynamoDB Local running for this data dir is named, with the command to use it
    expect(beside.stderr).toContain(
      `the one of this data dir runs on ${local.config.dynamoEndpoint}: AWS_ENDPOINT_URL_DYNAMODB=${local.config.dynamoEndpoint} c360 migrate --to dynamodb`,
    );
    expect(beside.stderr).toContain('For AWS, set AWS_REGION and credentials');
    const alone = run(join(home, 'elsewhere'));
    expect(alone.status, alone.stderr).toBe(1);
    expect(alone.stderr).toContain(
      'AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:<port> (`C360_STORE=dynamodb npm start` starts one for this data dir and prints it)',
    );
  }, 120_000);

  it("C360_STORE=dynamodb --to sqlite reads the data dir's DynamoDB Local, a running one or else one of its own, never DynamoDB on AWS", async () => {
    // an AWS client given no endpoint of its own would go here, a closed loopback port: nothing
    // this test runs can reach AWS, and a source opened that way fails the migration
    vi.stubEnv('AWS_ENDPOINT_URL', 'http://127.0.0.1:9');
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', undefined);
    const holds = async (file: string) => {
      const app = await buildApp(targetConfig(loadConfig(env()), loadConfig(env({ C360_STORE: 'sqlite', C360_SQLITE_FILE: file }))));
      try {
        return (await app.core.queries.findByIdentifier('moved', 'user_id', 'user-42-0')).kind;
      } finally {
        await app.close();
      }
    };
    try {
      // beside a running server: its DynamoDB Local (which the test before migrated the tenant into)
      const beside = await c360(['migrate', '--to', 'sqlite', '--file', join(home, 'beside.sqlite')], { C360_STORE: 'dynamodb' });
      expect(beside.code, beside.err).toBe(0);
      expect(beside.err).not.toMatch(/amazonaws|ECONNREFUSED/);
      expect(await holds(join(home, 'beside.sqlite'))).toBe('view');
      // no server: the job starts the data dir's own, reads the same data, and stops it
      await local.stop();
      expect(existsSync(join(home, 'dynamodb', 'endpoint.json'))).toBe(false);
      const alone = await c360(['migrate', '--to', 'sqlite', '--file', join(home, 'alone.sqlite')], { C360_STORE: 'dynamodb' });
      expect(alone.code, alone.err).toBe(0);
      expect(alone.err).not.toMatch(/amazonaws|ECONNREFUSED/);
      expect(existsSync(join(home, 'dynamodb', 'endpoint.json'))).toBe(false);
      expect(await holds(join(home, 'alone.sqlite'))).toBe('view');
    } finally {
      vi.unstubAllEnvs();
    }
  }, 180_000);
});
