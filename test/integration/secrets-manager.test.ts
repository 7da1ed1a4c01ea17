import { randomBytes, randomUUID } from 'node:crypto';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RotatingAuthenticator } from '../../src/adapters/config/rotating-authenticator.js';
import { secretsManagerSource, type SecretSource } from '../../src/adapters/config/secrets-manager.source.js';
import { apiFunction } from '../../src/infrastructure/lambda/api.function.js';
import { functionApp, functionStart } from '../../src/infrastructure/lambda/secrets.js';
import { motoAvailable, startMoto, type Moto } from '../support/moto.js';
import { quietly } from '../support/lambda-apps.js';

// The functions' secrets from Secrets Manager (moto's server on loopback, through the real SDK
// client and Powertools' SecretsProvider): read at the cold start, never from the environment,
// and the tenants' credentials read again after their max age, so a rotation needs no redeploy.

const available = motoAvailable();
if (!available) console.warn('secrets-manager.test.ts: skipped, moto_server is not on PATH (pip install "moto[server]")');

describe.skipIf(!available)('secrets from Secrets Manager (moto)', () => {
  let moto: Moto;
  let client: SecretsManagerClient;
  let source: SecretSource;
  const claimSecret = randomBytes(32).toString('base64url');
  const masterKey = randomBytes(32).toString('base64');
  const key = (id: string, tenant: string) => ({ id, tenant, kind: 'writeKey' as const, secret: `wk-${randomUUID()}`, scopes: ['ingest' as const] });
  const first = key('web', 'acme');
  const second = key('web-2', 'acme');
  let coreArn: string;
  let credsArn: string;
  beforeAll(async () => {
    moto = await startMoto();
    client = new SecretsManagerClient({ endpoint: moto.endpoint });
    source = secretsManagerSource({ endpoint: moto.endpoint, maxAgeSeconds: 1 });
    coreArn = (await client.send(new CreateSecretCommand({ Name: `c360/core-${randomUUID()}`, SecretString: JSON.stringify({ claimSecret, masterKey }) })))
      .ARN!;
    credsArn = (
      await client.send(new CreateSecretCommand({ Name: `c360/credentials-${randomUUID()}`, SecretString: JSON.stringify({ credentials: [first] }) }))
    ).ARN!;
  }, 60_000);
  afterAll(() => {
    client?.destroy();
    moto?.stop();
  });

  const env = () => ({ C360_STORE: 'memory', C360_SECRET_ID: coreArn, C360_CREDENTIALS_SECRET_ID: credsArn, C360_SECRETS_MAX_AGE_SECONDS: '1' });

  it('fills the claim secret and master key from the secret, and the credentials from theirs', async () => {
    const { config, authenticator } = await functionStart(env(), source);
    expect(config.claimSecret).toBe(claimSecret);
    expect(config.claimSecretGenerated).toBe(false);
    expect(config.masterKey).toBe(masterKey);
    expect(authenticator?.byWriteKey(first.secret)).toMatchObject({ id: 'web', tenant: 'acme' });
    expect(authenticator?.byWriteKey('wk-unknown-0123456789')).toBeUndefined();
  });

  it('picks up a rotated credential after the max age, without a restart, and drops the one rotated out', async () => {
    const { authenticator } = await functionStart(env(), source);
    if (!(authenticator instanceof RotatingAuthenticator)) throw new Error('expected rotating credentials');
    await client.send(new PutSecretValueCommand({ SecretId: credsArn, SecretString: JSON.stringify({ credentials: [second] }) }));
    // within the max age the list in hand answers
    expect(authenticator.byWriteKey(first.secret)).toBeDefined();
    expect(authenticator.byWriteKey(second.secret)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 1_100));
    authenticator.byWriteKey(second.secret); // stale: starts the reload
    await authenticator.settled();
    expect(authenticator.byWriteKey(second.secret)).toMatchObject({ id: 'web-2' });
    expect(authenticator.byWriteKey(first.secret)).toBeUndefined();
  });

  it('the api function starts on credentials from the secret alone (none in its environment)', async () => {
    const app = await functionApp(env(), source);
    try {
      const handler = quietly(() => apiFunction(app));
      expect(typeof handler).toBe('function');
      expect(app.auth).toBeInstanceOf(RotatingAuthenticator);
    } finally {
      await app.close();
    }
  });

  it('refuses a secret also given as a plain environment variable', async () => {
    await expect(functionStart({ ...env(), C360_CLAIM_SECRET: claimSecret }, source)).rejects.toThrow(
      /C360_CLAIM_SECRET: set beside a Secrets Manager secret; keep it in the secret/,
    );
  });

  it('a missing secret fails the start naming the variable', async () => {
    await expect(functionStart({ ...env(), C360_SECRET_ID: 'c360/no-such-secret' }, source)).rejects.toThrow(
      /C360_SECRET_ID: cannot read secret c360\/no-such-secret \(GetParameterError: Secrets Manager can't find the specified secret/,
    );
  });

  it('a secret without a claim secret fails the start naming the field', async () => {
    const bad = (await client.send(new CreateSecretCommand({ Name: `c360/bad-${randomUUID()}`, SecretString: JSON.stringify({ masterKey }) }))).ARN!;
    await expect(functionStart({ ...env(), C360_SECRET_ID: bad }, source)).rejects.toThrow(/C360_SECRET_ID: claimSecret: /);
  });
});
