import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `npm start` as a user runs it (the same entry point, src/infrastructure/main.ts): the embedded
// default on DynamoDB Local with its data under C360_DATA_DIR, kept between runs; and the clear
// message when Java is missing.

const MAIN = new URL('../../src/infrastructure/main.ts', import.meta.url).pathname;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'c360-start-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const baseEnv = (): NodeJS.ProcessEnv => {
  // the embedded default must not depend on the test runner's AWS variables
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_ENDPOINT_URL') && !k.startsWith('C360_')));
  return { ...env, C360_DATA_DIR: dataDir, PORT: '0' };
};

type Started = { child: ChildProcess; url: string; writeKey: string; adminToken: string };

const start = (): Promise<Started> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const found: Partial<Started> = { child };
    createInterface({ input: child.stdout! }).on('line', (line) => {
      found.url ??= /API on (http:\/\/[^ ]+)/.exec(line)?.[1];
      found.writeKey ??= /write key .*:\s+(\S+)$/.exec(line)?.[1];
      found.adminToken ??= /admin token .*:\s+(\S+)$/.exec(line)?.[1];
      if (found.url && found.writeKey && found.adminToken) resolve(found as Started);
    });
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code} before serving: ${stderr}`)));
    const timer = setTimeout(() => {
      child.kill('SIGTERM'); // graceful: main stops its DynamoDB Local
      reject(new Error(`npm start did not serve within 90 s; stdout so far: ${JSON.stringify(found)}; stderr: ${stderr.slice(-2_000)}`));
    }, 90_000);
    timer.unref();
  });

const stop = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });

describe('npm start (the embedded default)', () => {
  it('serves on DynamoDB Local, keeps data and credentials between runs, and stops cleanly', async () => {
    const first = await start();
    const basic = `Basic ${Buffer.from(`${first.writeKey}:`).toString('base64')}`;
    const sent = await fetch(`${first.url}/v1/identify`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/json' }, body: JSON.stringify({ userId: 'start-1', traits: { email: 'start@example.com' } }) });
    expect(sent.status).toBe(200);
    const lookup = (s: Started) => fetch(`${s.url}/v1/customers?identifier=email:start@example.com`, { headers: { authorization: `Bearer ${s.adminToken}` } });
    // views come from the Streams poller: wait for it, bounded
    let found = await lookup(first);
    for (let i = 0; i < 50 && found.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 200));
      found = await lookup(first);
    }
    expect(found.status).toBe(200);
    const before = (await found.json()) as { customerId: string };
    expect(await stop(first.child)).toBe(0);

    const second = await start();
    try {
      expect([second.writeKey, second.adminToken]).toEqual([first.writeKey, first.adminToken]);
      const again = await lookup(second);
      expect(again.status).toBe(200);
      expect(((await again.json()) as { customerId: string }).customerId).toBe(before.customerId);
    } finally {
      expect(await stop(second.child)).toBe(0);
    }
    // two starts of DynamoDB Local (a JVM) on a shared 2-core machine
  }, 180_000);

  it('says how to go on when Java is missing', async () => {
    const bin = await mkdtemp(join(tmpdir(), 'c360-nojava-'));
    await symlink(process.execPath, join(bin, 'node'));
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { env: { ...baseEnv(), PATH: bin, C360_DATA_DIR: join(bin, 'data') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    await rm(bin, { recursive: true, force: true });
    expect(code).toBe(1);
    expect(stderr).toContain('needs Java 17');
    expect(stderr).toContain('C360_STORE=memory npm start');
  });
});
