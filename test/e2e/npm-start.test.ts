import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_DB_FILE } from '../../src/infrastructure/local/dynamodb-local.js';
import { IPV4_LOOPBACK, listeningPorts, processTree } from '../support/listening.js';
import { MAIN, baseEnv, startMain, stop, type Started } from '../support/main-process.js';

// `npm start` as a user runs it (the same entry point, src/infrastructure/main.ts): the embedded
// default on SQLite with its data under C360_DATA_DIR, kept between runs, no port but the API's;
// and, for C360_STORE=dynamodb, the clear message when Java is missing.

let root: string;
/** not there yet: npm start creates it */
let dataDir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'c360-start-'));
  dataDir = join(root, 'data');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const start = (env: NodeJS.ProcessEnv = {}) => startMain({ C360_DATA_DIR: dataDir, ...env });

describe('npm start (the embedded default)', () => {
  it('serves on SQLite in the process, opens no port but the API, keeps data and credentials between runs, and stops cleanly', async () => {
    // through npm itself: SIGTERM to npm (what a process manager sends) must stop the server
    const first = await startMain({ C360_DATA_DIR: dataDir }, { viaNpm: true });
    const basic = `Basic ${Buffer.from(`${first.writeKey}:`).toString('base64')}`;
    const sent = await fetch(`${first.url}/v1/identify`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'start-1', traits: { email: 'start@example.com' } }),
    });
    expect(sent.status).toBe(200);
    const lookup = (s: Started) => fetch(`${s.url}/v1/customers?identifier=email:start@example.com`, { headers: { authorization: `Bearer ${s.adminToken}` } });
    // read-your-writes: the acknowledged call is readable at once, no waiting for a projector
    const found = await lookup(first);
    expect(found.status).toBe(200);
    const before = (await found.json()) as { customerId: string };

    // one server process (no DynamoDB Local, no JVM) under npm; beside it at most tsx's esbuild,
    // which compiles the sources its cache does not hold yet (the first start after a change)
    const apiPort = Number(new URL(first.url).port);
    const tree = processTree(first.child.pid!);
    const names = tree.slice(1).map((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
    expect(names.filter((n) => n !== 'esbuild')).toEqual(['node']);
    expect(names.filter((n) => n === 'esbuild').length).toBeLessThanOrEqual(1);
    // one listening socket: the API's own, on loopback (esbuild talks to node over its stdin and stdout)
    const sockets = tree.flatMap((pid) => listeningPorts(pid));
    expect(sockets.map((s) => s.port)).toEqual([apiPort]);
    expect(sockets[0]!.address).toBe(IPV4_LOOPBACK);

    // the file is the user's alone
    const file = join(dataDir, 'c360.sqlite');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    expect(await stop(first.child)).toBe(0);
    // nothing is left behind: the server itself is gone, not only npm (tsx's esbuild helper exits
    // when its parent does, a moment later: allow it 5 s)
    const alive = () =>
      tree.slice(1).filter((pid) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      });
    for (let i = 0; i < 50 && alive().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(alive(), 'processes that outlived npm').toEqual([]);
    // node:sqlite's ExperimentalWarning is silenced, and nothing else was printed as a warning
    expect(first.stderr()).not.toMatch(/Warning/);

    const second = await start();
    try {
      expect([second.writeKey, second.adminToken]).toEqual([first.writeKey, first.adminToken]);
      const again = await lookup(second);
      expect(again.status).toBe(200);
      expect(((await again.json()) as { customerId: string }).customerId).toBe(before.customerId);
    } finally {
      expect(await stop(second.child)).toBe(0);
    }
  }, 120_000);

  it('with C360_STORE=dynamodb, starts DynamoDB Local under the data dir (private, on loopback) and projects through its Streams', async () => {
    const started = await start({ C360_STORE: 'dynamodb', C360_DATA_DIR: join(root, 'dynamo') });
    try {
      // two listening sockets, the API's and DynamoDB Local's (no authentication: loopback alone)
      const sockets = processTree(started.child.pid!).flatMap((pid) => listeningPorts(pid));
      expect(sockets).toHaveLength(2);
      expect(sockets.map((s) => s.address)).toEqual([IPV4_LOOPBACK, IPV4_LOOPBACK]);
      expect(sockets.map((s) => s.port)).toContain(Number(new URL(started.url).port));
      const basic = `Basic ${Buffer.from(`${started.writeKey}:`).toString('base64')}`;
      const sent = await fetch(`${started.url}/v1/identify`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'dyn-1', traits: { email: 'dyn@example.com' } }),
      });
      expect(sent.status).toBe(200);
      const lookup = () =>
        fetch(`${started.url}/v1/customers?identifier=email:dyn@example.com`, { headers: { authorization: `Bearer ${started.adminToken}` } });
      // views come from the Streams poller; a lagging view is folded from the log on demand
      let found = await lookup();
      for (let i = 0; i < 50 && found.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 200));
        found = await lookup();
      }
      expect(found.status).toBe(200);
      const dynamoDir = join(root, 'dynamo', 'dynamodb');
      expect((await stat(dynamoDir)).mode & 0o777).toBe(0o700);
      expect((await stat(join(dynamoDir, SHARED_DB_FILE))).mode & 0o777).toBe(0o600);
    } finally {
      expect(await stop(started.child)).toBe(0);
    }
  }, 120_000);

  it('with C360_STORE=dynamodb, says how to go on when Java is missing', async () => {
    const bin = await mkdtemp(join(tmpdir(), 'c360-nojava-'));
    await symlink(process.execPath, join(bin, 'node'));
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: { ...baseEnv(), PATH: bin, C360_STORE: 'dynamodb', C360_DATA_DIR: join(bin, 'data') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    await rm(bin, { recursive: true, force: true });
    expect(code).toBe(1);
    expect(stderr).toContain('needs Java 17');
    expect(stderr).toContain('C360_STORE=sqlite npm start');
  });
});
