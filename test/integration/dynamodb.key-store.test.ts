import { randomBytes, randomUUID } from 'node:crypto';
import { GetItemCommand, PutItemCommand, ScanCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AesGcmCipher, dataKeyMaterial } from '../../src/adapters/crypto/node-crypto.js';
import { LocalMasterKey, MasterKeyError, MasterKeyring, type MasterKey } from '../../src/adapters/crypto/master-key.js';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { DynamoDbKeyStore, keyPk } from '../../src/adapters/dynamodb/dynamodb.key-store.js';
import { ensureTables } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { DynamoDbStoreTransfer } from '../../src/adapters/dynamodb/dynamodb.transfer.js';
import { SqliteDatabase } from '../../src/adapters/sqlite/sqlite.database.js';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqlite.event-store.js';
import { SqliteKeyStore } from '../../src/adapters/sqlite/sqlite.key-store.js';
import { SqliteQuarantine } from '../../src/adapters/sqlite/sqlite.quarantine.js';
import { SqliteStoreTransfer } from '../../src/adapters/sqlite/sqlite.transfer.js';
import type { EventStore } from '../../src/application/ports/event-store.port.js';
import type { Quarantine } from '../../src/application/ports/quarantine.port.js';
import { keyStoreContract } from '../contract/key-store.contract.js';
import { domainError } from '../support/domain-error.js';
import { ManualClock } from '../support/harness.js';

// The shared KeyStore contract on DynamoDB Local, then what only a persistent, shared store has:
// restarts, other processes, master key rotation, and what the table itself holds.

const client = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
const tableName = `keys-${randomUUID()}`;
const A = randomBytes(32).toString('base64');
const B = randomBytes(32).toString('base64');
// each store gets its own keyring object, as a restarted process would build from config
const ring = (...keys: string[]): MasterKeyring => {
  const [current, ...previous] = keys.map((k) => LocalMasterKey.fromBase64(k));
  return new MasterKeyring(current!, previous);
};
const store = (keyring = ring(A), more: Partial<ConstructorParameters<typeof DynamoDbKeyStore>[1]> = {}) =>
  new DynamoDbKeyStore(client, { tableName, keyring, ...more });
const cipher = new AesGcmCipher();
const newTenant = (): string => `t-${randomUUID()}`;
const SECRET = '{"email":"ada@example.com"}';
const AAD = 'tenant/customer/event-1';

const rawItem = async (tenant: string, customerId: string): Promise<Record<string, AttributeValue> | undefined> =>
  (await client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: keyPk(tenant, customerId) } }, ConsistentRead: true }))).Item;

const masterKeyError = async (p: Promise<unknown>): Promise<MasterKeyError> => {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof MasterKeyError)) throw new Error(`expected a MasterKeyError, got ${String(error)}`);
  return error;
};

/** A real master key that runs `before` ahead of its next wrap: fixes an interleaving in time. */
const interleaved = (inner: MasterKey, before: () => Promise<void>): MasterKey => ({
  id: inner.id,
  wrap: async (plain, context) => {
    await before();
    return inner.wrap(plain, context);
  },
  unwrap: (wrapped, context) => inner.unwrap(wrapped, context),
});

beforeAll(() => ensureTables(client, { keys: tableName }));
afterAll(() => client.destroy());

keyStoreContract('DynamoDB Local + local master key', () => ({ keys: store(), cipher }));

