import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClaimSecretMismatch,
  createCore,
  createPorts,
  defaultSourceOf,
  DomainError,
  LocalMasterKey,
  MasterKeyring,
  verifyClaimSecret,
  type StorePorts,
} from '../../../src/public/index.js';
import { memoryStores } from '../../../src/public/memory.js';
import { sqliteStores } from '../../../src/public/sqlite.js';

// The library's protection against a store opened with another claim secret (a mistyped secret, a
// second process with another parameter): createPorts' ports record the secret's fingerprint at
// their first commit and refuse every commit and claim read under another one (ClaimSecretMismatch);
// verifyClaimSecret does the same check at once, for an embedding that would rather fail at start.

const tenant = 'shop';
const web = defaultSourceOf(tenant, 'web');
const S1 = randomBytes(32).toString('base64url');
const S2 = randomBytes(32).toString('base64url');
const identify = { type: 'identify', userId: 'u1', traits: { email: 'a@shop.example' } };

const coreOn = (stores: StorePorts, claimSecret: string) => {
  const ports = createPorts({ stores, claimSecret });
  return { ports, core: createCore(ports, { inlineProjection: true, sourceOf: defaultSourceOf }) };
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'c360-lib-claim-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a store opened with another claimSecret', () => {
  it('in memory: the first commit records the secret; another secret is refused at its first claim read and commit', async () => {
    const stores = memoryStores();
    await expect(stores.keys.claimSecretFingerprint()).resolves.toBeUndefined();
    const first = coreOn(stores, S1);
    const r = await first.core.ingest.ingest(tenant, web, identify);
    expect(r).toMatchObject({ status: 'accepted', created: true });
    const recorded = await stores.keys.claimSecretFingerprint();
    expect(recorded).toMatch(/^[\w-]{43}$/);
    expect(recorded).not.toContain(S1);

    const other = coreOn(stores, S2);
    const lookup = await other.core.queries.findByIdentifier(tenant, 'user_id', 'u1').catch((e: unknown) => e);
    expect(lookup).toBeInstanceOf(ClaimSecretMismatch);
    expect((lookup as Error).message).toMatch(/^claimSecret: this store's claim keys were made under another claim secret/);
    await expect(other.core.ingest.ingest(tenant, web, identify)).rejects.toBeInstanceOf(ClaimSecretMismatch);
    await expect(verifyClaimSecret(other.ports)).rejects.toBeInstanceOf(ClaimSecretMismatch);

    // nothing was written under it: the person is still the one customer
    await expect(verifyClaimSecret(first.ports)).resolves.toBe('matches');
    await expect(first.core.ingest.ingest(tenant, web, identify)).resolves.toMatchObject({
      customerId: r.status === 'accepted' ? r.customerId : '',
      created: false,
    });
  });

  it('on a SQLite file reopened with another secret: refused, and the rightful secret still finds the customer', async () => {
    const path = join(dir, 'c360.sqlite');
    const keyring = new MasterKeyring(LocalMasterKey.fromBase64(randomBytes(32).toString('base64')));
    const a = sqliteStores({ path, keyring });
    const first = coreOn(a, S1);
    // verifyClaimSecret at start records the secret in a new store
    await expect(verifyClaimSecret(first.ports)).resolves.toBe('recorded');
    const r = await first.core.ingest.ingest(tenant, web, identify);
    a.close();

    const b = sqliteStores({ path, keyring });
    try {
      const other = coreOn(b, S2);
      await expect(verifyClaimSecret(other.ports)).rejects.toThrow(/^claimSecret: /);
      await expect(other.core.ingest.ingest(tenant, web, identify)).rejects.toBeInstanceOf(ClaimSecretMismatch);
      const right = coreOn(b, S1);
      const found = await right.core.queries.findByIdentifier(tenant, 'user_id', 'u1');
      expect(found).toMatchObject({ kind: 'view', customer: { customerId: r.status === 'accepted' ? r.customerId : '' } });
    } finally {
      b.close();
    }
  });

  it('a refusal is no DomainError: it is the embedding that is misconfigured, never the call', async () => {
    const stores = memoryStores();
    await coreOn(stores, S1).core.ingest.ingest(tenant, web, identify);
    const error = await coreOn(stores, S2)
      .core.ingest.ingest(tenant, web, identify)
      .catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ name: 'ClaimSecretMismatch', code: 'CLAIM_SECRET_MISMATCH', setting: 'claimSecret' });
  });
});
