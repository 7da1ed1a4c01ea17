import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { basic, bearer, httpApiEvent, restEvent } from '../support/lambda-events.js';
import { installOffline } from '../../scripts/offline-install.js';

// The package as a user meets it: `npm pack`, the tarball installed offline into a fresh project,
// and in that project (test/fixtures/user-project) a Lambda of the user's own, bundled with
// esbuild, embedding the core on DynamoDB with its own identity rules, run against real API
// Gateway events and DynamoDB Local; the identity laws run by vitest against the user's rules
// file, and against a contradictory one; a toy adapter proven by the exported contract suite.

const ROOT = join(import.meta.dirname, '../..');
const BIN = dirname(process.execPath);
let work: string;
let project: string;

// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape sequences of coloured output
const plain = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '');

/**
 * The environment of a machine with no AWS settings at all (no region, credentials or config
 * files); instance metadata switched off, so nothing that looked for credentials could reach it.
 */
const noAws = (): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_'))),
  AWS_CONFIG_FILE: join(work, 'no-aws-config'),
  AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-aws-credentials'),
  AWS_EC2_METADATA_DISABLED: 'true',
});

/** A command in the user's project, on the Node this repository pins, never throwing. */
const run = (cmd: string, args: readonly string[], env: Record<string, string> = {}, base: NodeJS.ProcessEnv = process.env) => {
  const r = spawnSync(cmd, [...args], {
    cwd: project,
    encoding: 'utf8',
    env: { ...base, PATH: `${BIN}:${process.env.PATH}`, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, out: plain(r.stdout), err: plain(r.stderr) };
};
const node = (args: readonly string[], env: Record<string, string> = {}, base?: NodeJS.ProcessEnv) => run(process.execPath, args, env, base);
const vitest = (args: readonly string[], env: Record<string, string> = {}) =>
  node(['node_modules/vitest/vitest.mjs', 'run', '--reporter=verbose', ...args], { CI: 'true', NO_COLOR: '1', ...env });

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'c360-package-'));
  project = join(work, 'user-project');
  mkdirSync(project);
  // npm pack runs the prepack build (tsc into lib/) first
  const pack = spawnSync('npm', ['pack', '--pack-destination', work, '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${BIN}:${process.env.PATH}` },
    maxBuffer: 64 * 1024 * 1024,
  });
  expect(pack.status, pack.stderr).toBe(0);
  const [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  const files = packed!.files.map((f) => f.path);
  // what ships: the build, the bin and the docs; never the sources or the tests
  expect(files).toContain('lib/public/index.js');
  expect(files).toContain('lib/public/index.d.ts');
  expect(files).toContain('bin/c360.mjs');
  expect(files.filter((f) => /^(src|test|bench|scripts)\//.test(f))).toEqual([]);
  installOffline({ dir: project, tarball: join(work, packed!.filename), withPackages: ['vitest', 'fast-check', 'esbuild'] });
  cpSync(join(ROOT, 'test/fixtures/user-project'), project, { recursive: true });
}, 900_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
}, 600_000);

