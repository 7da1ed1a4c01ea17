import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildLambdas, type BundleReport } from '../../scripts/build-lambda.js';
import { appFor, credentials, dynamoEnv } from '../support/lambda-apps.js';
import { FIXTURES, fixture, httpApiEvent, kinesisEvent, scheduledEvent } from '../support/lambda-events.js';
import { FACTS } from '../../src/adapters/lake/lake.tables.js';
import { seedCalls } from '../support/lake-fixture.js';
import { s3Lake } from '../support/s3-lake.js';

// The deployable artefacts: each function bundled by scripts/build-lambda.ts, within its size
// budget, and loadable by a fresh `node` that has nothing but the bundle (no node_modules near it).

const run = promisify(execFile);
let dir: string;
let reports: BundleReport[];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'c360-lambda-'));
  reports = await buildLambdas({ outDir: dir });
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const ENV = {
  PATH: process.env.PATH ?? '',
  C360_STORE: 'memory',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  POWERTOOLS_METRICS_DISABLED: 'true',
  // the api function refuses to start without a credential
  C360_ADMIN_TOKEN: 'bundle-admin-token-0123456789abcdef',
};

const TOPIC = 'arn:aws:sns:us-east-1:000000000000:bundle-offers';

/** Imports a bundle in a fresh node (cwd: the temp dir) and hands `event` to its handler. */
const invoke = async (name: string, event: unknown, env: Record<string, string> = {}): Promise<unknown> => {
  const url = pathToFileURL(join(dir, `${name}.mjs`)).href;
  const script = `const { handler } = await import(${JSON.stringify(url)});
if (typeof handler !== 'function') throw new Error('handler is ' + typeof handler);
const event = JSON.parse(process.argv[1]);
process.stdout.write(JSON.stringify(event === null ? 'loaded' : await handler(event)));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(event)], { cwd: dir, env: { ...ENV, ...env } });
  return JSON.parse(stdout);
};

describe('the Lambda bundles', () => {
  it('are each within budget: api 1.55 MB, lake 1.5 MB, kinesis, streams and outbox 1.15 MB', () => {
    expect(reports.map((r) => r.name).sort()).toEqual(['api', 'kinesis', 'lake', 'outbox', 'streams']);
    for (const r of reports) {
      expect(r.budgetBytes).toBe(r.name === 'api' ? 1_550_000 : r.name === 'lake' ? 1_500_000 : 1_150_000);
      expect(r.bytes, `${r.name}.mjs: ${r.bytes} bytes`).toBeLessThanOrEqual(r.budgetBytes);
      // the EventStoreDB gRPC client stays out of every function
      expect(r.packages.map((p) => p.name)).not.toContain('@grpc/grpc-js');
    }
  });

  it.each(['api', 'kinesis', 'streams', 'outbox', 'lake'])('%s.mjs loads in a fresh node and exports a handler', async (name) => {
    // the outbox function refuses to start without the topic it publishes to, the lake function without its bucket
    expect(await invoke(name, null, name === 'outbox' ? { C360_SNS_TOPIC_ARN: TOPIC } : name === 'lake' ? { C360_LAKE_BUCKET: 'bundle-lake' } : {})).toBe(
      'loaded',
    );
  });

  it('only the lake function carries the lake (its S3 writer, hyparquet, the S3 client), and it carries no DuckDB', async () => {
    const inputs = async (name: string) => Object.keys((JSON.parse(await readFile(join(dir, `${name}.meta.json`), 'utf8')) as { inputs: object }).inputs);
    const lake = await inputs('lake');
    // what the others must not carry is there to be found
    for (const part of [
      'adapters/lake/s3.lake-writer.ts',
      'adapters/lake/lake.tables.ts',
      'node_modules/hyparquet-writer/',
      'node_modules/hyparquet/',
      'node_modules/@aws-sdk/client-s3/',
    ])
      expect(
        lake.some((i) => i.includes(part)),
        part,
      ).toBe(true);
    expect(lake.filter((i) => /@duckdb|adapters\/lake\/duckdb\.|infrastructure\/lake\.ts$/.test(i))).toEqual([]);
    for (const name of ['api', 'kinesis', 'streams', 'outbox'])
      expect(
        (await inputs(name)).filter((i) => /adapters\/lake\/|infrastructure\/lake\.ts$|@duckdb|hyparquet|client-s3/.test(i)),
        name,
      ).toEqual([]);
  });

  it('a cold start compiles neither the lake writer and its S3 client nor the event schemas: the first invocation loads them', async () => {
    type Meta = { outputs: Record<string, { entryPoint?: string; inputs: object; imports: { path: string; kind: string }[] }> };
    /** the inputs of the files an entry imports statically: what is compiled before its first line runs */
    const startInputs = async (name: string): Promise<string[]> => {
      const { outputs } = JSON.parse(await readFile(join(dir, `${name}.meta.json`), 'utf8')) as Meta;
      const entry = Object.keys(outputs).find((path) => path.endsWith(`/${name}.mjs`))!;
      const seen = new Set<string>();
      const visit = (path: string): void => {
        if (seen.has(path) || !outputs[path]) return;
        seen.add(path);
        for (const i of outputs[path].imports) if (i.kind === 'import-statement') visit(i.path);
      };
      visit(entry);
      return [...seen].flatMap((path) => Object.keys(outputs[path]!.inputs));
    };
    const lake = await startInputs('lake');
    // the lake function's handler and its schedule's checks are there; what it writes with is not
    expect(lake.some((i) => i.endsWith('adapters/lambda/lake.handler.ts'))).toBe(true);
    expect(lake.filter((i) => /adapters\/lake\/|infrastructure\/lambda\/lake\.run\.ts$|hyparquet|client-s3/.test(i))).toEqual([]);
    for (const name of ['api', 'kinesis', 'streams', 'outbox', 'lake'])
      expect(
        (await startInputs(name)).filter((i) => i.includes('@aws-lambda-powertools/parser/')),
        name,
      ).toEqual([]);
  });

  it('the AWS SDK sends over node:https, loaded at the cold start (its first request, which nearly every invocation makes, would pay for it otherwise)', async () => {
    // an HTTPS stand-in for DynamoDB on loopback (test/fixtures/tls), refusing every request as a missing table would
    const tls = join(FIXTURES, '../tls');
    const targets: string[] = [];
    const server = createHttpsServer(
      { key: await readFile(join(tls, 'localhost.key.pem')), cert: await readFile(join(tls, 'localhost.cert.pem')) },
      (req, res) => {
        targets.push(String(req.headers['x-amz-target']));
        req.resume().on('end', () => {
          res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
          res.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', message: 'no table here' }));
        });
      },
    );
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    try {
      const creds = credentials();
      const { port } = server.address() as AddressInfo;
      const env = dynamoEnv(`https://127.0.0.1:${port}`, 'bundle-tenant', creds, { C360_PROJECTION: 'inline', C360_CREATE_TABLES: 'false' });
      const call = { type: 'identify', userId: 'over-tls', messageId: 'over-tls-1', writeKey: creds.writeKey, traits: { email: 'tls@example.com' } };
      const script = `const { handler } = await import(${JSON.stringify(pathToFileURL(join(dir, 'kinesis.mjs')).href)});
const https = () => process.moduleLoadList.includes('NativeModule https');
const atStart = https();
const result = await handler(JSON.parse(process.argv[1]));
process.stdout.write(JSON.stringify({ atStart, result, afterInvocation: https() }));`;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(kinesisEvent([{ data: call }]))], {
        cwd: dir,
        env: { ...ENV, ...env, NODE_EXTRA_CA_CERTS: join(tls, 'localhost.cert.pem') },
      });
      // the store refused (no table): the record goes back for redelivery, after the call went out over TLS
      expect(JSON.parse(stdout)).toEqual({ atStart: true, result: { batchItemFailures: [{ itemIdentifier: expect.any(String) }] }, afterInvocation: true });
      expect(targets.length).toBeGreaterThan(0);
      expect(targets.every((t) => t.startsWith('DynamoDB_20120810.'))).toBe(true);
    } finally {
      server.close();
    }
  });

  it.each(['api', 'kinesis'])(
    '%s.mjs starts on DynamoDB from five files of its own, without node:zlib or the modules behind node:process getters',
    async (name) => {
      // nothing is sent at the start: the endpoint is a loopback port that is never contacted
      const env = dynamoEnv('http://127.0.0.1:9', 'bundle-tenant', credentials(), { C360_CREATE_TABLES: 'false' });
      const script = `import { registerHooks } from 'node:module';
const files = new Set();
registerHooks({ load(url, context, next) { if (url.startsWith(${JSON.stringify(pathToFileURL(dir).href)})) files.add(url); return next(url, context); } });
const { handler } = await import(${JSON.stringify(pathToFileURL(join(dir, `${name}.mjs`)).href)});
const builtins = ['zlib', 'internal/process/report'].filter((m) => process.moduleLoadList.includes('NativeModule ' + m));
process.stdout.write(JSON.stringify({ handler: typeof handler, files: files.size, builtins }));`;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, env: { ...ENV, ...env } });
      // the entry, the chunk of what it imports, the DynamoDB store's entry and chunk, esbuild's helpers (25 files before)
      expect(JSON.parse(stdout)).toEqual({ handler: 'function', files: 5, builtins: [] });
    },
  );

  it('api.mjs answers an HTTP API event, with the OpenAPI document generated at build time', async () => {
    const result = (await invoke('api', httpApiEvent('apigw-http_no-auth', { method: 'GET', path: '/openapi.json' }))) as { statusCode: number; body: string };
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual(JSON.parse(await readFile(join(dir, 'openapi.json'), 'utf8')));
  });

  it('kinesis.mjs takes the fixture batch as AWS sent it: quarantined, nothing to redeliver', async () => {
    expect(await invoke('kinesis', fixture('kinesis_stream'))).toEqual({ batchItemFailures: [] });
  });

  it('kinesis.mjs ingests into DynamoDB Local, signing with the credentials Lambda puts in the environment', async () => {
    const creds = credentials();
    const env = dynamoEnv(inject('dynamoEndpoint'), 'bundle-tenant', creds, { C360_PROJECTION: 'inline' });
    const lambdaRole = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_SESSION_TOKEN: 'session' };
    const call = { type: 'identify', userId: 'bundled', messageId: 'bundled-1', writeKey: creds.writeKey, traits: { email: 'bundled@example.com' } };
    expect(await invoke('kinesis', kinesisEvent([{ data: call }]), { ...env, ...lambdaRole })).toEqual({ batchItemFailures: [] });
    const app = await appFor({ ...env, C360_CREATE_TABLES: 'false' });
    try {
      expect((await app.core.queries.findByIdentifier('bundle-tenant', 'email', 'bundled@example.com')).kind).toBe('view');
    } finally {
      await app.close();
    }
  });

  it('lake.mjs catches a DynamoDB Local tenant up into an S3 lake (fauxqs), zstd Parquet that hyparquet reads back', async () => {
    const tenant = 'bundle-lake-tenant';
    const env = dynamoEnv(inject('dynamoEndpoint'), tenant, credentials(), { C360_PROJECTION: 'inline' });
    const app = await appFor(env);
    const lake = await s3Lake({ prefix: 'bundle/' });
    try {
      for (const c of seedCalls({ customers: 3, products: 2, orders: 5, events: 6, seed: 3 }))
        await app.core.ingest.ingest(tenant, app.sourceOf(tenant, c.source), c.call);
      const logged = (await app.core.ports.store.readAll(tenant, { limit: 10_000 })).events.length;
      const lambdaRole = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_SESSION_TOKEN: 'session' };
      const lakeEnv = {
        C360_LAKE_BUCKET: lake.bucket,
        C360_LAKE_PREFIX: lake.prefix,
        C360_LAKE_VERSIONED: 'false',
        AWS_ENDPOINT_URL_S3: inject('s3Endpoint'),
        C360_CREATE_TABLES: 'false',
        // nothing is written while the lake reads: no commit is still on its way to wait for
        C360_LOG_SETTLE_SECONDS: '0',
      };
      expect(await invoke('lake', scheduledEvent('c360-lake'), { ...env, ...lakeEnv, ...lambdaRole })).toEqual({
        tenants: [{ tenant, events: logged, caughtUp: true }],
        events: logged,
      });
      const orders = [];
      for (const key of await lake.writer.objects(tenant, FACTS.fact_order)) orders.push(...(await lake.writer.readRows(FACTS.fact_order, key)));
      expect(orders.length).toBe(5);
    } finally {
      await app.close();
      lake.client.destroy();
    }
  });

  it.each(['api', 'kinesis', 'streams', 'outbox', 'lake'])(
    '%s.mjs: a configuration error fails the start with its message alone, not the minified source',
    async (name) => {
      const url = pathToFileURL(join(dir, `${name}.mjs`)).href;
      const failed = run(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(url)})`], {
        cwd: dir,
        env: { ...ENV, C360_STORE: 'bogus' },
      });
      const error = (await failed.then(
        () => undefined,
        (e: unknown) => e,
      )) as { code?: number; stderr?: string } | undefined;
      expect(error?.code).toBe(1);
      expect(error?.stderr).toMatch(/ConfigError\]: C360_STORE: Invalid option/);
      // node's own lines around it; the bundle is one line of several hundred kB
      expect(error?.stderr?.length).toBeLessThan(1_000);
    },
  );

  it('api.mjs without any credential refuses to start and says why', async () => {
    const { C360_ADMIN_TOKEN: _, ...bare } = ENV;
    const url = pathToFileURL(join(dir, 'api.mjs')).href;
    const error = (await run(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(url)})`], { cwd: dir, env: bare }).then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: number; stderr?: string } | undefined;
    expect(error?.code).toBe(1);
    // naming the variable the CDK app sets on Lambda first
    expect(error?.stderr).toMatch(/no credentials configured.*set C360_CREDENTIALS_SECRET_ID/);
    expect(error?.stderr?.length).toBeLessThan(1_000);
  });

  it('with C360_STORE=eventstoredb the function refuses to start and says why', async () => {
    const failed = invoke('api', null, {
      C360_STORE: 'eventstoredb',
      ESDB_CONNECTION_STRING: 'esdb://127.0.0.1:2113?tls=false',
      C360_CLAIM_SECRET: 'x'.repeat(40),
      C360_CREATE_TABLES: 'false',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9',
    });
    await expect(failed).rejects.toThrow(/eventstoredb is not available in the Lambda bundles/);
  });
});
