import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/infrastructure/config.js';
import { startMain, stop } from '../support/main-process.js';

// What `npm start` prints is what the README's examples use: the generated credentials as
// `export WRITE_KEY=...` and `export ADMIN_TOKEN=...` lines, to paste into another shell.

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'c360-banner-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the start-up banner', () => {
  it('prints the credentials as export lines that a shell takes, and they work for the README curls', async () => {
    const dataDir = join(root, 'data');
    const server = await startMain({ C360_DATA_DIR: dataDir });
    try {
      const secrets = JSON.parse(await readFile(join(dataDir, 'secrets.json'), 'utf8')) as { writeKey: string; adminToken: string };
      const exports = server
        .stdout()
        .split('\n')
        .filter((l) => /^\s*export /.test(l));
      expect(exports).toHaveLength(2);
      // pasted into a shell as printed
      const shell = spawnSync('sh', ['-c', `${exports.join('\n')}\nprintf '%s %s' "$WRITE_KEY" "$ADMIN_TOKEN"`], { encoding: 'utf8' });
      expect(shell.status, shell.stderr).toBe(0);
      expect(shell.stdout).toBe(`${secrets.writeKey} ${secrets.adminToken}`);
      expect(server.stdout()).toContain(`generated once, kept in ${dataDir}/secrets.json`);

      // the README's two calls with them
      const [writeKey, adminToken] = shell.stdout.split(' ') as [string, string];
      const sent = await fetch(`${server.url}/v1/identify`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'u1', traits: { email: 'ada@example.com', name: 'Ada' } }),
      });
      expect(sent.status).toBe(200);
      const found = await fetch(`${server.url}/v1/customers?identifier=email:ada@example.com`, { headers: { authorization: `Bearer ${adminToken}` } });
      expect(found.status).toBe(200);
    } finally {
      expect(await stop(server.child)).toBe(0);
    }
  }, 60_000);

  it('has no setting that nothing reads (C360_DEMO_CUSTOMERS is gone)', () => {
    expect(Object.keys(loadConfig({}))).not.toContain('demoCustomers');
  });
});
