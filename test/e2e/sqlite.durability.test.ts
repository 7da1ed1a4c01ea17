import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/application/ports/event-store.port.js';
import { SqliteDatabase } from '../../src/adapters/sqlite/sqlite.database.js';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqlite.event-store.js';
import { startMain, stop } from '../support/main-process.js';
import { readAllEvents } from '../support/paging.js';

// Durable on acknowledge: calls are sent to `npm start` on the embedded store, the server is
// killed with SIGKILL in the middle of the stream, and after a restart every acknowledged call is
// in the log exactly once (calls in flight at the kill may or may not be; neither is a loss).

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'c360-kill-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const TENANT = 'demo';

const readLog = async (file: string): Promise<StoredEvent[]> => {
  const db = new SqliteDatabase({ path: file });
  try {
    return await readAllEvents(new SqliteEventStore(db), TENANT, 1_000);
  } finally {
    db.close();
  }
};

describe('the embedded store under kill -9', () => {
  it('keeps every acknowledged call exactly once, with WAL and synchronous=FULL', async () => {
    const dataDir = join(root, 'data');
    const server = await startMain({ C360_DATA_DIR: dataDir });
    const basic = `Basic ${Buffer.from(`${server.writeKey}:`).toString('base64')}`;
    const acked: string[] = [];
    let sent = 0;
    let killed = false;
    const send = async (worker: number) => {
      for (let i = 0; !killed; i++) {
        const messageId = `kill-${worker}-${i}`;
        sent++;
        try {
          const res = await fetch(`${server.url}/v1/identify`, {
            method: 'POST',
            headers: { authorization: basic, 'content-type': 'application/json' },
            body: JSON.stringify({ messageId, userId: `u-${worker}-${i}`, traits: { email: `k${worker}.${i}@example.com` } }),
          });
          if (res.status === 200) acked.push(messageId);
        } catch {
          return; // the server is gone: this call was never acknowledged
        }
      }
    };
    const senders = [0, 1, 2, 3].map(send);
    while (acked.length < 300) await new Promise((r) => setTimeout(r, 5));
    const exited = new Promise((r) => server.child.once('exit', (_code, signal) => r(signal)));
    server.child.kill('SIGKILL');
    killed = true;
    await Promise.all(senders);
    expect(await exited).toBe('SIGKILL');
    expect(acked.length).toBeGreaterThanOrEqual(300);
    expect(sent).toBeGreaterThan(acked.length - 1);

    // what the file promises, read back from SQLite on the file the server wrote
    const file = join(dataDir, 'c360.sqlite');
    const db = new SqliteDatabase({ path: file });
    expect(db.durability()).toEqual({ journalMode: 'WAL', synchronous: 'FULL', secureDelete: true });
    db.close();

    const restarted = await startMain({ C360_DATA_DIR: dataDir });
    try {
      // every acknowledged call's customer answers at once after the restart
      for (const id of acked.slice(-20)) {
        const [, worker, i] = id.split('-');
        const res = await fetch(`${restarted.url}/v1/customers?identifier=user_id:u-${worker}-${i}`, {
          headers: { authorization: `Bearer ${restarted.adminToken}` },
        });
        expect(res.status, id).toBe(200);
      }
      // sending an acknowledged call again changes nothing
      const again = await fetch(`${restarted.url}/v1/identify`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/json' },
        body: JSON.stringify({ messageId: acked[0], userId: 'u-0-0', traits: { email: 'k0.0@example.com' } }),
      });
      expect(again.status).toBe(200);
    } finally {
      expect(await stop(restarted.child)).toBe(0);
    }

    const log = await readLog(file);
    // each call registers one new customer: one CustomerRegistered per acknowledged messageId
    const registrations = new Map<string, number>();
    for (const e of log) if (e.type === 'CustomerRegistered' && e.messageId) registrations.set(e.messageId, (registrations.get(e.messageId) ?? 0) + 1);
    const missing = acked.filter((id) => registrations.get(id) !== 1);
    expect(missing).toEqual([]);
    expect(registrations.size).toBeGreaterThanOrEqual(acked.length);
  }, 120_000);
});
