import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { generateLocalMasterKey, LocalMasterKey, MasterKeyError, MasterKeyring } from '../../src/adapters/crypto/master-key.js';

const CONTEXT = 'c360-data-key/t-1/c-1';

const failure = async (p: Promise<unknown>): Promise<MasterKeyError> => {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof MasterKeyError)) throw new Error(`expected a MasterKeyError, got ${String(error)}`);
  return error;
};

describe('LocalMasterKey', () => {
  it('wraps a data key so only the same master key, with the same context, unwraps it', async () => {
    const master = new LocalMasterKey(randomBytes(32));
    const plain = randomBytes(32);
    const wrapped = await master.wrap(plain, CONTEXT);
    expect(await master.unwrap(wrapped, CONTEXT)).toEqual(plain);
    // random IVs: wrapping twice never gives the same text
    expect(await master.wrap(plain, CONTEXT)).not.toBe(wrapped);

    const other = new LocalMasterKey(randomBytes(32));
    expect((await failure(other.unwrap(wrapped, CONTEXT))).code).toBe('WRAPPED_KEY_UNREADABLE');
    // the context is authenticated: a wrapped key cannot move to another customer or tenant
    for (const moved of ['c360-data-key/t-1/c-2', 'c360-data-key/t-2/c-1', '']) {
      const error = await failure(master.unwrap(wrapped, moved));
      expect(error.code).toBe('WRAPPED_KEY_UNREADABLE');
      expect(error.message).toContain(master.id);
    }
  });

  it('never shows the plain key in the wrapped text, in any usual encoding', async () => {
    const master = new LocalMasterKey(randomBytes(32));
    const plain = randomBytes(32);
    const wrapped = await master.wrap(plain, CONTEXT);
    expect(wrapped).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    for (const encoding of ['base64', 'base64url', 'hex'] as const) expect(wrapped).not.toContain(plain.toString(encoding).slice(0, 16));
  });

  it('detects a tampered or malformed wrapped key', async () => {
    const master = new LocalMasterKey(randomBytes(32));
    const wrapped = await master.wrap(randomBytes(32), CONTEXT);
    const parts = wrapped.split('.');
    for (const i of [1, 2, 3]) {
      const changed = [...parts];
      const p = changed[i]!;
      changed[i] = (p[0] === 'A' ? 'B' : 'A') + p.slice(1);
      expect((await failure(master.unwrap(changed.join('.'), CONTEXT))).code).toBe('WRAPPED_KEY_UNREADABLE');
    }
    for (const bad of ['', 'v1.a.b', `v2.${parts.slice(1).join('.')}`, `${parts.slice(0, 3).join('.')}.${parts[3]!.slice(0, 8)}`]) {
      expect((await failure(master.unwrap(bad, CONTEXT))).code).toBe('WRAPPED_KEY_UNREADABLE');
    }
  });

  it('has a short id that fingerprints the key, the same in every process, and shows no key material', () => {
    const text = generateLocalMasterKey();
    const a = LocalMasterKey.fromBase64(text);
    const again = LocalMasterKey.fromBase64(` ${text}\n`);
    const asUrl = LocalMasterKey.fromBase64(Buffer.from(text, 'base64').toString('base64url'));
    expect(a.id).toMatch(/^local:[0-9a-f]{16}$/);
    expect(again.id).toBe(a.id);
    expect(asUrl.id).toBe(a.id);
    expect(LocalMasterKey.fromBase64(generateLocalMasterKey()).id).not.toBe(a.id);
    const key = Buffer.from(text, 'base64');
    for (const shown of [JSON.stringify(a), inspect(a, { showHidden: true, depth: 5 }), String(a)]) {
      expect(shown).not.toContain(text.slice(0, 16));
      expect(shown).not.toContain(key.toString('hex').slice(0, 16));
    }
  });

  it('refuses a key that is not 32 bytes of base64, naming the setting', () => {
    const short = randomBytes(16).toString('base64');
    for (const bad of [short, 'not base64 at all!', '', randomBytes(33).toString('base64')]) {
      let error: unknown;
      try {
        LocalMasterKey.fromBase64(bad, 'C360_MASTER_KEY');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(MasterKeyError);
      expect(error).toMatchObject({ code: 'MASTER_KEY_INVALID', message: expect.stringContaining('C360_MASTER_KEY') });
    }
  });

  it('says a missing or empty key is missing, naming the setting, rather than failing on its text', () => {
    const unset = process.env.C360_TEST_UNSET_MASTER_KEY;
    for (const [bad, said] of [
      [unset, 'is missing (got undefined'],
      [null, 'is missing (got null'],
      [' \n', 'is empty'],
    ] as const) {
      let error: unknown;
      try {
        LocalMasterKey.fromBase64(bad as unknown as string, 'MASTER_KEY');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(MasterKeyError);
      expect(error).toMatchObject({ code: 'MASTER_KEY_INVALID', message: expect.stringContaining(`MASTER_KEY ${said}`) });
    }
  });
});

describe('MasterKeyring', () => {
  const a = new LocalMasterKey(randomBytes(32));
  const b = new LocalMasterKey(randomBytes(32));

  it('wraps with the current key and unwraps with whichever key the wrap names', async () => {
    const plain = randomBytes(32);
    const underA = await new MasterKeyring(a).wrap(plain, CONTEXT);
    expect(underA.masterKeyId).toBe(a.id);
    const rotated = new MasterKeyring(b, [a]);
    const underB = await rotated.wrap(plain, CONTEXT);
    expect(underB.masterKeyId).toBe(b.id);
    expect(await rotated.unwrap(underA, CONTEXT)).toEqual(plain);
    expect(await rotated.unwrap(underB, CONTEXT)).toEqual(plain);
    expect(rotated.ids).toEqual([b.id, a.id]);
  });

  it('names the missing master key when a wrap comes from a key it does not hold', async () => {
    const underA = await new MasterKeyring(a).wrap(randomBytes(32), CONTEXT);
    const error = await failure(new MasterKeyring(b).unwrap(underA, CONTEXT));
    expect(error.code).toBe('MASTER_KEY_UNKNOWN');
    expect(error.message).toContain(a.id);
    expect(error.details).toMatchObject({ masterKeyId: a.id });
  });

  it('refuses the same master key twice', () => {
    expect(() => new MasterKeyring(a, [b, a])).toThrow(MasterKeyError);
  });
});
