import { describe, expect, it } from 'vitest';
import { AesGcmCipher } from '../../src/adapters/crypto/node-crypto.js';
import { EncryptedQuarantine, QUARANTINE_KEY_ID } from '../../src/adapters/crypto/encrypted-quarantine.js';
import { MemoryKeyStore } from '../../src/adapters/memory/memory.key-store.js';
import { MemoryQuarantine } from '../../src/adapters/memory/memory.quarantine.js';
import { quarantineContract } from '../contract/quarantine.contract.js';
import { quarantineEntry } from '../support/builders.js';

// Quarantined payloads under encryption: the shared contract still holds, the store underneath
// holds no payload value in the clear, and a destroyed or misplaced key degrades one payload to
// null with a flag, never the whole quarantine to a crash.

quarantineContract('encrypted over memory', () => new EncryptedQuarantine(new MemoryQuarantine(), new MemoryKeyStore(), new AesGcmCipher()));

const PERSONAL = {
  email: 'Ada.Lovelace@Example.com',
  name: 'Ada Lovelace',
  phone: '+44 20 7946 0958',
  address: '12 St James Square, London',
  ip: '203.0.113.77',
};

const personalCall = (messageId: string) => ({
  type: 'identify',
  messageId,
  userId: 'u-ada',
  traits: { email: PERSONAL.email, name: PERSONAL.name, phone: PERSONAL.phone, address: { street: PERSONAL.address } },
  context: { ip: PERSONAL.ip },
});

const setup = () => {
  const inner = new MemoryQuarantine();
  const keys = new MemoryKeyStore();
  const cipher = new AesGcmCipher();
  return { inner, keys, cipher, q: new EncryptedQuarantine(inner, keys, cipher) };
};

describe('EncryptedQuarantine', () => {
  it('leaves no payload value in the clear in the store underneath, in any casing, and gives it back on read', async () => {
    const { inner, q } = setup();
    const small = quarantineEntry('acme', 'q-1', { payload: personalCall('m-1') });
    // big enough to be compressed before encryption
    const big = quarantineEntry('acme', 'q-2', { payload: { batch: Array.from({ length: 300 }, (_, i) => personalCall(`m-${i}`)) } });
    await q.put(small);
    await q.put(big);
    const dump = JSON.stringify(inner.dump()).toLowerCase();
    for (const value of Object.values(PERSONAL)) expect(dump).not.toContain(value.toLowerCase());
    expect(dump).not.toContain('u-ada');
    // the reason stays readable for operators: code and field path
    expect(dump).toContain('validation_failed');
    expect(dump).toContain('traits.email');
    await expect(q.get('acme', 'q-1')).resolves.toEqual(small);
    await expect(q.get('acme', 'q-2')).resolves.toEqual(big);
    expect(JSON.stringify(inner.dump()).length).toBeLessThan(JSON.stringify(big.payload).length / 4);
  });

  it('reads every payload of a tenant as null, flagged, once its quarantine key is destroyed; other tenants are untouched', async () => {
    const { keys, q } = setup();
    for (const id of ['q-1', 'q-2']) await q.put(quarantineEntry('acme', id, { payload: personalCall(id) }));
    await q.put(quarantineEntry('globex', 'q-1', { payload: personalCall('g') }));
    await keys.destroy('acme', QUARANTINE_KEY_ID);

    const gone = { ...quarantineEntry('acme', 'q-1'), payload: null, payloadUnavailable: 'key-destroyed' };
    await expect(q.get('acme', 'q-1')).resolves.toEqual(gone);
    const page = await q.list('acme', { limit: 10 });
    expect(page.entries.map((e) => [e.id, e.payload, (e as { payloadUnavailable?: string }).payloadUnavailable, e.reason.code])).toEqual([
      ['q-1', null, 'key-destroyed', 'VALIDATION_FAILED'],
      ['q-2', null, 'key-destroyed', 'VALIDATION_FAILED'],
    ]);
    await expect(q.get('globex', 'q-1')).resolves.toMatchObject({ payload: personalCall('g') });
    // replay bookkeeping still works on the entry
    await q.markReplayed('acme', 'q-2', 5);
    await expect(q.get('acme', 'q-2')).resolves.toMatchObject({ status: 'replayed', payload: null });
  });

  it('refuses new payloads under a destroyed key with an actionable error, and goes on under a new key id', async () => {
    const { inner, keys, cipher, q } = setup();
    await q.put(quarantineEntry('acme', 'q-1', { payload: personalCall('m-1') }));
    await keys.destroy('acme', QUARANTINE_KEY_ID);
    await expect(q.put(quarantineEntry('acme', 'q-2'))).rejects.toThrow(/under key \$quarantine: .*configure a new quarantine key id/);

    const next = new EncryptedQuarantine(inner, keys, cipher, { keyId: '$quarantine-2' });
    const entry = quarantineEntry('acme', 'q-3', { payload: personalCall('m-3') });
    await next.put(entry);
    expect((await next.list('acme', { limit: 10 })).entries.map((e) => [e.id, e.payload === null])).toEqual([
      ['q-1', true],
      ['q-3', false],
    ]);
    await expect(next.get('acme', 'q-3')).resolves.toEqual(entry);
  });

  it('flags a payload moved onto another entry or altered as tampered, without failing the page', async () => {
    const { inner, q } = setup();
    await q.put(quarantineEntry('acme', 'q-1', { payload: personalCall('m-1') }));
    await q.put(quarantineEntry('acme', 'q-2', { payload: { other: true } }));
    const sealed = (await inner.get('acme', 'q-1'))!.payload as { ct: string };
    // the ciphertext of q-1 copied onto q-2: the AAD binds it to q-1
    await inner.put({ ...(await inner.get('acme', 'q-2'))!, payload: sealed });
    const page = await q.list('acme', { limit: 10 });
    expect(page.entries.map((e) => [e.id, (e as { payloadUnavailable?: string }).payloadUnavailable])).toEqual([
      ['q-1', undefined],
      ['q-2', 'tampered'],
    ]);
    expect(page.entries[0]!.payload).toEqual(personalCall('m-1'));
  });

  it('hands back an entry stored before encryption was switched on as it was', async () => {
    const { inner, q } = setup();
    const legacy = quarantineEntry('acme', 'q-old', { payload: { type: 'track', event: 'x' } });
    await inner.put(legacy);
    await expect(q.get('acme', 'q-old')).resolves.toEqual(legacy);
  });

  it('keeps an undefined payload undefined', async () => {
    const { q } = setup();
    await q.put(quarantineEntry('acme', 'q-1', { payload: undefined }));
    expect((await q.get('acme', 'q-1'))!.payload).toBeUndefined();
  });
});