describe('DynamoDbKeyStore: stand-in keys migrated from the embedded store (c360 migrate --to dynamodb)', () => {
  it('lists them on the key they stand in for, so that destroying that key destroys them', async () => {
    const db = new SqliteDatabase({ path: ':memory:' });
    const tenant = newTenant();
    const source = new SqliteKeyStore(db, { keyring: ring(A) });
    for (const id of ['$quarantine', '$quarantine~local:m1', '$quarantine-2', '$quarantine-2~local:m1']) await source.getOrCreate(tenant, id);
    await source.destroy(tenant, '$quarantine-2');
    const exported = await new SqliteStoreTransfer(db, new SqliteEventStore(db), new SqliteQuarantine(db)).keys(tenant, { limit: 100 });
    db.close();
    // only the key table is written by importKeys
    const target = new DynamoDbStoreTransfer(client, { events: 'unused', keys: tableName, outbox: 'unused' }, {} as EventStore, {} as Quarantine);
    await target.importKeys(tenant, exported.items);

    const keys = store();
    expect(await keys.get(tenant, '$quarantine~local:m1')).not.toBeNull();
    expect(await keys.get(tenant, '$quarantine-2~local:m1')).toBeNull();
    await keys.destroy(tenant, '$quarantine');
    expect(await keys.get(tenant, '$quarantine~local:m1')).toBeNull();
    await expect(keys.getOrCreate(tenant, '$quarantine~local:m1')).rejects.toMatchObject({ code: 'CUSTOMER_NOT_ACTIVE' });
  });

  it('a stand-in created while another process destroys the key it stands in for is destroyed too, and refused', async () => {
    const tenant = newTenant();
    await store().getOrCreate(tenant, '$quarantine');
    // listed on that key, then the other process destroys it before this one's put
    const late = interleaved(LocalMasterKey.fromBase64(A), async () => void (await store().destroy(tenant, '$quarantine')));
    await expect(store(new MasterKeyring(late, [])).getOrCreate(tenant, '$quarantine~local:m1')).rejects.toMatchObject({ code: 'CUSTOMER_NOT_ACTIVE' });
    expect(await rawItem(tenant, '$quarantine~local:m1')).toMatchObject({ destroyed: { BOOL: true } });
    expect((await rawItem(tenant, '$quarantine~local:m1'))?.wrapped).toBeUndefined();
    // a repeated destroy finds the stand-ins on the tombstone
    expect((await rawItem(tenant, '$quarantine'))?.standIns).toEqual({ SS: ['$quarantine~local:m1'] });
  });
});

describe('DynamoDbKeyStore: a stand-in made before stand-ins were listed on their key', () => {
  /** takes a stand-in off its key's list, as the code before the list left it */
  const unlist = async (tenant: string, standIn: string) =>
    client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { pk: { S: keyPk(tenant, '$quarantine') } },
        UpdateExpression: 'DELETE #s :id',
        ExpressionAttributeNames: { '#s': 'standIns' },
        ExpressionAttributeValues: { ':id': { SS: [standIn] } },
      }),
    );

  it('is listed when next loaded, so destroying its key destroys it', async () => {
    const tenant = newTenant();
    await store().getOrCreate(tenant, '$quarantine');
    await store().getOrCreate(tenant, '$quarantine~local:m1');
    await unlist(tenant, '$quarantine~local:m1');
    expect((await rawItem(tenant, '$quarantine'))?.standIns).toBeUndefined();
    // another process (an empty key cache) loads it
    await store().getOrCreate(tenant, '$quarantine~local:m1');
    expect((await rawItem(tenant, '$quarantine'))?.standIns).toEqual({ SS: ['$quarantine~local:m1'] });
    await store().destroy(tenant, '$quarantine');
    expect(await rawItem(tenant, '$quarantine~local:m1')).toMatchObject({ destroyed: { BOOL: true } });
  });

  it('goes when next loaded if its key was destroyed meanwhile, and is refused', async () => {
    const tenant = newTenant();
    await store().getOrCreate(tenant, '$quarantine');
    await store().getOrCreate(tenant, '$quarantine~local:m1');
    await unlist(tenant, '$quarantine~local:m1');
    await store().destroy(tenant, '$quarantine');
    expect((await rawItem(tenant, '$quarantine~local:m1'))?.wrapped).toBeDefined(); // missed by that destroy
    await expect(store().getOrCreate(tenant, '$quarantine~local:m1')).rejects.toMatchObject({ code: 'CUSTOMER_NOT_ACTIVE' });
    expect(await rawItem(tenant, '$quarantine~local:m1')).toMatchObject({ destroyed: { BOOL: true } });
    expect((await rawItem(tenant, '$quarantine~local:m1'))?.wrapped).toBeUndefined();
  });
});

