import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
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

  // text as ingest and the tools hand it over: ASCII, any Unicode, and UTF-16 code units alone
  // (a lone surrogate, written as U+FFFD by both paths)
  const anyText = (maxLength: number) =>
    fc.oneof(
      fc.string({ maxLength }),
      fc.string({ unit: 'grapheme', maxLength }),
      fc.string({ unit: 'binary', maxLength }),
      fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), maxLength: 4 }),
    );
  // past the hasher's buffer (16 KiB of UTF-8): taken by createHmac, which must agree too
  const longText = fc.tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }), fc.integer({ min: 5_000, max: 20_000 })).map(([s, n]) => s.repeat(n));
  const secret = fc.oneof(
    fc.string({ minLength: 1, maxLength: 100 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }),
    fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.from(b)),
    fc.constantFrom(64, 65, 63, 32).map((n) => Buffer.alloc(n, 0xa5)),
  );

  it('derives the same claim key as createHmac for any secret, tenant, type and value', () => {
    const seen = { longSecret: 0, blockSecret: 0, emptyValue: 0, nonAscii: 0, buffered: 0, general: 0, tenantChanged: 0 };
    fc.assert(
      fc.property(
        fc.array(fc.tuple(secret, fc.string({ maxLength: 8 })), { minLength: 1, maxLength: 3 }),
        fc.array(
          fc.tuple(
            fc.nat(),
            fc.oneof(fc.constantFrom('email', 'phone', '$payload'), anyText(12)),
            fc.oneof({ weight: 8, arbitrary: anyText(200) }, { weight: 1, arbitrary: longText }),
          ),
          { minLength: 1, maxLength: 6 },
        ),
        (tenants, messages) => {
          const secrets = new Map(tenants.map(([s, t]) => [t, s]));
          const h = new HmacHasher((t) => secrets.get(t)!);
          const names = [...secrets.keys()];
          let last: string | undefined;
          for (const [pick, type, value] of messages) {
            const tenant = names[pick % names.length]!;
            if (last !== undefined && last !== tenant) seen.tenantChanged++;
            last = tenant;
            const s = secrets.get(tenant)!;
            const bytes = Buffer.byteLength(s);
            if (bytes > 64) seen.longSecret++;
            if (bytes === 64) seen.blockSecret++;
            if (value === '') seen.emptyValue++;
            if (/[\u0080-\uffff]/.test(value)) seen.nonAscii++;
            if ((type.length + 1 + value.length) * 3 <= 16 * 1024) seen.buffered++;
            else seen.general++;
            const expected = createHmac('sha256', typeof s === 'string' ? Buffer.from(s, 'utf8') : s)
              .update(`${type}\u0000${value}`, 'utf8')
              .digest('base64url');
            expect(h.claimKey(tenant, type, value)).toBe(expected);
          }
        },
      ),
      { numRuns: 400 },
    );
    // not vacuous: the pads' edge cases and both paths were met, the reusable buffer's most often
    expect(seen.longSecret).toBeGreaterThan(20);
    expect(seen.blockSecret).toBeGreaterThan(0);
    expect(seen.emptyValue).toBeGreaterThan(0);
    expect(seen.nonAscii).toBeGreaterThan(50);
    expect(seen.general).toBeGreaterThan(5);
    // the pads kept in the hasher's buffers are changed with the tenant
    expect(seen.tenantChanged).toBeGreaterThan(50);
    expect(seen.buffered).toBeGreaterThan(seen.general * 5);
  });

  it('keeps a key right after a longer message, and no value in its buffer once hashed', () => {
    const h = hasher();
    const long = h.claimKey('acme', 'email', `${'x'.repeat(3000)}@example.com`);
    const short = h.claimKey('acme', 'email', 'a@x.io');
    expect(short).toBe(createHmac('sha256', secrets.acme!).update('email\u0000a@x.io').digest('base64url'));
    expect(long).toBe(
      createHmac('sha256', secrets.acme!)
        .update(`email\u0000${'x'.repeat(3000)}@example.com`)
        .digest('base64url'),
    );
    const buffer = (h as unknown as { inner: Buffer }).inner;
    expect(buffer.subarray(64).every((b) => b === 0)).toBe(true);
  });

  it('digests as createHash does, for any text', () => {
    fc.assert(
      fc.property(fc.oneof(anyText(300), longText), (text) => {
        expect(hasher().digest(text)).toBe(createHash('sha256').update(text, 'utf8').digest('base64url'));
      }),
      { numRuns: 300 },
    );
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
