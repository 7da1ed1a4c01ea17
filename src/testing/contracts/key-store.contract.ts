import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from '../vitest.js';
import type { Cipher, KeyStore } from '../../application/ports/keys.port.js';
import { DomainError } from '../../domain/shared/errors.js';

const newTenant = (): string => `t-${randomUUID()}`;
const AAD = 'tenant/customer/event-1';
const SECRET = '{"email":"ada@example.com","name":"Ada Lovelace ✓"}';

/** Flips one character in the middle of one dot-separated part of the ciphertext. */
const tamper = (ciphertext: string, part: number): string => {
  const parts = ciphertext.split('.');
  const p = parts[part]!;
  const i = Math.floor(p.length / 2);
  parts[part] = p.slice(0, i) + (p[i] === 'A' ? 'B' : 'A') + p.slice(i + 1);
  return parts.join('.');
};

export type KeyStoreFixture = { readonly keys: KeyStore; readonly cipher: Cipher };

export const keyStoreContract = (name: string, make: () => Promise<KeyStoreFixture> | KeyStoreFixture): void => {
  describe(`KeyStore contract: ${name}`, () => {
    let keys: KeyStore;
    let cipher: Cipher;
    let tenant: string;
    beforeEach(async () => {
      ({ keys, cipher } = await make());
      tenant = newTenant();
    });

    it('getOrCreate returns the same key every time, and get finds it', async () => {
      const first = await keys.getOrCreate(tenant, 'c-1');
      const ciphertext = cipher.encrypt(first, SECRET, AAD);
      const again = await keys.getOrCreate(tenant, 'c-1');
      const got = await keys.get(tenant, 'c-1');
      expect(again.keyId).toBe(first.keyId);
      expect(got?.keyId).toBe(first.keyId);
      expect(cipher.decrypt(again, ciphertext, AAD)).toBe(SECRET);
      expect(cipher.decrypt(got!, ciphertext, AAD)).toBe(SECRET);
    });

    it('get is null for a customer that never had a key', async () => {
      await expect(keys.get(tenant, 'c-404')).resolves.toBeNull();
    });

    it('gives every customer its own key', async () => {
      const a = await keys.getOrCreate(tenant, 'c-1');
      const b = await keys.getOrCreate(tenant, 'c-2');
      expect(a.keyId).not.toBe(b.keyId);
      expect(() => cipher.decrypt(b, cipher.encrypt(a, SECRET, AAD), AAD)).toThrow();
    });

    it('destroy is final: get is null and the id can never get a new key', async () => {
      await keys.getOrCreate(tenant, 'c-1');
      // true: a live key was there, and this call destroyed it (what an erasure's receipt counts)
      await expect(keys.destroy(tenant, 'c-1')).resolves.toBe(true);
      await expect(keys.get(tenant, 'c-1')).resolves.toBeNull();
      const error = await keys.getOrCreate(tenant, 'c-1').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).code).toBe('CUSTOMER_NOT_ACTIVE');
      // erasure retries destroy again: nothing live was left to destroy
      await expect(keys.destroy(tenant, 'c-1')).resolves.toBe(false);
    });

    it('the fresh hint changes nothing but the reads: an existing key still wins, a destroyed id still refuses', async () => {
      const fresh = await keys.getOrCreate(tenant, 'c-new', { fresh: true });
      expect((await keys.get(tenant, 'c-new'))?.keyId).toBe(fresh.keyId);
      expect((await keys.getOrCreate(tenant, 'c-new', { fresh: true })).keyId).toBe(fresh.keyId);
      await keys.destroy(tenant, 'c-new');
      await expect(keys.getOrCreate(tenant, 'c-new', { fresh: true })).rejects.toMatchObject({ code: 'CUSTOMER_NOT_ACTIVE' });
      await keys.destroy(tenant, 'c-gone');
      await expect(keys.getOrCreate(tenant, 'c-gone', { fresh: true })).rejects.toMatchObject({ code: 'CUSTOMER_NOT_ACTIVE' });
    });

    it('destroy of a customer that never had a key still blocks the id', async () => {
      await expect(keys.destroy(tenant, 'c-never')).resolves.toBe(false);
      await expect(keys.getOrCreate(tenant, 'c-never')).rejects.toMatchObject({ code: 'CUSTOMER_NOT_ACTIVE' });
    });

    it('keeps tenants apart: same customer id, different keys, separate destruction', async () => {
      const other = newTenant();
      const mine = await keys.getOrCreate(tenant, 'c-1');
      await expect(keys.get(other, 'c-1')).resolves.toBeNull();
      const theirs = await keys.getOrCreate(other, 'c-1');
      expect(theirs.keyId).not.toBe(mine.keyId);
      expect(() => cipher.decrypt(theirs, cipher.encrypt(mine, SECRET, AAD), AAD)).toThrow();
      await keys.destroy(other, 'c-1');
      const stillMine = await keys.get(tenant, 'c-1');
      expect(cipher.decrypt(stillMine!, cipher.encrypt(mine, SECRET, AAD), AAD)).toBe(SECRET);
    });

    it('concurrent getOrCreate calls for one customer all get the one key', async () => {
      const got = await Promise.all(Array.from({ length: 8 }, () => keys.getOrCreate(tenant, 'c-race')));
      expect(new Set(got.map((k) => k.keyId)).size).toBe(1);
      const ciphertext = cipher.encrypt(got[0]!, SECRET, AAD);
      for (const key of got) expect(cipher.decrypt(key, ciphertext, AAD)).toBe(SECRET);
      expect((await keys.get(tenant, 'c-race'))?.keyId).toBe(got[0]!.keyId);
    });

    it("destroying a key destroys its stand-ins (`<id>~<suffix>`, as EncryptedQuarantine's `$quarantine~<master key id>`) and refuses new ones", async () => {
      await keys.getOrCreate(tenant, '$quarantine');
      const standIns = ['$quarantine~local:m1', '$quarantine~kms:arn:aws:kms:eu-west-1:111122223333:key/k-2'];
      const held = await Promise.all(standIns.map((id) => keys.getOrCreate(tenant, id)));
      const ciphertext = cipher.encrypt(held[0]!, SECRET, AAD);
      // an id that only begins like it is another key, and another tenant's stand-ins are theirs
      const other = await keys.getOrCreate(tenant, '$quarantine-2');
      const otherTenant = newTenant();
      await keys.getOrCreate(otherTenant, '$quarantine');
      const theirs = await keys.getOrCreate(otherTenant, standIns[0]!);

      // destroying a stand-in alone leaves the key it stands in for
      await keys.getOrCreate(tenant, '$quarantine~local:m0');
      await expect(keys.destroy(tenant, '$quarantine~local:m0')).resolves.toBe(true);
      expect(await keys.get(tenant, '$quarantine')).not.toBeNull();

      await expect(keys.destroy(tenant, '$quarantine')).resolves.toBe(true);
      for (const id of [...standIns, '$quarantine~local:m0']) {
        await expect(keys.get(tenant, id)).resolves.toBeNull();
        await expect(keys.getOrCreate(tenant, id)).rejects.toMatchObject({ code: 'CUSTOMER_NOT_ACTIVE' });
      }
      // disarmed like the key itself, and a stand-in for yet another master key is refused too
      expect(() => cipher.decrypt(held[0]!, ciphertext, AAD)).toThrow();
      await expect(keys.getOrCreate(tenant, '$quarantine~local:m3')).rejects.toMatchObject({ code: 'CUSTOMER_NOT_ACTIVE' });
      expect((await keys.get(tenant, '$quarantine-2'))?.keyId).toBe(other.keyId);
      expect((await keys.get(otherTenant, standIns[0]!))?.keyId).toBe(theirs.keyId);
      // a repeat finds nothing live left
      await expect(keys.destroy(tenant, '$quarantine')).resolves.toBe(false);
    });

    it('creates a stand-in only for a live key', async () => {
      await expect(keys.getOrCreate(tenant, 'c-none~local:m1')).rejects.toThrow(/no key c-none .*to stand in for/);
      await keys.destroy(tenant, 'c-gone');
      await expect(keys.getOrCreate(tenant, 'c-gone~local:m1')).rejects.toMatchObject({ code: 'CUSTOMER_NOT_ACTIVE' });
    });

    it('destroy disarms a key the store handed out earlier', async () => {
      const key = await keys.getOrCreate(tenant, 'c-1');
      const ciphertext = cipher.encrypt(key, SECRET, AAD);
      await keys.destroy(tenant, 'c-1');
      expect(() => cipher.decrypt(key, ciphertext, AAD)).toThrow();
      expect(() => cipher.encrypt(key, SECRET, AAD)).toThrow();
    });

    describe("the claim secret's fingerprint (one per store, whatever the tenant)", () => {
      // the store may be shared with other tests (a table, a file): what it records may be theirs
      it('records the first fingerprint for good and answers it ever after', async () => {
        const before = await keys.claimSecretFingerprint();
        const mine = `fp-${randomUUID()}`;
        const kept = await keys.recordClaimSecretFingerprint(mine);
        expect(kept).toBe(before ?? mine);
        await expect(keys.claimSecretFingerprint()).resolves.toBe(kept);
        // another one never replaces it
        await expect(keys.recordClaimSecretFingerprint(`fp-${randomUUID()}`)).resolves.toBe(kept);
        await expect(keys.claimSecretFingerprint()).resolves.toBe(kept);
      });

      it('of fingerprints recorded at once, one is kept and every caller is answered it', async () => {
        const offered = Array.from({ length: 6 }, () => `fp-${randomUUID()}`);
        const answers = await Promise.all(offered.map((f) => keys.recordClaimSecretFingerprint(f)));
        expect(new Set(answers).size).toBe(1);
        await expect(keys.claimSecretFingerprint()).resolves.toBe(answers[0]);
      });

      it('is not a data key: no tenant sees it, and keys of every id work beside it', async () => {
        await keys.recordClaimSecretFingerprint(`fp-${randomUUID()}`);
        await expect(keys.get(tenant, '$store')).resolves.toBeNull();
        const key = await keys.getOrCreate(tenant, 'c-1');
        expect(cipher.decrypt(key, cipher.encrypt(key, SECRET, AAD), AAD)).toBe(SECRET);
      });
    });

    describe('with the cipher', () => {
      it('round-trips text, including empty and non-ASCII, without leaking the plaintext', async () => {
        const key = await keys.getOrCreate(tenant, 'c-1');
        for (const text of [SECRET, '', 'ü'.repeat(10_000)]) {
          const ciphertext = cipher.encrypt(key, text, AAD);
          expect(ciphertext).toMatch(/^v1\.[\w-]+\.[\w-]*\.[\w-]+$/);
          expect(cipher.decrypt(key, ciphertext, AAD)).toBe(text);
        }
        const ciphertext = cipher.encrypt(key, SECRET, AAD);
        expect(ciphertext).not.toContain('ada');
        expect(Buffer.from(ciphertext.split('.')[2]!, 'base64url').toString('utf8')).not.toContain('ada');
        // random IVs: the same plaintext never encrypts the same way twice
        expect(cipher.encrypt(key, SECRET, AAD)).not.toBe(ciphertext);
      });

      it('detects tampering with the IV, the ciphertext or the tag', async () => {
        const key = await keys.getOrCreate(tenant, 'c-1');
        const ciphertext = cipher.encrypt(key, SECRET, AAD);
        for (const part of [1, 2, 3]) expect(() => cipher.decrypt(key, tamper(ciphertext, part), AAD)).toThrow();
        const [v, iv, ct, tag] = ciphertext.split('.');
        expect(() => cipher.decrypt(key, [v, iv, ct, tag!.slice(0, 8)].join('.'), AAD)).toThrow();
        expect(() => cipher.decrypt(key, 'not a ciphertext', AAD)).toThrow();
      });

      it('fails with the wrong associated data: a ciphertext cannot be moved to another event', async () => {
        const key = await keys.getOrCreate(tenant, 'c-1');
        const ciphertext = cipher.encrypt(key, SECRET, AAD);
        expect(() => cipher.decrypt(key, ciphertext, 'tenant/customer/event-2')).toThrow();
        expect(() => cipher.decrypt(key, ciphertext, '')).toThrow();
      });
    });
  });
};