describe('DynamoDbKeyStore across processes and restarts', () => {
  it('separate processes racing to create one customer key end with one key', async () => {
    const tenant = newTenant();
    const got = await Promise.all(Array.from({ length: 6 }, () => store().getOrCreate(tenant, 'c-1')));
    expect(new Set(got.map((k) => k.keyId)).size).toBe(1);
    const ciphertext = cipher.encrypt(got[3]!, SECRET, AAD);
    for (const key of got) expect(cipher.decrypt(key, ciphertext, AAD)).toBe(SECRET);
    expect((await rawItem(tenant, 'c-1'))?.keyId?.S).toBe(got[0]!.keyId);
  });

  it('a key survives a restart and decrypts what the old process encrypted', async () => {
    const tenant = newTenant();
    const ciphertext = cipher.encrypt(await store().getOrCreate(tenant, 'c-1'), SECRET, AAD);
    const restarted = store();
    expect(cipher.decrypt((await restarted.get(tenant, 'c-1'))!, ciphertext, AAD)).toBe(SECRET);
    expect(cipher.decrypt(await restarted.getOrCreate(tenant, 'c-1'), ciphertext, AAD)).toBe(SECRET);
  });

  it('destroyed stays destroyed for every later process, and the item keeps no key material', async () => {
    const tenant = newTenant();
    await store().getOrCreate(tenant, 'c-1');
    const clock = new ManualClock();
    await store(ring(A), { clock }).destroy(tenant, 'c-1');
    const later = store();
    await expect(later.get(tenant, 'c-1')).resolves.toBeNull();
    expect((await domainError(later.getOrCreate(tenant, 'c-1'))).code).toBe('CUSTOMER_NOT_ACTIVE');
    await later.destroy(tenant, 'c-1');
    const item = await rawItem(tenant, 'c-1');
    expect(Object.keys(item!).sort()).toEqual(['customerId', 'destroyed', 'destroyedAt', 'pk', 'tenant']);
    expect(item).toMatchObject({ destroyed: { BOOL: true }, destroyedAt: { N: String(clock.now()) } });
  });

  it("another process's destroy reaches this process's cache within the cache age", async () => {
    const tenant = newTenant();
    const clock = new ManualClock();
    const mine = store(ring(A), { clock, cacheMaxAgeMs: 60_000 });
    await mine.getOrCreate(tenant, 'c-1');
    await store().destroy(tenant, 'c-1');
    // still cached: the erasure flow commits the tombstone first, so no new event can use it
    await expect(mine.get(tenant, 'c-1')).resolves.not.toBeNull();
    clock.advance(60_001);
    await expect(mine.get(tenant, 'c-1')).resolves.toBeNull();
    await expect(mine.getOrCreate(tenant, 'c-1')).rejects.toMatchObject({ code: 'CUSTOMER_NOT_ACTIVE' });
  });

  it('keeps at most cacheSize keys unwrapped, dropping the least recently used', async () => {
    const tenant = newTenant();
    let unwraps = 0;
    const a = LocalMasterKey.fromBase64(A);
    const counting: MasterKey = { id: a.id, wrap: (p, c) => a.wrap(p, c), unwrap: (w, c) => (unwraps++, a.unwrap(w, c)) };
    const keys = store(new MasterKeyring(counting), { cacheSize: 2 });
    for (const id of ['c-1', 'c-2', 'c-3']) await keys.getOrCreate(tenant, id);
    await keys.get(tenant, 'c-3');
    await keys.get(tenant, 'c-2');
    expect(unwraps).toBe(0);
    await keys.get(tenant, 'c-1');
    expect(unwraps).toBe(1);
  });
});

