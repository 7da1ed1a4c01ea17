import { dynamoDbEnv } from '../support/dynamodb-env.js';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/infrastructure/app.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import { domainError } from '../unit/application/ingest-support.js';

// Crypto-shredding across processes. Two processes share one DynamoDB (two Lambdas, or a server
// and the CLI). Process B has read a customer, so it holds her data key in its key cache (bounded
// to minutes) and her state in its repository cache. Process A erases her. From then on B must
// find nothing decryptable: its cached key is never used after the tombstone.

describe('erasure seen from another, warm process (DynamoDB Local)', () => {
  const prefix = `warm-${randomUUID().slice(0, 8)}-`;
  const tenant = 'acme';
  const email = 'warm.reader@example.com';
  const name = 'Wilhelmina Warmcache';
  const env = dynamoDbEnv(prefix);
  let a: App;
  let b: App;

  beforeAll(async () => {
    a = await buildApp(loadConfig(env));
    b = await buildApp(loadConfig(env));
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it('a customer erased by one process cannot be read, exported or decrypted by another that cached her key', async () => {
    const outcome = await a.core.ingest.ingest(tenant, a.sourceOf(tenant, 'web'), {
      type: 'identify',
      messageId: 'w-1',
      userId: 'u-warm',
      traits: { email, name },
    });
    expect(outcome.status).toBe('accepted');
    const id = (outcome as { customerId: string }).customerId;

    // B reads her: the values are there, and B now holds her key and state in its caches
    const before = await b.core.queries.explain(tenant, id);
    expect(JSON.stringify(before)).toContain(email);
    expect(JSON.stringify(await b.core.export.export(tenant, id, { actor: 'dpo' }))).toContain(email);

    const receipt = await a.core.gdpr.erase(tenant, id, { actor: 'dpo' });
    expect(receipt.customers).toEqual([id]);

    expect((await domainError(b.core.queries.explain(tenant, id))).code).toBe('CUSTOMER_ERASED');
    expect((await domainError(b.core.export.export(tenant, id, { actor: 'dpo' }))).code).toBe('CUSTOMER_ERASED');
    // and the raw stream, decoded with whatever B's key store still hands out, holds no personal value
    const key = await b.core.ports.keys.get(tenant, id);
    const decoded = b.core.codec.decodeStream(await b.core.ports.store.readStream(tenant, id), key);
    expect(decoded.at(-1)?.event.type).toBe('CustomerErased');
    const text = JSON.stringify(decoded).toLowerCase();
    expect(text).not.toContain(email);
    expect(text).not.toContain(name.toLowerCase());
  });
});
