import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AesGcmCipher, createDataKey, dataKeyMaterial, destroyDataKey, HmacHasher, UuidV7Generator } from '../../../src/adapters/crypto/node-crypto.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const timestampOf = (id: string): number => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('UuidV7Generator', () => {
  it('produces RFC 9562 version 7, variant 10 ids carrying the unix millisecond', () => {
    const at = Date.UTC(2026, 0, 15, 12, 30, 0, 123);
    const ids = new UuidV7Generator(() => at);
    for (let i = 0; i < 1000; i++) {
      const id = i % 2 ? ids.customerId() : ids.newId();
      expect(id).toMatch(UUID_V7);
      expect(timestampOf(id)).toBe(at);
    }
  });

  it('orders ids by time, strictly increasing within one millisecond too, with no repeats', () => {
    let now = 1_767_225_600_000;
    const ids = new UuidV7Generator(() => now);
    const made: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      if (i % 5000 === 0) now += 1;
      made.push(ids.customerId());
    }
    expect(made.every((id, i) => i === 0 || made[i - 1]! < id)).toBe(true);
    expect(new Set(made).size).toBe(made.length);
    // overflowing the per-ms counter borrows the next millisecond rather than breaking order
    expect(timestampOf(made.at(-1)!)).toBeGreaterThanOrEqual(now);
  });

  it('stays monotonic when the clock steps back', () => {
    let now = 1_767_225_600_500;
    const ids = new UuidV7Generator(() => now);
    const before = ids.customerId();
    now -= 400;
    const after = ids.customerId();
    expect(after > before).toBe(true);
  });

  it('is random across generators: two generators at the same instant never collide', () => {
    const at = 1_767_225_600_000;
    const a = new UuidV7Generator(() => at);
    const b = new UuidV7Generator(() => at);
    const all = new Set<string>();
    for (let i = 0; i < 1000; i++) all.add(a.newId()).add(b.newId());
    expect(all.size).toBe(2000);
  });
});

describe('HmacHasher', () => {
  const secrets: Record<string, string> = { acme: 'acme-secret-0123456789', globex: 'globex-secret-9876543210' };
  const hasher = () => new HmacHasher((tenant) => secrets[tenant] ?? '');

  it('derives the documented claim key, the same every time', () => {
    const key = hasher().claimKey('acme', 'email', 'ada@example.com');
    const expected = createHmac('sha256', secrets.acme!).update('email\u0000ada@example.com').digest('base64url');
    expect(key).toBe(expected);
    expect(hasher().claimKey('acme', 'email', 'ada@example.com')).toBe(key);
    expect(key).toMatch(/^[\w-]{43}$/);
    expect(key).not.toContain('ada');
  });

  it('separates tenants, identifier types and the type/value boundary', () => {
    const h = hasher();
    const keys = [
      h.claimKey('acme', 'email', 'ada@example.com'),
      h.claimKey('globex', 'email', 'ada@example.com'),
      h.claimKey('acme', 'userId', 'ada@example.com'),
      h.claimKey('acme', 'ab', 'c'),
      h.claimKey('acme', 'a', 'bc'),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('reads each tenant secret once, and refuses a tenant without one', () => {
    let reads = 0;
    const h = new HmacHasher(() => (reads++, Buffer.from('s3cret')));
    h.claimKey('acme', 'email', 'a@x.io');
    h.claimKey('acme', 'phone', '+33612345678');
    expect(reads).toBe(1);
    expect(() => hasher().claimKey('initech', 'email', 'a@x.io')).toThrow(/initech/);
  });

  it('digests with SHA-256 in base64url', () => {
    expect(hasher().digest('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
  });
});

describe('data keys', () => {
  it('never serialise their material', () => {
    const material = Buffer.alloc(32, 7);
    const key = createDataKey('k-1', material);
    expect(JSON.stringify(key)).toBe('{"keyId":"k-1"}');
    expect(Object.keys(key)).toEqual(['keyId']);
    expect(dataKeyMaterial(key).equals(material)).toBe(true);
  });

  it('reject material of the wrong length', () => {
    expect(() => createDataKey('k-1', Buffer.alloc(16))).toThrow(/32 bytes/);
  });

  it('decrypt what another key object with the same material encrypted (unwrapped from storage)', () => {
    const cipher = new AesGcmCipher();
    const material = Buffer.alloc(32, 3);
    const ct = cipher.encrypt(createDataKey('k-1', material), 'hello', 'aad');
    expect(cipher.decrypt(createDataKey('k-1', material), ct, 'aad')).toBe('hello');
  });

  it('once destroyed can neither encrypt nor decrypt, even if still referenced', () => {
    const cipher = new AesGcmCipher();
    const key = createDataKey('k-1');
    const ct = cipher.encrypt(key, 'hello', 'aad');
    destroyDataKey(key);
    expect(() => cipher.decrypt(key, ct, 'aad')).toThrow(/destroyed/);
    expect(() => cipher.encrypt(key, 'hello', 'aad')).toThrow(/destroyed/);
  });
});