describe('DynamoDbKeyStore: a turn of creations and reads goes together', () => {
  /** a store on a client of its own that records each request's command, transaction size and error */
  const recorded = (keyring = ring(A)) => {
    const own = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
    const sent: [string, number, string?][] = [];
    own.middlewareStack.add(
      (next, context) => async (args) => {
        const entry: [string, number, string?] = [context.commandName ?? '?', (args.input as { TransactItems?: unknown[] }).TransactItems?.length ?? 0];
        sent.push(entry);
        try {
          return await next(args);
        } catch (e) {
          entry.push((e as Error).name);
          throw e;
        }
      },
      { step: 'initialize', name: 'record' },
    );
    return { keys: new DynamoDbKeyStore(own, { tableName, keyring }), sent, close: () => own.destroy() };
  };

  it('creates the keys of one turn with one read and one transaction; a customer erased meanwhile is refused, alone', async () => {
    const tenant = newTenant();
    await store().getOrCreate(tenant, 'c-erased');
    await store().destroy(tenant, 'c-erased');
    const r = recorded();
    try {
      const ids = Array.from({ length: 30 }, (_, i) => `c-${i}`);
      const got = await Promise.all(
        [...ids, 'c-erased'].map((id) =>
          r.keys.getOrCreate(tenant, id).then(
            (k) => k.keyId,
            (e: unknown) => e,
          ),
        ),
      );
      // the erased one's item read as a tombstone: it never reaches the transaction
      expect(r.sent).toEqual([
        ['BatchGetItemCommand', 0],
        ['TransactWriteItemsCommand', 30],
      ]);
      expect(got.at(-1)).toMatchObject({ name: 'DomainError', code: 'CUSTOMER_NOT_ACTIVE' });
      // each key is the one stored, and opens in any other process
      for (const [i, id] of ids.entries()) expect((await store().get(tenant, id))?.keyId).toBe(got[i]);
    } finally {
      r.close();
    }
  });

  it('creations racing another process: the keys it created first win, the rest go in one more transaction', async () => {
    const tenant = newTenant();
    const other = store();
    let theirs: Promise<string[]> | undefined;
    // every wrap of this process waits until the other has created c-3 and c-7: after this one's read, before its transaction
    const late = interleaved(LocalMasterKey.fromBase64(A), () =>
      (theirs ??= Promise.all(['c-3', 'c-7'].map((id) => other.getOrCreate(tenant, id).then((k) => k.keyId)))).then(() => undefined),
    );
    const r = recorded(new MasterKeyring(late, []));
    try {
      const ids = Array.from({ length: 10 }, (_, i) => `c-${i}`);
      const mine = (await Promise.all(ids.map((id) => r.keys.getOrCreate(tenant, id)))).map((k) => k.keyId);
      expect([mine[3], mine[7]]).toEqual(await theirs);
      for (const [i, id] of ids.entries()) expect((await store().get(tenant, id))?.keyId).toBe(mine[i]);
      expect(r.sent).toEqual([
        ['BatchGetItemCommand', 0],
        ['TransactWriteItemsCommand', 10, 'TransactionCanceledException'],
        ['TransactWriteItemsCommand', 8],
      ]);
    } finally {
      r.close();
    }
  });
});