describe('the installed package', () => {
  it("types the user's code from its .d.ts files alone", () => {
    const tsc = node([join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
    expect(tsc.code, tsc.out + tsc.err).toBe(0);
  }, 300_000);

  it("types the user's code with the libraries' own .d.ts checked too (skipLibCheck: false), with nothing more installed", () => {
    // Powertools' .d.ts files import 'aws-lambda': @types/aws-lambda comes with the package
    const tsc = node([join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.libcheck.json']);
    expect(tsc.code, tsc.out + tsc.err).toBe(0);
  }, 300_000);

  it('brings no optional peer: neither swagger-ui-dist nor its @scarf/scarf, whose install script reports the install', () => {
    for (const name of ['swagger-ui-dist', '@scarf/scarf']) expect(existsSync(join(project, 'node_modules', name)), name).toBe(false);
  });

  it('runs c360 from the build it ships (no sources, no tsx loader)', () => {
    const help = node(['node_modules/.bin/c360', '--help']);
    expect(help.code, help.err).toBe(0);
    expect(help.out).toMatch(/laws/);
    const laws = node(['node_modules/.bin/c360', 'laws', '--rules', 'identity-rules.json', '--runs', '20', '--law', 'limits']);
    expect(laws.code, laws.out + laws.err).toBe(0);
    expect(laws.out).toMatch(/identity-rules\.json: every law holds/);
  }, 120_000);
});

describe("a user's Lambda: the core on DynamoDB with its own identity rules, bundled by esbuild", () => {
  const prefix = `user-${randomUUID().slice(0, 8)}`;
  const writeKey = `wk-${randomUUID()}`;
  const adminToken = `adm-${randomUUID()}`;
  const identify = (messageId: string, traits: Record<string, string>) => JSON.stringify({ type: 'identify', userId: 'shopper-1', messageId, traits });
  const ingest = { authorization: basic(writeKey), 'content-type': 'application/json' };

  it('bundles, then serves REST and HTTP API events on DynamoDB Local under the custom rules', () => {
    const built = node(['build.mjs']);
    expect(built.code, built.err).toBe(0);
    const bytes = readdirSync(join(project, 'dist'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.mjs'))
      .reduce((n, f) => n + statSync(join(project, 'dist', f)).size, 0);
    const meta = JSON.parse(readFileSync(join(project, 'dist/meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    console.log(`user Lambda bundle: ${(bytes / 1000).toFixed(0)} kB, ${Object.keys(meta.inputs).length} modules`);
    expect(Object.keys(meta.inputs).some((i) => i.includes('customer360-core/lib/public/dynamodb.js'))).toBe(true);
    expect(readdirSync(join(project, 'dist'))).toContain('handler.mjs');

    const events = [
      // the custom rules allow one email per customer (the default allows five)
      restEvent('apigw-rest_no-auth', { method: 'POST', path: '/v1/identify', headers: ingest, body: identify('m-1', { email: 'first@shop.example' }) }),
      httpApiEvent('apigw-http_no-auth', { method: 'POST', path: '/v1/identify', headers: ingest, body: identify('m-2', { email: 'second@shop.example' }) }),
      restEvent('apigw-rest_no-auth', {
        method: 'GET',
        path: '/v1/customers',
        query: { identifier: 'email:first@shop.example' },
        headers: { authorization: bearer(adminToken) },
      }),
      httpApiEvent('apigw-http_no-auth', {
        method: 'GET',
        path: '/v1/customers',
        query: { identifier: 'email:second@shop.example' },
        headers: { authorization: bearer(adminToken) },
      }),
      // a write key is a credential without the read scope: 403
      httpApiEvent('apigw-http_no-auth', { method: 'GET', path: '/v1/customers', query: { identifier: 'user_id:shopper-1' }, headers: ingest }),
    ];
    writeFileSync(join(project, 'events.json'), JSON.stringify(events));
    // as README's local run: the endpoint and the function's own settings, no AWS region or credentials
    const played = node(
      ['run-events.mjs', 'events.json', 'results.json'],
      {
        DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
        TABLE_PREFIX: prefix,
        MASTER_KEY: randomBytes(32).toString('base64'),
        CLAIM_SECRET: randomBytes(32).toString('hex'),
        WRITE_KEY: writeKey,
        ADMIN_TOKEN: adminToken,
      },
      noAws(),
    );
    expect(played.code, played.err).toBe(0);
    const results = JSON.parse(readFileSync(join(project, 'results.json'), 'utf8')) as { statusCode: number; body: string }[];
    expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200, 404, 403]);
    // one email per customer: the second was refused as an identifier (it is only a trait now),
    // where the default rules would have linked both
    const customer = JSON.parse(results[2]!.body) as { identifiers: { type: string; value: string | null }[] };
    const linked = (type: string) => customer.identifiers.filter((i) => i.type === type).map((i) => i.value);
    expect(linked('email')).toEqual(['first@shop.example']);
    expect(linked('user_id')).toEqual(['shopper-1']);

    // the same handler with a short claim secret does not start: createPorts names the option
    const short = node(['run-events.mjs', 'events.json', 'short.json'], {
      DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
      TABLE_PREFIX: prefix,
      MASTER_KEY: randomBytes(32).toString('base64'),
      CLAIM_SECRET: 'short',
      WRITE_KEY: writeKey,
      ADMIN_TOKEN: adminToken,
    });
    expect(short.code).not.toBe(0);
    expect(short.err).toContain('RangeError: claimSecret: must hold at least 32 characters (got 5)');
  }, 300_000);
});

describe('the exported identity laws, run by vitest in the user project', () => {
  it("hold for the user's rules file", () => {
    const r = vitest(['laws.spec.ts'], { RULES_FILE: 'identity-rules.json', LAW_RUNS: '60' });
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/Tests\s+.*5 passed/);
  }, 300_000);

  it('reject a contradictory rules file with the seed and a counterexample', () => {
    const r = vitest(['laws.spec.ts'], { RULES_FILE: 'contradictory-rules.json', LAW_RUNS: '100' });
    const text = r.out + r.err;
    expect(r.code, text).toBe(1);
    expect(text).toMatch(/law "unique-identifiers" failed/);
    expect(text).toMatch(/seed -?\d+/);
    expect(text).toMatch(/counterexample \(the calls, in order\):\n\s+0\. \[/);
    // a pool user id (u-1), or one of the calls that take each limited type past its limit (user_id-law-1)
    expect(text).toMatch(/carries user_id "(u-\d|user_id-law-\d+)" \(limit 1\) but was recorded on customer/);
  }, 300_000);
});

describe("the exported contract suite, run by vitest against the user's own adapter", () => {
  it('proves a toy Map-backed read-model store', () => {
    const r = vitest(['map-store.spec.ts']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/ReadModelStore contract: a Map/);
    expect(r.out).toMatch(/Tests\s+.*\d+ passed/);
    expect(r.out).not.toMatch(/failed/);
  }, 300_000);
});
