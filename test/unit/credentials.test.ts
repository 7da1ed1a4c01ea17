import { describe, expect, it } from 'vitest';
import { StaticAuthenticator, type CredentialSpec } from '../../src/adapters/config/static-credentials.js';
import { ConfigError } from '../../src/infrastructure/config.js';
import { parseCredentials } from '../../src/infrastructure/credentials.js';
import { createCore, createPorts, defaultSourceOf } from '../../src/public/index.js';
import { createApiFunction } from '../../src/public/lambda.js';
import { memoryStores } from '../../src/public/memory.js';

// A secret names one credential. Two credentials with the same secret (say, of two tenants) were
// one key that the authenticator kept for the tenant listed last, so one tenant's calls landed in
// the other's data. The credentials file, a credentials secret and createApiFunction refuse them,
// naming both ids and never the secret; createApiFunction checks each credential as the file's are.

const SHARED = 'wk_same_secret_123456';
const shop: CredentialSpec = { id: 'shop-web', tenant: 'shop', kind: 'writeKey', secret: SHARED, scopes: ['ingest'] };
const other: CredentialSpec = { id: 'other-web', tenant: 'other', kind: 'writeKey', secret: SHARED, scopes: ['ingest'] };

const thrown = (f: () => unknown): Error => {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('nothing thrown');
};

describe('a secret given to two credentials', () => {
  it('is refused in a credentials file, naming both ids and not the secret', () => {
    const e = thrown(() => parseCredentials({ credentials: [shop, other] }, { rateLimitPerSecond: 100 }, 'C360_CREDENTIALS_FILE'));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/^C360_CREDENTIALS_FILE: credentials\.1\.secret: credentials shop-web and other-web have the same secret/);
    expect(e.message).not.toContain(SHARED);
  });

  it('is refused across kinds too (a write key is public; a token with its secret would be as well)', () => {
    const token: CredentialSpec = { id: 'shop-ops', tenant: 'shop', kind: 'token', secret: SHARED, scopes: ['read'] };
    const e = thrown(() => parseCredentials({ credentials: [shop, token] }, { rateLimitPerSecond: 100 }, 'C360_CREDENTIALS_FILE'));
    expect(e.message).toContain('credentials shop-web and shop-ops have the same secret');
  });

  it('is refused by createApiFunction and by StaticAuthenticator', () => {
    const core = createCore(createPorts({ stores: memoryStores(), claimSecret: 'credentials-test-claim-secret-0123456789' }), {
      inlineProjection: true,
      sourceOf: defaultSourceOf,
    });
    const e = thrown(() => createApiFunction({ core, credentials: [shop, other] }));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(/^credentials\.1\.secret: credentials shop-web and other-web have the same secret/);
    expect(e.message).not.toContain(SHARED);
    expect(thrown(() => new StaticAuthenticator([shop, other])).message).toMatch(/^credentials shop-web and other-web have the same secret/);
  });

  it('distinct secrets still authenticate each to its own tenant', () => {
    const auth = new StaticAuthenticator([shop, { ...other, secret: 'wk_other_secret_654321' }]);
    expect(auth.byWriteKey(SHARED)?.tenant).toBe('shop');
    expect(auth.byWriteKey('wk_other_secret_654321')?.tenant).toBe('other');
  });

  it('a repeated id is still refused, by its path', () => {
    const e = thrown(() =>
      parseCredentials({ credentials: [shop, { ...other, id: 'shop-web', secret: 'wk_other_secret_654321' }] }, { rateLimitPerSecond: 1 }, 'F'),
    );
    expect(e.message).toBe('F: credentials.1.id: credential id shop-web appears twice');
  });
});

describe('createApiFunction checks its credentials as the server checks a credentials file', () => {
  const core = createCore(createPorts({ stores: memoryStores(), claimSecret: 'credentials-test-claim-secret-0123456789' }), {
    inlineProjection: true,
    sourceOf: defaultSourceOf,
  });
  const good = { id: 'web', tenant: 'shop', kind: 'writeKey', secret: 'wk_abcdefghijklmnop', scopes: ['ingest'] };
  it.each([
    ['a 3-character secret', { secret: 'abc' }, 'credentials.0.secret: must hold at least 16 characters'],
    ['a misspelt scope', { scopes: ['ingets'] }, 'credentials.0.scopes.0: '],
    ['a misspelt kind', { kind: 'writekey' }, 'credentials.0.kind: '],
    ['a tenant that is no tenant name', { tenant: 'Shop Inc!' }, 'credentials.0.tenant: lower-case letters, digits and dashes'],
    ['no scopes', { scopes: [] }, 'credentials.0.scopes: '],
  ])('refuses %s, naming the field', (_label, change, message) => {
    const credentials = [{ ...good, ...change }] as unknown as CredentialSpec[];
    const e = thrown(() => createApiFunction({ core, credentials }));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message.startsWith(message)).toBe(true);
  });

  it('takes valid credentials', () => {
    expect(typeof createApiFunction({ core, credentials: [good as CredentialSpec] })).toBe('function');
  });
});