describe('DynamoDbKeyStore: master keys', () => {
  it('rotation: re-wrap under [B, A], after which a store with only B reads every key', async () => {
    const tenant = newTenant();
    const ids = Array.from({ length: 7 }, (_, i) => `c-${i}`);
    const underA = store(ring(A));
    const ciphertexts = new Map<string, string>();
    for (const id of ids) ciphertexts.set(id, cipher.encrypt(await underA.getOrCreate(tenant, id), `${SECRET}${id}`, AAD));
    await underA.destroy(tenant, 'c-6');
    const rotating = store(ring(B, A));

    await expect(rotating.rewrap({ tenant, pageSize: 3 })).resolves.toEqual({ rewrapped: 6, skipped: 0 });
    await expect(rotating.rewrap({ tenant, pageSize: 3 })).resolves.toEqual({ rewrapped: 0, skipped: 0 });

    const onlyB = store(ring(B));
    for (const id of ids.slice(0, 6)) {
      expect(cipher.decrypt((await onlyB.get(tenant, id))!, ciphertexts.get(id)!, AAD)).toBe(`${SECRET}${id}`);
      expect((await rawItem(tenant, id))?.masterKeyId?.S).toBe(LocalMasterKey.fromBase64(B).id);
    }
    await expect(onlyB.get(tenant, 'c-6')).resolves.toBeNull();
  });

  it('rewrap never resurrects a key destroyed while it was working on it', async () => {
    const tenant = newTenant();
    await store(ring(A)).getOrCreate(tenant, 'c-1');
    const b = LocalMasterKey.fromBase64(B);
    const erasing = interleaved(b, async () => {
      await store().destroy(tenant, 'c-1');
    });
    const rotating = store(new MasterKeyring(erasing, [LocalMasterKey.fromBase64(A)]));
    await expect(rotating.rewrap({ tenant })).resolves.toEqual({ rewrapped: 0, skipped: 1 });
    expect((await rawItem(tenant, 'c-1'))?.wrapped).toBeUndefined();
    await expect(store(ring(B, A)).get(tenant, 'c-1')).resolves.toBeNull();
  });

  it('a key under a master key the keyring lacks is a clear error naming that key, not an erasure', async () => {
    const tenant = newTenant();
    await store(ring(A)).getOrCreate(tenant, 'c-1');
    const stranger = store(ring(B));
    const aId = LocalMasterKey.fromBase64(A).id;
    for (const call of [() => stranger.get(tenant, 'c-1'), () => stranger.getOrCreate(tenant, 'c-1'), () => stranger.rewrap({ tenant })]) {
      const error = await masterKeyError(call());
      expect(error.code).toBe('MASTER_KEY_UNKNOWN');
      expect(error.message).toContain(aId);
    }
    // nothing was overwritten: the rightful keyring still reads the key
    await expect(store(ring(A)).get(tenant, 'c-1')).resolves.not.toBeNull();
  });

  it('destroys a key under a master key the keyring lacks without opening it (an erasure needs no key material)', async () => {
    const tenant = newTenant();
    await store(ring(A)).getOrCreate(tenant, 'c-1');
    await expect(store(ring(B)).destroy(tenant, 'c-1')).resolves.toBe(true);
    expect((await rawItem(tenant, 'c-1'))?.wrapped).toBeUndefined();
    await expect(store(ring(A)).get(tenant, 'c-1')).resolves.toBeNull();
    await expect(store(ring(B)).destroy(tenant, 'c-1')).resolves.toBe(false);
  });

  it("a wrapped key copied onto another customer's item does not open", async () => {
    const tenant = newTenant();
    await store().getOrCreate(tenant, 'c-1');
    const item = await rawItem(tenant, 'c-1');
    await client.send(new PutItemCommand({ TableName: tableName, Item: { ...item, pk: { S: keyPk(tenant, 'c-2') }, customerId: { S: 'c-2' } } }));
    expect((await masterKeyError(store().get(tenant, 'c-2'))).code).toBe('WRAPPED_KEY_UNREADABLE');
  });

  it('the table never holds a data key in the clear, in any encoding', async () => {
    const tenant = newTenant();
    const keys = store();
    const materials = [];
    for (const id of ['c-1', 'c-2', 'c-3']) materials.push(dataKeyMaterial(await keys.getOrCreate(tenant, id)));
    await store(ring(B, A)).rewrap({ tenant });
    const { Items } = await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
    const dump = JSON.stringify(Items);
    expect(dump).toContain(tenant);
    for (const material of materials) {
      expect(dump).not.toContain(material.toString('base64').slice(0, 24));
      expect(dump).not.toContain(material.toString('base64url').slice(0, 24));
      expect(dump.toLowerCase()).not.toContain(material.toString('hex').slice(0, 24));
    }
  });
});

describe('DynamoDbKeyStore.masterKeyUse (the start check of the server and the CLI)', () => {
  const own = `keys-${randomUUID()}`;
  const on = (keyring: MasterKeyring) => new DynamoDbKeyStore(client, { tableName: own, keyring });
  beforeAll(() => ensureTables(client, { keys: own }));

  it('names the master keys a sample of live keys is wrapped by, and which of them the keyring lacks, opening none', async () => {
    const tenant = newTenant();
    for (const id of ['c-1', 'c-2', 'c-3']) await on(ring(A)).getOrCreate(tenant, id);
    await on(ring(B, A)).getOrCreate(tenant, 'c-4');
    await on(ring(A)).destroy(tenant, 'c-3');
    const [aId, bId] = [LocalMasterKey.fromBase64(A).id, LocalMasterKey.fromBase64(B).id];
    await expect(on(ring(B)).masterKeyUse()).resolves.toEqual({ inUse: [aId, bId].sort(), unknown: [aId], keyring: [bId], complete: true });
    await expect(on(ring(B, A)).masterKeyUse()).resolves.toMatchObject({ unknown: [], complete: true });
    // a sample smaller than the table says it is one
    await expect(on(ring(B, A)).masterKeyUse({ sample: 2 })).resolves.toMatchObject({ complete: false });
  });
});
