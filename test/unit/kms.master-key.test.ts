import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KmsMasterKey, kmsEncryptionContext } from '../../src/adapters/crypto/kms.master-key.js';
import { MasterKeyError, MasterKeyring } from '../../src/adapters/crypto/master-key.js';

// No KMS emulator exists here, so a small stand-in for KMS's JSON protocol (awsJson1_1: POST /
// with X-Amz-Target TrentService.Encrypt / TrentService.Decrypt) runs on 127.0.0.1, and the real
// SDK client talks to it over HTTP. Like KMS, it authenticates the EncryptionContext (as AES-GCM
// AAD) and puts the key's ARN inside the ciphertext blob. This is not real KMS: IAM, grants and
// key policies are not exercised.

const ARN = (n: number) => `arn:aws:kms:us-east-1:000000000000:key/${n}0000000-0000-4000-8000-000000000000`;
const keys = new Map<string, { material: Buffer; enabled: boolean }>();
const aliases = new Map<string, string>();
let calls: { target: string; body: Record<string, unknown> }[] = [];

const canonical = (ctx: unknown): Buffer =>
  Buffer.from(JSON.stringify(Object.entries((ctx ?? {}) as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : 1))));
const resolve = (id: unknown): string | undefined => (typeof id === 'string' ? (aliases.get(id) ?? (keys.has(id) ? id : undefined)) : undefined);

type Answer = { status: number; body: Record<string, unknown> };
const fault = (type: string, message: string): Answer => ({ status: 400, body: { __type: type, message } });

const encrypt = (b: Record<string, unknown>): Answer => {
  const arn = resolve(b.KeyId);
  const key = arn ? keys.get(arn) : undefined;
  if (!arn || !key) return fault('NotFoundException', `Key '${String(b.KeyId)}' does not exist`);
  if (!key.enabled) return fault('DisabledException', `${arn} is disabled.`);
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key.material, iv).setAAD(canonical(b.EncryptionContext));
  const ct = Buffer.concat([c.update(Buffer.from(String(b.Plaintext), 'base64')), c.final()]);
  const blob = Buffer.concat([Buffer.from([arn.length]), Buffer.from(arn), iv, c.getAuthTag(), ct]);
  return { status: 200, body: { CiphertextBlob: blob.toString('base64'), KeyId: arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' } };
};

const decrypt = (b: Record<string, unknown>): Answer => {
  const blob = Buffer.from(String(b.CiphertextBlob), 'base64');
  const arn = blob.subarray(1, 1 + blob[0]!).toString();
  const key = keys.get(arn);
  if (!key) return fault('InvalidCiphertextException', 'unknown key in blob');
  if (b.KeyId !== undefined && resolve(b.KeyId) !== arn) return fault('IncorrectKeyException', 'the ciphertext was not encrypted under the given key');
  if (!key.enabled) return fault('DisabledException', `${arn} is disabled.`);
  const at = 1 + blob[0]!;
  try {
    const d = createDecipheriv('aes-256-gcm', key.material, blob.subarray(at, at + 12)).setAAD(canonical(b.EncryptionContext));
    d.setAuthTag(blob.subarray(at + 12, at + 28));
    const plain = Buffer.concat([d.update(blob.subarray(at + 28)), d.final()]);
    return { status: 200, body: { Plaintext: plain.toString('base64'), KeyId: arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' } };
  } catch {
    return fault('InvalidCiphertextException', '');
  }
};

const server: Server = createServer((req, res) => {
  let text = '';
  req.on('data', (c: Buffer) => (text += c.toString('utf8')));
  req.on('end', () => {
    const target = String(req.headers['x-amz-target']);
    const body = JSON.parse(text || '{}') as Record<string, unknown>;
    calls.push({ target, body });
    const answer =
      target === 'TrentService.Encrypt' ? encrypt(body) : target === 'TrentService.Decrypt' ? decrypt(body) : fault('UnknownOperationException', target);
    res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(answer.body));
  });
});

let kms: KMSClient;
const CONTEXT = 'c360-data-key/t-1/c-1';

const failure = async (p: Promise<unknown>): Promise<MasterKeyError> => {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof MasterKeyError)) throw new Error(`expected a MasterKeyError, got ${String(error)}`);
  return error;
};

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  kms = new KMSClient({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, maxAttempts: 1 });
});
afterAll(async () => {
  kms.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  calls = [];
  keys.clear();
  aliases.clear();
  keys.set(ARN(1), { material: randomBytes(32), enabled: true });
  keys.set(ARN(2), { material: randomBytes(32), enabled: true });
  aliases.set('alias/c360', ARN(1));
});