describe('EncryptedQuarantine under a keyring that lacks the quarantine key’s master key', async () => {
  const { SqliteDatabase } = await import('../../src/adapters/sqlite/sqlite.database.js');
  const { SqliteKeyStore } = await import('../../src/adapters/sqlite/sqlite.key-store.js');
  const { LocalMasterKey, MasterKeyring } = await import('../../src/adapters/crypto/master-key.js');
  const { randomBytes } = await import('node:crypto');

  it('keeps new payloads under a stand-in key, lists the old ones as key-unreadable, and refuses to hand one out alone', async () => {
    const db = new SqliteDatabase({ path: ':memory:' });
    const inner = new MemoryQuarantine();
    const cipher = new AesGcmCipher();
    const a = new LocalMasterKey(randomBytes(32));
    const b = new LocalMasterKey(randomBytes(32));
    const under = (ring: InstanceType<typeof MasterKeyring>) => new EncryptedQuarantine(inner, new SqliteKeyStore(db, { keyring: ring }), cipher);
    const old = quarantineEntry('acme', 'q-old', { payload: personalCall('m-old') });
    await under(new MasterKeyring(a)).put(old);

    const wrong = under(new MasterKeyring(b));
    const kept = quarantineEntry('acme', 'q-new', { payload: personalCall('m-new') });
    await wrong.put(kept);
    expect((await inner.get(kept.tenant, 'q-new'))?.payload).toMatchObject({ k: `${QUARANTINE_KEY_ID}~${a.id}` });
    const listed = (await wrong.list(old.tenant, { limit: 10 })).entries;
    expect(listed.map((e) => [e.id, e.payloadUnavailable ?? 'readable'])).toEqual([
      ['q-old', 'key-unreadable'],
      ['q-new', 'readable'],
    ]);
    expect(listed[1]!.payload).toEqual(kept.payload);
    await expect(wrong.get(old.tenant, 'q-old')).rejects.toMatchObject({ code: 'MASTER_KEY_UNKNOWN' });
    // with the first master key back as a previous key, both read
    const fixed = under(new MasterKeyring(b, [a]));
    expect((await fixed.list(old.tenant, { limit: 10 })).entries.map((e) => e.payload)).toEqual([old.payload, kept.payload]);
    db.close();
  });

  it('shreds the payloads kept under the stand-in key too when the quarantine key is destroyed', async () => {
    const db = new SqliteDatabase({ path: ':memory:' });
    const inner = new MemoryQuarantine();
    const cipher = new AesGcmCipher();
    const a = new LocalMasterKey(randomBytes(32));
    const b = new LocalMasterKey(randomBytes(32));
    const keysUnder = (ring: InstanceType<typeof MasterKeyring>) => new SqliteKeyStore(db, { keyring: ring });
    await new EncryptedQuarantine(inner, keysUnder(new MasterKeyring(a)), cipher).put(quarantineEntry('acme', 'q-old', { payload: personalCall('m-old') }));
    await new EncryptedQuarantine(inner, keysUnder(new MasterKeyring(b)), cipher).put(quarantineEntry('acme', 'q-new', { payload: personalCall('m-new') }));
    expect((await inner.get('acme', 'q-new'))?.payload).toMatchObject({ k: `${QUARANTINE_KEY_ID}~${a.id}` });

    // destroyed by a process holding both master keys: neither payload opens any more
    const keys = keysUnder(new MasterKeyring(b, [a]));
    await keys.destroy('acme', QUARANTINE_KEY_ID);
    const q = new EncryptedQuarantine(inner, keys, cipher);
    expect((await q.list('acme', { limit: 10 })).entries.map((e) => [e.id, e.payload, e.payloadUnavailable])).toEqual([
      ['q-old', null, 'key-destroyed'],
      ['q-new', null, 'key-destroyed'],
    ]);
    expect(await keys.get('acme', `${QUARANTINE_KEY_ID}~${a.id}`)).toBeNull();
    // and no new stand-in is made for it: a refused payload fails loudly, as under the destroyed key
    await expect(new EncryptedQuarantine(inner, keysUnder(new MasterKeyring(b)), cipher).put(quarantineEntry('acme', 'q-3'))).rejects.toThrow(
      /configure a new quarantine key id/,
    );
    db.close();
  });
});
