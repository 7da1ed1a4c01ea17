import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/infrastructure/config.js';
import { LOCK_FILE } from '../../src/infrastructure/local/server-lock.js';
import { serve } from '../../src/infrastructure/server.js';
import { MAIN, baseEnv, startMain, stop } from '../support/main-process.js';

// One server per data dir (a lock file naming it; a dead holder's lock is taken over), and a
// /health that reports a store it cannot reach as unhealthy.

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'c360-lock-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const runToEnd = (env: NodeJS.ProcessEnv) =>
  new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });

describe('one server per data dir', () => {
  it('refuses a second npm start on the same data dir, naming the first; frees the dir on stop; takes over after a kill -9', async () => {
    const dataDir = join(root, 'data');
    const first = await startMain({ C360_DATA_DIR: dataDir });
    const lock = JSON.parse(await readFile(join(dataDir, LOCK_FILE), 'utf8')) as { pid: number; url: string };
    expect(lock).toMatchObject({ pid: first.child.pid, url: first.url });

    const second = await runToEnd({ C360_DATA_DIR: dataDir });
    expect(second.code).toBe(1);
    expect(second.err.trim()).toBe(
      `cannot start: another c360 server (pid ${first.child.pid}, ${first.url}) already uses the data dir ${dataDir}. Use that one, stop it first, or start this one on another dir: C360_DATA_DIR=<dir> npm start`,
    );
    expect(second.out).toBe('');
    // the first one is unharmed
    expect((await fetch(`${first.url}/health`)).status).toBe(200);
    expect(await stop(first.child)).toBe(0);
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);

    // killed outright, a server leaves its lock behind: the next start takes it over
    const killed = await startMain({ C360_DATA_DIR: dataDir });
    const exited = new Promise((resolve) => killed.child.once('exit', resolve));
    killed.child.kill('SIGKILL');
    await exited;
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(true);
    const next = await startMain({ C360_DATA_DIR: dataDir });
    try {
      expect((await fetch(`${next.url}/health`)).status).toBe(200);
      const taken = JSON.parse(await readFile(join(dataDir, LOCK_FILE), 'utf8')) as { pid: number };
      expect(taken.pid).toBe(next.child.pid);
    } finally {
      expect(await stop(next.child)).toBe(0);
    }
  }, 120_000);
});

describe('/health', () => {
  it('answers 503 when the store cannot be reached, and 200 again when it can', async () => {
    // DynamoDB Local behind a TCP relay the test can cut
    const target = new URL(inject('dynamoEndpoint'));
    const sockets = new Set<Socket>();
    let open = true;
    const relay = createServer((client) => {
      if (!open) return client.destroy();
      const upstream = connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const run = randomUUID().slice(0, 8);
    const running = await serve(
      loadConfig({
        C360_STORE: 'dynamodb',
        AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`,
        C360_DATA_DIR: join(root, 'health'),
        PORT: '0',
        C360_EVENTS_TABLE: `health-events-${run}`,
        C360_VIEWS_TABLE: `health-views-${run}`,
        C360_KEYS_TABLE: `health-keys-${run}`,
        C360_QUARANTINE_TABLE: `health-quarantine-${run}`,
        C360_AUDIT_TABLE: `health-audit-${run}`,
        C360_LEDGER_TABLE: `health-erasures-${run}`,
      }),
      () => {},
    );
    try {
      const healthy = await fetch(`${running.url}/health`);
      expect(healthy.status).toBe(200);
      expect(await healthy.json()).toMatchObject({ ok: true, details: { store: 'dynamodb', reachable: 'ok' } });

      open = false;
      for (const s of sockets) s.destroy();
      const started = Date.now();
      const down = await fetch(`${running.url}/health`);
      expect(down.status).toBe(503);
      const body = (await down.json()) as { ok: boolean; details: { reachable: string } };
      expect(body.ok).toBe(false);
      expect(body.details.reachable).toMatch(/^(unreachable \(.+\)|no answer within 2 s)$/);
      expect(Date.now() - started).toBeLessThan(5_000);

      open = true;
      const back = await fetch(`${running.url}/health`);
      expect(back.status).toBe(200);
    } finally {
      open = true;
      await running.close();
      await new Promise((resolve) => relay.close(resolve));
      for (const s of sockets) s.destroy();
    }
  }, 60_000);
});
