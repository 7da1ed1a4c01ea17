import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/infrastructure/app.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import { SqliteDatabase } from '../../src/adapters/sqlite/sqlite.database.js';
import {
  ALICE_REASONS,
  aliceReasonValues,
  aliceValues,
  BOB,
  holdMalformed,
  MALFORMED_REASON,
  reasonsOnAlice,
  seedScenario,
} from '../support/erasure-scenario.js';

// The erasure proof on the embedded default: after erasing Alice's cluster, not one byte of the
// database file, its -wal or its -shm holds her personal values (any casing, or base64) or her
// customers' wrapped data keys, while Bob's data is still there.

let dir: string;
let app: App;
const tenant = 'acme';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'c360-gdpr-sqlite-'));
  app = await buildApp(
    loadConfig({
      C360_DATA_DIR: dir,
      C360_TENANT: tenant,
      C360_CLAIM_SECRET: randomBytes(32).toString('base64url'),
      C360_MASTER_KEY: randomBytes(32).toString('base64'),
      C360_PHONE_REGION: 'GB',
    }),
  );
  await app.startBackground();
});
afterAll(async () => {
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The raw bytes of the database and its WAL and shared-memory files, as they are on disk now. */
const rawFiles = (): { readonly name: string; readonly bytes: Buffer }[] =>
  ['', '-wal', '-shm']
    .map((suffix) => join(dir, `c360.sqlite${suffix}`))
    .filter(existsSync)
    .map((f) => ({ name: f, bytes: readFileSync(f) }));

/** The needles found in any raw file: plain (lower-cased haystack), and base64 of the exact value. */
const foundIn = (needles: readonly string[]): string[] => {
  const files = rawFiles();
  const lower = files.map((f) => f.bytes.toString('latin1').toLowerCase());
  const exact = files.map((f) => f.bytes.toString('latin1'));
  return needles.filter((v) => lower.some((t) => t.includes(v.toLowerCase())) || exact.some((t) => t.includes(Buffer.from(v).toString('base64'))));
};

describe('erasure on the embedded SQLite store (raw file bytes)', () => {
  it('leaves no personal value and no wrapped data key of the erased cluster in the file, its WAL or its shm', async () => {
    const ingest = (call: Record<string, unknown>) => app.core.ingest.ingest(tenant, app.sourceOf(tenant, 'web'), call);
    const seeded = await seedScenario(ingest);
    // an unmerge and a manual merge of her cluster whose reasons name her
    const mergesOf = async (id: string) => [...(await app.core.repo.loadSurvivor(tenant, id)).merges.keys()];
    await reasonsOnAlice(app.core.identity, mergesOf, tenant, seeded);
    // request bodies that never parsed, naming Alice (and one naming Bob)
    const held = await holdMalformed((raw) => app.core.quarantine.hold(tenant, 'web', raw, MALFORMED_REASON));
    await app.drainBackground();
    // the wrapped keys of Alice's customers, as the key table holds them
    const reader = new SqliteDatabase({ path: join(dir, 'c360.sqlite') });
    const wrapped = seeded.alice.map(
      (id) => (reader.db.prepare('SELECT wrapped FROM data_keys WHERE tenant = ? AND customer_id = ?').get(tenant, id) as { wrapped: string | null }).wrapped,
    );
    reader.close();
    expect(wrapped.every((w) => typeof w === 'string' && w.length >= 40)).toBe(true);
    const keyNeedles = wrapped as string[];
    // before: the views hold her values in the clear, and her wrapped keys are in the file
    expect(foundIn(aliceValues).length).toBeGreaterThan(0);
    const explained = JSON.stringify(await app.core.queries.explain(tenant, seeded.aliceSurvivor));
    expect(explained).toContain(ALICE_REASONS.merge);
    expect(foundIn(keyNeedles)).toEqual(keyNeedles);

    const receipt = await app.core.gdpr.erase(tenant, seeded.alice[1]!, { actor: 'dpo' });
    expect([...receipt.customers].sort()).toEqual([...seeded.alice].sort());
    await app.drainBackground();

    expect(receipt.removed.quarantined).toBe(seeded.quarantined - 1 + held.alice.length);
    // the unparseable bodies naming her are gone, rows and all; Bob's is still there
    const rows = new SqliteDatabase({ path: join(dir, 'c360.sqlite') });
    const row = rows.db.prepare('SELECT count(*) AS n FROM quarantine_entries WHERE tenant = ? AND id = ?');
    const count = (id: string) => Number((row.get(tenant, id) as { n: number }).n);
    expect(held.alice.map(count)).toEqual(held.alice.map(() => 0));
    expect(held.bob.map(count)).toEqual(held.bob.map(() => 1));
    rows.close();
    expect(foundIn(aliceValues)).toEqual([]);
    expect(foundIn(aliceReasonValues)).toEqual([]);
    expect(foundIn(keyNeedles)).toEqual([]);
    // the scan can see what is there: Bob's values survive
    expect(foundIn([BOB.email, BOB.name])).toEqual([BOB.email, BOB.name]);
  });

  it('a re-applied erasure (after a restore) leaves what it deleted in neither the file nor its WAL', async () => {
    const ingest = (call: Record<string, unknown>) => app.core.ingest.ingest(tenant, app.sourceOf(tenant, 'web'), call);
    const t0 = await ingest({ type: 'identify', messageId: 'restore-1', userId: 'u-restore', traits: { email: 'restore.me@example.com' } });
    if (t0.status !== 'accepted') throw new Error(JSON.stringify(t0));
    const held = await app.core.quarantine.hold(tenant, 'web', '{"userId": "u-restore", "email": "restore.me@example.com", ', MALFORMED_REASON);
    await app.drainBackground();
    const db = new SqliteDatabase({ path: join(dir, 'c360.sqlite') });
    try {
      // the entry as a backup holds it: its sealed payload is the needle
      const row = db.db.prepare('SELECT * FROM quarantine_entries WHERE tenant = ? AND id = ?').get(tenant, held) as Record<string, string | number | null>;
      const sealed = String(row.payload);
      expect(sealed.length).toBeGreaterThan(40);
      await app.core.gdpr.erase(tenant, t0.customerId, { actor: 'dpo' });
      expect(foundIn([sealed])).toEqual([]);
      // the backup brings it back; the re-application takes it out again
      const columns = Object.keys(row);
      db.db.prepare(`INSERT INTO quarantine_entries (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`).run(...columns.map((c) => row[c]!));
      db.checkpoint();
      expect(foundIn([sealed])).toEqual([sealed]);
      const report = await app.core.gdpr.reapply(tenant, { actor: 'dpo' });
      expect(report.quarantined).toBeGreaterThanOrEqual(1);
      expect(await app.core.ports.quarantine.get(tenant, held)).toBeUndefined();
      expect(foundIn([sealed])).toEqual([]);
    } finally {
      db.close();
    }
  });
});
