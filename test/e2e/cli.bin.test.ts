import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The real `c360` bin as a child process, on the embedded store in a temporary data dir: the
// composition (config, secrets, App, tsx loader) works as users run it.

const BIN = join(import.meta.dirname, '../../bin/c360.mjs');
let dataDir: string;

const env = () => ({ ...process.env, C360_STORE: 'sqlite', C360_DATA_DIR: dataDir, C360_TENANT: 'bin-test', PORT: '0', C360_DEBUG: '' });

const run = (args: string[]) =>
  new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out, err }));
  });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'c360-bin-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('the c360 bin', () => {
  it('seeds with exit 0, the result on stdout as JSON and progress on stderr', async () => {
    const r = await run(['seed', '--customers', '5', '--products', '3', '--orders', '7', '--events', '20', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ tenant: 'bin-test', customers: 5, orders: 7, events: 20, outcomes: { quarantined: 0 } });
    expect(r.err).toMatch(/^seed: 100% .*done\)$/m);
  });

  it('exits quietly with its own status when the reader of stdout goes away early (c360 ... | head)', async () => {
    // ends after the seed of the first case: every command here prints its result
    for (const args of [
      ['seed', '--customers', '5', '--products', '3', '--orders', '7', '--events', '20', '--json'],
      ['quarantine', 'list', '--json'],
      ['erasures', 'list', '--json'],
    ]) {
      const r = await new Promise<{ code: number | null; err: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
        // the reader closes its end before the command writes a byte: every write is EPIPE
        child.stdout.destroy();
        let err = '';
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.once('error', reject);
        child.once('close', (code) => resolve({ code, err }));
      });
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(0);
      expect(r.err).not.toMatch(/EPIPE|Unhandled|\n\s+at /);
    }
  });

  it('exits 2 on a usage error, with one line and no stack', async () => {
    const r = await run(['quarantine', 'list', '--status', 'lost']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/error: option '--status <status>' argument 'lost' is invalid/);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(r.out).toBe('');
  });

  it('serves the API until SIGTERM, then exits 0', async () => {
    const child = spawn(process.execPath, [BIN, 'serve'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          // the generated credentials are printed after the address
          const m = /API on (http:\/\/127\.0\.0\.1:\d+)[\s\S]*export ADMIN_TOKEN=/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('close', () => reject(new Error(`exited before serving: ${out} ${err}`)));
      });
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await closed, err).toBe(0);
  });
});
