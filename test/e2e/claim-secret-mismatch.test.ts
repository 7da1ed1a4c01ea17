import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ClaimSecretMismatch } from '../../src/application/claim-secret.js';
import { buildApp } from '../../src/infrastructure/app.js';
import { main as cli } from '../../src/infrastructure/cli.js';
import { ConfigError, loadConfig } from '../../src/infrastructure/config.js';
import { serve } from '../../src/infrastructure/server.js';
import { startStandIn, type StandIn } from '../support/esdb-standin/server.js';

// A store written under one claim secret, then run with another (a mistyped secret, a data dir's
// secrets.json replaced, one Lambda with another parameter). The claim keys would all differ:
// every lookup would miss and the same identify would start a second customer. The server and the
// CLI refuse to start with one configuration line naming C360_CLAIM_SECRET; the Lambda shape (no
// start check) refuses every commit and claim read, so nothing is written under the wrong secret.
// On every store: SQLite, DynamoDB (Local), EventStoreDB (the stand-in, keys in the SQLite file).

const TENANT = 'acme';
const S1 = randomBytes(32).toString('base64url');
const S2 = randomBytes(32).toString('base64url');
const masterKey = randomBytes(32).toString('base64');
const identify = { type: 'identify', userId: 'cs-1', traits: { email: 'cs@example.com' } };

let standIn: StandIn;
const dirs: string[] = [];
beforeAll(async () => {
  standIn = await startStandIn();
});
afterAll(async () => {
  await standIn?.stop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const capture = () => {
  let text = '';
  return { write: (s: string) => ((text += s), true), text: () => text };
};

type Store = { readonly name: string; env(secret: string): NodeJS.ProcessEnv };

const stores = async (): Promise<Store[]> => {
  const dir = await mkdtemp(join(tmpdir(), 'c360-claim-secret-'));
  dirs.push(dir);
  const run = randomUUID().slice(0, 8);
  const base = (sub: string, secret: string) => ({
    C360_DATA_DIR: join(dir, sub),
    C360_TENANT: TENANT,
    C360_CLAIM_SECRET: secret,
    C360_MASTER_KEY: masterKey,
    C360_LAKE: 'off',
    PORT: '0',
  });
  return [
    { name: 'sqlite', env: (secret) => ({ ...base('sqlite', secret), C360_STORE: 'sqlite' }) },
    {
      name: 'dynamodb',
      env: (secret) => ({
        ...base('dynamodb', secret),
        C360_STORE: 'dynamodb',
        AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
        ...Object.fromEntries(
          ['EVENTS', 'VIEWS', 'KEYS', 'QUARANTINE', 'AUDIT', 'LEDGER', 'OUTBOX'].map((t) => [`C360_${t}_TABLE`, `cs-${run}-${t.toLowerCase()}`]),
        ),
      }),
    },
    {
      name: 'eventstoredb',
      env: (secret) => ({ ...base('esdb', secret), C360_STORE: 'eventstoredb', ESDB_CONNECTION_STRING: standIn.connectionString }),
    },
  ];
};

describe.each([['sqlite'], ['dynamodb'], ['eventstoredb']])('a claim secret other than the store records: %s', (name) => {
  let store: Store;
  let customerId: string;
  beforeAll(async () => {
    store = (await stores()).find((s) => s.name === name)!;
    const first = await buildApp(loadConfig(store.env(S1)));
    try {
      const r = await first.core.ingest.ingest(TENANT, first.sourceOf(TENANT, 'web'), identify);
      if (r.status !== 'accepted') throw new Error('setup call refused');
      customerId = r.customerId;
      await first.drainBackground();
    } finally {
      await first.close();
    }
  });

  it('fails the start of the server and of a CLI job with one line naming C360_CLAIM_SECRET', async () => {
    const error = await serve(loadConfig(store.env(S2)), () => {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/^C360_CLAIM_SECRET: this store's claim keys were made under another claim secret/);
    expect(message).not.toContain('\n');
    expect(message).not.toContain(S1);
    expect(message).not.toContain(S2);

    const [stdout, stderr] = [capture(), capture()];
    const code = await cli(['rebuild'], store.env(S2), { stdout, stderr, debug: false });
    expect(code).not.toBe(0);
    expect(stderr.text()).toMatch(/^error: C360_CLAIM_SECRET: this store's claim keys were made under another claim secret[^\n]*\n$/m);

    // the rightful secret starts
    const server = await serve(loadConfig(store.env(S1)), () => {});
    await server.close();
  });

  it('without the start check (a Lambda), refuses every commit and claim lookup: no second customer', async () => {
    const wrong = await buildApp(loadConfig(store.env(S2)));
    try {
      await expect(wrong.core.ingest.ingest(TENANT, wrong.sourceOf(TENANT, 'web'), identify)).rejects.toBeInstanceOf(ClaimSecretMismatch);
      await expect(wrong.core.queries.findByIdentifier(TENANT, 'email', 'cs@example.com')).rejects.toThrow(/^C360_CLAIM_SECRET: /);
      // a mismatch stays: asked again, refused again
      await expect(wrong.core.ingest.ingest(TENANT, wrong.sourceOf(TENANT, 'web'), identify)).rejects.toBeInstanceOf(ClaimSecretMismatch);
    } finally {
      await wrong.close();
    }
    const right = await buildApp(loadConfig(store.env(S1)));
    try {
      const again = await right.core.ingest.ingest(TENANT, right.sourceOf(TENANT, 'web'), identify);
      expect(again).toMatchObject({ status: 'accepted', customerId, created: false });
      await expect(right.core.queries.findByIdentifier(TENANT, 'email', 'cs@example.com')).resolves.toMatchObject({ kind: 'view' });
    } finally {
      await right.close();
    }
  });
});

describe('a store from before the fingerprint', () => {
  it('takes the claim secret of the first server that starts on it (trust on first use), then refuses another', async () => {
    const store = (await stores()).find((s) => s.name === 'sqlite')!;
    const first = await buildApp(loadConfig(store.env(S1)));
    const r = await first.core.ingest.ingest(TENANT, first.sourceOf(TENANT, 'web'), identify);
    await first.drainBackground();
    await first.close();
    // as a file written before the fingerprint was kept: no row
    const config = loadConfig(store.env(S1));
    const db = new DatabaseSync(config.sqliteFile);
    db.exec('DELETE FROM claim_secret');
    db.close();

    // a CLI job only compares: it leaves the recording to a write
    const [stdout, stderr] = [capture(), capture()];
    expect(await cli(['rebuild'], store.env(S2), { stdout, stderr, debug: false }), stderr.text()).toBe(0);
    // the server records the secret it starts with: the rightful one here
    const server = await serve(loadConfig(store.env(S1)), () => {});
    await server.close();
    await expect(serve(loadConfig(store.env(S2)), () => {})).rejects.toThrow(/^C360_CLAIM_SECRET: /);
    const right = await buildApp(loadConfig(store.env(S1)));
    try {
      expect(await right.core.ingest.ingest(TENANT, right.sourceOf(TENANT, 'web'), identify)).toMatchObject({
        status: 'accepted',
        customerId: r.status === 'accepted' ? r.customerId : undefined,
        created: false,
      });
    } finally {
      await right.close();
    }
  });
});
