import { dynamoDbEnv } from '../support/dynamodb-env.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import type { ErasureReceipt } from '../../src/application/ports/erasure-ledger.port.js';
import { buildApp, type App } from '../../src/infrastructure/app.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import { aliceReasonValues, aliceValues, BOB, holdMalformed, MALFORMED_REASON, reasonsOnAlice, seedScenario } from '../support/erasure-scenario.js';
import { dynamoDump, leaked } from '../support/store-dump.js';

// The erasure proofs on the production wiring: the container's DynamoDB adapters on DynamoDB
// Local, views projected from DynamoDB Streams. Afterwards every item of every table the app
// created is scanned for the erased customer's personal values.

const client = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
afterAll(() => client.destroy());

describe('erasure on DynamoDB Local (production wiring, Streams projection)', () => {
  const run = randomUUID().slice(0, 8);
  const prefix = `gdpr-${run}-`;
  const tenant = 'acme';
  let app: App;

  beforeAll(async () => {
    app = await buildApp(loadConfig(dynamoDbEnv(prefix, { C360_PHONE_REGION: 'GB' })));
    await app.startBackground();
  }, 60_000);
  afterAll(() => app?.close());

  const ingest = (call: Record<string, unknown>) => app.core.ingest.ingest(tenant, app.sourceOf(tenant, 'web'), call);
  /** the memory-bound stores (audit, ledger) until the container puts them on DynamoDB too */
  const memoryExtras = (): string =>
    JSON.stringify([app.core.ports.audit, app.core.ports.ledger].map((s) => (s as { dump?: () => unknown }).dump?.() ?? null)).toLowerCase();

  it('leaves no personal value of the erased cluster in any item of any table, and other views unchanged', async () => {
    const seeded = await seedScenario(ingest);
    // an unmerge and a manual merge of her cluster whose reasons name her
    const mergesOf = async (id: string) => [...(await app.core.repo.loadSurvivor(tenant, id)).merges.keys()];
    await reasonsOnAlice(app.core.identity, mergesOf, tenant, seeded);
    // request bodies that never parsed, naming Alice (and one naming Bob)
    const held = await holdMalformed((raw) => app.core.quarantine.hold(tenant, 'web', raw, MALFORMED_REASON));
    await app.drainBackground();
    const docsOf = async (ids: readonly string[]) => Promise.all(ids.map((id) => app.core.ports.readModels.get(tenant, id)));
    const before = await docsOf(seeded.others);
    expect(before.every((d) => d !== undefined)).toBe(true);
    const dumpBefore = await dynamoDump(client, prefix);
    expect(dumpBefore.tables.length).toBeGreaterThanOrEqual(4);
    expect(leaked(dumpBefore.text, aliceValues).length).toBeGreaterThan(0); // the quarantine held them in the clear

    const r = await app.core.gdpr.erase(tenant, seeded.alice[2]!, { actor: 'dpo' });
    expect([...r.customers].sort()).toEqual([...seeded.alice].sort());
    expect(r.removed).toMatchObject({ streams: 3, dataKeys: 3, quarantined: 2 + held.alice.length });
    await app.drainBackground();

    const after = await dynamoDump(client, prefix);
    expect(leaked(after.text, aliceValues)).toEqual([]);
    // the reasons of her unmerge and merge, as written and in base64
    const base64 = (v: string) => Buffer.from(v).toString('base64').toLowerCase();
    expect(leaked(after.text, [...aliceReasonValues, ...aliceReasonValues.map(base64)])).toEqual([]);
    expect(leaked(memoryExtras(), aliceReasonValues)).toEqual([]);
    // the unparseable bodies naming her are gone from the table (their ids with them); Bob's stays
    for (const id of held.alice) expect(await app.core.ports.quarantine.get(tenant, id)).toBeUndefined();
    expect(leaked(after.text, held.alice)).toEqual([]);
    expect(leaked(after.text, held.bob)).toEqual(held.bob.map((id) => id.toLowerCase()));
    expect(leaked(memoryExtras(), aliceValues)).toEqual([]);
    expect(after.text).toContain(BOB.email.toLowerCase()); // Bob's quarantined call is still there
    expect(await docsOf(seeded.alice)).toEqual([undefined, undefined, undefined]);
    expect(await docsOf(seeded.others)).toEqual(before);
    expect(await app.core.gdpr.erase(tenant, seeded.alice[0]!, { actor: 'other' })).toEqual(r);
  }, 120_000);

  it('erases a view kept gzipped in parts, and the dump reads inside it', async () => {
    const t = `big-${run}`;
    const marker = 'Zebulon Quartermaine-Okonkwo';
    // traits whose values do not compress, over the 350 KB a view keeps as JSON text in one item
    const call = (i: number) => ({
      type: 'identify',
      messageId: `big-${i}`,
      userId: 'u-big',
      traits: {
        ...(i === 0 ? { email: 'big@example.com', nickname: marker } : {}),
        ...Object.fromEntries(Array.from({ length: 30 }, (_, k) => [`note_${i}_${k}`, randomBytes(600).toString('base64')])),
      },
    });
    let customerId = '';
    for (let i = 0; i < 16; i++) {
      const r = await app.core.ingest.ingest(t, app.sourceOf(t, 'web'), call(i));
      if (r.status !== 'accepted') throw new Error(JSON.stringify(r));
      customerId = r.customerId;
    }
    await app.drainBackground();
    const before = await dynamoDump(client, prefix);
    // the marker is in the view only, and the view only gzipped: without unzipping, the dump would not see it
    const holding = before.gzippedViews.filter((v) => v.toLowerCase().includes(marker.toLowerCase()));
    expect(holding).toHaveLength(1);
    expect(leaked(before.text, [marker])).toEqual([marker.toLowerCase()]);

    await app.core.gdpr.erase(t, customerId, { actor: 'dpo' });
    await app.drainBackground();
    const after = await dynamoDump(client, prefix);
    expect(leaked(after.text, [marker, 'big@example.com'])).toEqual([]);
    expect(after.gzippedViews.filter((v) => v.includes(customerId))).toEqual([]);
  }, 120_000);

  it('resurrects nothing when ingest races the erasure', async () => {
    const t = `race-${run}`;
    const call = (i: number, extra: Record<string, unknown> = {}) => ({
      type: 'identify',
      messageId: `race-${i}`,
      userId: 'u-racer',
      traits: { email: 'racer@example.com', name: `Racer ${i}`, ...extra },
    });
    const first = await app.core.ingest.ingest(t, app.sourceOf(t, 'web'), call(0, { street: '1 Old Road' }));
    if (first.status !== 'accepted') throw new Error(JSON.stringify(first));
    await app.drainBackground();
    const results = await Promise.all([
      app.core.gdpr.erase(t, first.customerId, { actor: 'dpo' }),
      ...[1, 2, 3].map((i) => app.core.ingest.ingest(t, app.sourceOf(t, 'web'), call(i))),
    ]);
    await app.drainBackground();
    const receipt = results[0] as ErasureReceipt;
    const after = await dynamoDump(client, prefix);
    expect(leaked(after.text, ['1 old road', 'racer 0'])).toEqual([]);
    for (const id of receipt.customers) expect(await app.core.ports.readModels.get(t, id)).toBeUndefined();
    // a call that lost the race started a fresh customer, holding only what it carried
    const key = app.core.ports.hasher.claimKey(t, 'email', 'racer@example.com');
    const owner = (await app.core.ports.store.readClaims(t, [key])).get(key);
    if (owner !== undefined) {
      expect(receipt.customers).not.toContain(owner);
      const doc = await app.core.ports.readModels.get(t, (await app.core.repo.loadSurvivor(t, owner)).id);
      expect(doc?.kind).toBe('view');
      expect(JSON.stringify(doc)).not.toMatch(/old road|racer 0/i);
    }
  }, 120_000);
});
