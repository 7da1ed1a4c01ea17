import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../../src/infrastructure/local/server-lock.js';
import { startMain } from '../support/main-process.js';

// Ctrl-C on `npm start` in a terminal: the terminal signals the whole process group, and npm
// forwards the signal to the server as well, so the server hears one Ctrl-C twice. It must still
// finish its stop (the lock and DynamoDB Local's endpoint record removed), not die on the second.

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'c360-signals-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('stopping npm start', () => {
  it('one Ctrl-C heard twice still stops cleanly: exit 0, the data dir freed', async () => {
    const dataDir = join(root, 'data');
    const server = await startMain({ C360_DATA_DIR: dataDir });
    server.child.removeAllListeners('exit');
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => server.child.once('exit', (code, signal) => r({ code, signal })));
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(true);
    // a request that keeps the stop busy: a read waiting (up to 2 s) for a view version not there yet
    const sent = await fetch(`${server.url}/v1/identify`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${server.writeKey}:`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'u-signal', traits: { email: 'signal@example.com' } }),
    });
    const { customerId } = (await sent.json()) as { customerId: string };
    const waiting = fetch(`${server.url}/v1/customers/${customerId}?minVersion=1000`, { headers: { authorization: `Bearer ${server.adminToken}` } });
    await new Promise((r) => setTimeout(r, 200));
    server.child.kill('SIGINT');
    // npm's copy comes a moment later, while the server is stopping
    await new Promise((r) => setTimeout(r, 200));
    server.child.kill('SIGINT');
    expect((await waiting).status, 'the request in flight is answered').toBe(200);
    expect(await exited, server.stdout()).toEqual({ code: 0, signal: null });
    expect(server.stdout().match(/SIGINT: stopping/g)).toHaveLength(1);
    expect(existsSync(join(dataDir, LOCK_FILE)), 'the stop finished: the lock is gone').toBe(false);
  });
});
