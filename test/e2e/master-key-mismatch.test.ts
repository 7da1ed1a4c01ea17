import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticAuthenticator } from '../../src/adapters/config/static-credentials.js';
import { LocalMasterKey } from '../../src/adapters/crypto/master-key.js';
import { createHttpApp } from '../../src/adapters/http/app.js';
import { buildApp, type App } from '../../src/infrastructure/app.js';
import { main as cli } from '../../src/infrastructure/cli.js';
import { ConfigError, loadConfig } from '../../src/infrastructure/config.js';
import { MALFORMED_REASON } from '../support/erasure-scenario.js';

// The embedded store written under one master key, then run with another one that is not kept
// as a previous key (the trial's `C360_MASTER_KEY=$(openssl rand -base64 32)` on a data dir the
// first run filled). The server and the CLI refuse to start, naming the variables and the master
// key; the Lambda shape (which skips that check) answers 503 for what it cannot decrypt, never 500,
// keeps a refused call, and erases the customer completely.

const TENANT = 'acme';
const A = randomBytes(32).toString('base64');
const B = randomBytes(32).toString('base64');
const aId = LocalMasterKey.fromBase64(A).id;
const claimSecret = randomBytes(32).toString('base64url');
let dir: string;
let customerId: string;

const env = (masterKey: string, previous?: string): NodeJS.ProcessEnv => ({
  C360_DATA_DIR: dir,
  C360_TENANT: TENANT,
  C360_CLAIM_SECRET: claimSecret,
  C360_MASTER_KEY: masterKey,
  ...(previous ? { C360_MASTER_KEYS_PREVIOUS: previous } : {}),
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'c360-master-key-'));
  const first = await buildApp(loadConfig(env(A)));
  const r = await first.core.ingest.ingest(TENANT, first.sourceOf(TENANT, 'web'), { type: 'identify', userId: 'mk', traits: { email: 'mk@example.com' } });
  if (r.status !== 'accepted') throw new Error('setup call refused');
  customerId = r.customerId;
  // a body that never parsed, naming nobody: the tenant's quarantine key is wrapped by A too
  await first.core.quarantine.hold(TENANT, 'web', '{"type":"track","event":', MALFORMED_REASON);
  await first.drainBackground();
  await first.close();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const capture = () => {
  let text = '';
  return { write: (s: string) => ((text += s), true), text: () => text };
};