describe('KmsMasterKey (against a local KMS stand-in, not real KMS)', () => {
  it('wraps through KMS Encrypt and unwraps through Decrypt, with { tenant, customerId } as EncryptionContext', async () => {
    const master = new KmsMasterKey(kms, 'alias/c360');
    const plain = randomBytes(32);
    const wrapped = await master.wrap(plain, CONTEXT);
    expect(wrapped).not.toContain(plain.toString('base64url'));
    expect(await master.unwrap(wrapped, CONTEXT)).toEqual(plain);
    expect(calls.map((c) => [c.target, c.body.EncryptionContext])).toEqual([
      ['TrentService.Encrypt', { tenant: 't-1', customerId: 'c-1' }],
      ['TrentService.Decrypt', { tenant: 't-1', customerId: 'c-1' }],
    ]);
    expect(calls[0]!.body.KeyId).toBe('alias/c360');
    // Decrypt names the key KMS actually used, not the alias
    expect(calls[1]!.body.KeyId).toBe(ARN(1));
    expect(master.id).toBe('kms:alias/c360');
  });

  it('refuses a wrapped key moved to another customer or tenant: KMS authenticates the context', async () => {
    const master = new KmsMasterKey(kms, ARN(1));
    const wrapped = await master.wrap(randomBytes(32), CONTEXT);
    for (const moved of ['c360-data-key/t-1/c-2', 'c360-data-key/t-2/c-1']) {
      const error = await failure(master.unwrap(wrapped, moved));
      expect(error.code).toBe('WRAPPED_KEY_UNREADABLE');
      expect(error.message).toMatch(/InvalidCiphertextException/);
    }
    expect(calls.filter((c) => c.target === 'TrentService.Decrypt')).toHaveLength(2);
  });

  it('still unwraps older wraps after the alias was pointed at a new key, and works in a keyring', async () => {
    const master = new KmsMasterKey(kms, 'alias/c360');
    const ring = new MasterKeyring(master);
    const plain = randomBytes(32);
    const old = await ring.wrap(plain, CONTEXT);
    aliases.set('alias/c360', ARN(2));
    const fresh = await ring.wrap(plain, CONTEXT);
    expect(calls.at(-1)!.target).toBe('TrentService.Encrypt');
    expect(await ring.unwrap(old, CONTEXT)).toEqual(plain);
    expect(await ring.unwrap(fresh, CONTEXT)).toEqual(plain);
    expect(calls.filter((c) => c.target === 'TrentService.Decrypt').map((c) => c.body.KeyId)).toEqual([ARN(1), ARN(2)]);
  });

  it('turns an unknown or disabled key into MASTER_KEY_INVALID naming the variable to check', async () => {
    const missing = await failure(new KmsMasterKey(kms, 'alias/nope').wrap(randomBytes(32), CONTEXT));
    expect(missing.code).toBe('MASTER_KEY_INVALID');
    expect(missing.message).toMatch(/KMS key alias\/nope cannot be used \(NotFoundException.*C360_KMS_KEY_ID/);
    const master = new KmsMasterKey(kms, ARN(1));
    const wrapped = await master.wrap(randomBytes(32), CONTEXT);
    keys.get(ARN(1))!.enabled = false;
    expect((await failure(master.unwrap(wrapped, CONTEXT))).message).toMatch(/DisabledException/);
    expect(() => new KmsMasterKey(kms, ' ')).toThrow(/C360_KMS_KEY_ID is empty/);
  });

  it('refuses text that is not a KMS wrap without calling KMS', async () => {
    const master = new KmsMasterKey(kms, ARN(1));
    for (const bad of ['', 'v1.aaa.bbb.ccc', 'kms1..', 'kms1.x']) expect((await failure(master.unwrap(bad, CONTEXT))).code).toBe('WRAPPED_KEY_UNREADABLE');
    expect(calls).toEqual([]);
  });
});

describe('kmsEncryptionContext', () => {
  it('reads tenant and customer id from the data-key context, decoding them', () => {
    expect(kmsEncryptionContext('c360-data-key/acme%2Feu/c%20-1')).toEqual({ tenant: 'acme/eu', customerId: 'c -1' });
    expect(kmsEncryptionContext('something else')).toEqual({ context: 'something else' });
  });
});
