import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, inject, it } from 'vitest';
import { SqliteCheckpoints, SqliteShardCheckpoints } from '../../src/adapters/sqlite/sqlite.checkpoints.js';
import { SqliteDatabase } from '../../src/adapters/sqlite/sqlite.database.js';
import { buildApp } from '../../src/infrastructure/app.js';
import { loadConfig } from '../../src/infrastructure/config.js';

// Async ingest on the embedded store: the Kinesis consumer keeps its place per shard in the SQLite
// file, so a restarted server resumes after what it had ingested instead of reading the stream
// from its start again.

const dir = mkdtempSync(join(tmpdir(), 'c360-kinesis-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = loadConfig({
  C360_STORE: 'sqlite',
  C360_DATA_DIR: dir,
  C360_INGEST_MODE: 'async',
  C360_KINESIS_STREAM: `sqlite-ingest-${randomUUID().slice(0, 8)}`,
  AWS_ENDPOINT_URL_KINESIS: inject('kinesisEndpoint'),
  C360_CLAIM_SECRET: randomBytes(32).toString('base64url'),
  C360_MASTER_KEY: randomBytes(32).toString('base64'),
});

it("keeps the consumer's shard checkpoints in the file, and a restart reads nothing twice", async () => {
  const first = await buildApp(config);
  await first.startBackground();
  const source = first.sourceOf(config.tenant, 'web');
  for (let i = 0; i < 5; i++) {
    const out = await first.intake.one(config.tenant, source, {
      type: 'identify',
      messageId: `k-${i}`,
      userId: `u-${i}`,
      traits: { email: `k${i}@example.com` },
    });
    expect(out.status).toBe('queued');
  }
  await first.drainBackground();
  expect(first.metrics.get('ingest_accepted')).toBe(5);
  await first.close();

  const db = new SqliteDatabase({ path: config.sqliteFile });
  const saved = db.db.prepare("SELECT name, position FROM checkpoints WHERE name LIKE 'kinesis-ingest|%'").all() as { name: string; position: string }[];
  expect(saved.length).toBeGreaterThan(0);
  const [, arn, shard] = saved[0]!.name.split('|');
  expect((await new SqliteShardCheckpoints(new SqliteCheckpoints(db), 'kinesis-ingest').get(arn!, shard!))?.sequenceNumber).toMatch(/^\d+$/);
  db.close();

  const second = await buildApp(config);
  await second.startBackground();
  await second.drainBackground();
  // resumed after the checkpoint: no record delivered again (a re-read would count duplicates)
  expect(second.metrics.get('ingest_duplicate')).toBe(0);
  expect(second.metrics.get('ingest_accepted')).toBe(0);
  const found = await second.core.queries.findByIdentifier(config.tenant, 'email', 'k4@example.com');
  expect(found.kind).toBe('view');
  await second.close();
});