describe('a master key that is not the one the data keys are wrapped by', () => {
  it('fails the start of a server with one configuration line naming the variables and the missing master key; the CLI warns with it', async () => {
    const error = await buildApp(loadConfig(env(B)), { checkMasterKeys: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/^C360_MASTER_KEY \/ C360_MASTER_KEYS_PREVIOUS: /);
    expect(message).toContain(aId);
    expect(message).not.toContain('\n');

    // the CLI says so and goes on (an operator who lost the key can still erase those customers)
    const stderr = capture();
    const code = await cli(['quarantine', 'list', '--json'], env(B), { stdout: capture(), stderr, debug: false });
    expect(code, stderr.text()).toBe(0);
    expect(stderr.text()).toContain(`warning: C360_MASTER_KEY / C360_MASTER_KEYS_PREVIOUS: the store holds data keys wrapped by master key ${aId}`);
    // the customer is as it was
    const rightful = await buildApp(loadConfig(env(A)), { checkMasterKeys: true });
    await expect(rightful.core.queries.get360(TENANT, customerId)).resolves.toMatchObject({ kind: 'view' });
    await rightful.close();
    // the new key with the old one kept as a previous key starts
    const rotated = await buildApp(loadConfig(env(B, A)), { checkMasterKeys: true });
    await rotated.close();
  });

  describe('at run time, without the start check (a Lambda cold start)', () => {
    let app: App;
    const admin = `tok-${randomBytes(8).toString('hex')}`;
    const writeKey = `wk-${randomBytes(8).toString('hex')}`;
    let http: ReturnType<typeof createHttpApp>;
    const send = (method: string, path: string, o: { json?: unknown; basic?: boolean } = {}) =>
      http.request(path, {
        method,
        headers: {
          authorization: o.basic ? `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` : `Bearer ${admin}`,
          ...(o.json === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: o.json === undefined ? undefined : JSON.stringify(o.json),
      });

    beforeAll(async () => {
      app = await buildApp(loadConfig(env(B)));
      http = createHttpApp({
        core: app.core,
        intake: app.intake,
        sourceOf: app.sourceOf,
        metrics: app.metrics,
        now: Date.now,
        auth: new StaticAuthenticator([
          { id: 'web', tenant: TENANT, kind: 'writeKey', secret: writeKey, scopes: ['ingest'], source: 'web' },
          { id: 'ops', tenant: TENANT, kind: 'token', secret: admin, scopes: ['ingest', 'read', 'admin', 'gdpr'] },
        ]),
      });
    });
    afterAll(async () => {
      await app?.close();
    });

    it('answers 503 MASTER_KEY_UNAVAILABLE for what needs the key, keeps a refused call, and erases completely', async () => {
      const track = await send('POST', '/v1/track', { basic: true, json: { userId: 'mk', event: 'Viewed' } });
      expect(track.status, await track.clone().text()).toBe(503);
      expect(((await track.json()) as { error: { code: string } }).error.code).toBe('MASTER_KEY_UNAVAILABLE');

      // a bad call is the client's fault, and is kept in the quarantine all the same (under a
      // stand-in key: the quarantine key is wrapped by the missing master key)
      const bad = await send('POST', '/v1/track', { basic: true, json: { userId: 'mk' } });
      expect(bad.status, await bad.clone().text()).toBe(400);
      const quarantineId = ((await bad.json()) as { error: { quarantineId?: string } }).error.quarantineId;
      expect(quarantineId).toBeTruthy();

      const exported = await send('GET', `/v1/customers/${customerId}/export`);
      expect(exported.status).toBe(503);
      expect(((await exported.json()) as { error: { code: string } }).error.code).toBe('MASTER_KEY_UNAVAILABLE');

      const erased = await send('DELETE', `/v1/customers/${customerId}`);
      expect(erased.status, await erased.clone().text()).toBe(200);
      const receipt = (await erased.json()) as { erasureId: string; removed: Record<string, number> };
      expect(receipt.removed).toMatchObject({ streams: 1, dataKeys: 1, views: 1, claims: 2 });
      // the refused call named her (userId mk): deleted with her; the one under the unreadable
      // quarantine key could only be compared by its recorded keys, and the receipt says so
      expect(receipt.removed.quarantined).toBe(1);
      expect(receipt).toMatchObject({ quarantineUnsearched: 1 });
      const after = await send('GET', `/v1/customers/${customerId}`);
      expect(after.status).toBe(410);
      expect((await send('GET', `/v1/customers?identifier=${encodeURIComponent('email:mk@example.com')}`)).status).toBe(404);
      const erasures = (await (await send('GET', '/v1/admin/erasures')).json()) as { erasures?: { erasureId: string }[]; entries?: { erasureId: string }[] };
      expect(JSON.stringify(erasures)).toContain(receipt.erasureId);

      // `c360 erase` (the same receipt again) and `c360 erasures reapply` without the first master
      // key say so too, under --json and in their text
      const c360 = async (environment: NodeJS.ProcessEnv, ...argv: string[]) => {
        const [stdout, stderr] = [capture(), capture()];
        const code = await cli(argv, environment, { stdout, stderr, debug: false });
        expect(code, stderr.text()).toBe(0);
        return stdout.text();
      };
      expect(await c360(env(B), 'erase', customerId)).toMatch(/^1 quarantined payload could not be searched /m);
      const reapply = (environment: NodeJS.ProcessEnv, ...flags: string[]) => c360(environment, 'erasures', 'reapply', ...flags);
      expect(JSON.parse(await reapply(env(B), '--json'))).toMatchObject({ tenant: TENANT, erasures: 1, quarantineUnsearched: 1 });
      expect(await reapply(env(B))).toMatch(/^1 quarantined payload could not be searched \(its quarantine key is wrapped by a master key this keyring lacks/m);
      // with it back as a previous key, the payload is searched: none is left unsearched
      const whole = JSON.parse(await reapply(env(B, A), '--json'));
      expect(whole).toMatchObject({ tenant: TENANT, erasures: 1 });
      expect(whole.quarantineUnsearched).toBeUndefined();
      expect(await reapply(env(B, A))).not.toMatch(/could not be searched/);
    });
  });
});
