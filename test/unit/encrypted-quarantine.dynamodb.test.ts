import { randomBytes, randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AesGcmCipher } from '../../src/adapters/crypto/node-crypto.js';
import { EncryptedQuarantine } from '../../src/adapters/crypto/encrypted-quarantine.js';
import { LocalMasterKey, MasterKeyring } from '../../src/adapters/crypto/master-key.js';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { DynamoDbKeyStore } from '../../src/adapters/dynamodb/dynamodb.key-store.js';
import { DynamoDbQuarantine } from '../../src/adapters/dynamodb/dynamodb.quarantine.js';
import { ensureTables } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { quarantineContract } from '../contract/quarantine.contract.js';
import { quarantineEntry } from '../support/builders.js';

// EncryptedQuarantine as production would run it: over DynamoDbQuarantine, with the quarantine
// key in DynamoDbKeyStore wrapped by a master key, on DynamoDB Local. Kept with the other
// EncryptedQuarantine tests; it needs the DynamoDB Local of the global setup.

const client = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
const tables = { quarantine: `quarantine-enc-${randomUUID()}`, keys: `keys-enc-${randomUUID()}` };
const keyring = new MasterKeyring(LocalMasterKey.fromBase64(Buffer.alloc(32, 7).toString('base64')));
const make = () =>
  new EncryptedQuarantine(
    new DynamoDbQuarantine(client, { tableName: tables.quarantine }),
    new DynamoDbKeyStore(client, { tableName: tables.keys, keyring }),
    new AesGcmCipher(),
  );

beforeAll(() => ensureTables(client, tables));
afterAll(() => client.destroy());

quarantineContract('encrypted over DynamoDB Local', make);

describe('EncryptedQuarantine on DynamoDB Local', () => {
  it('leaves no payload value in the clear in any item of the quarantine or key table', async () => {
    const values = ['Grace.Hopper@Example.org', 'Grace Hopper', '+1 202 555 0143', '1 Navy Yard, Washington'];
    const q = make();
    const entry = quarantineEntry('acme', `q-${randomUUID()}`, {
      payload: { type: 'identify', traits: { email: values[0], name: values[1], phone: values[2], address: values[3] } },
    });
    await q.put(entry);
    await expect(q.get('acme', entry.id)).resolves.toEqual(entry);
    for (const table of Object.values(tables)) {
      const { Items = [] } = await client.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
      expect(Items.length).toBeGreaterThan(0);
      const dump = JSON.stringify(Items).toLowerCase();
      for (const v of values) expect(dump).not.toContain(v.toLowerCase());
    }
  });
});

describe('EncryptedQuarantine on DynamoDB Local, a payload sealing makes larger than an item', () => {
  it('keeps a 1 MB payload gzip cannot shrink, sealed, and reads it back whole', async () => {
    const q = make();
    const text = randomBytes(750_000).toString('base64');
    const entry = quarantineEntry('acme', `q-${randomUUID()}`, { payload: { bytes: text.length, kept: text.length, text } });
    await q.put(entry);
    await expect(q.get('acme', entry.id)).resolves.toEqual(entry);
  });
});
