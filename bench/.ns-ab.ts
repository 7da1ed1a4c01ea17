// A/B (not committed): /v1/batch load against npm start (sqlite) vs bench/http-target.ts sqlite
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { load, startTarget } from './batch-load.js';
import { WRITE_KEY } from './target-credentials.js';
const SECRETS = { C360_CLAIM_SECRET: 'bench-claim-secret-0123456789abcdef', C360_MASTER_KEY: 'YmVuY2gtbWFzdGVyLWtleS0wMTIzNDU2Nzg5YWJjZGU=' };
const npmStart = async (dir: string) => {
  const script = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const form = /^exec node (.+)$/.exec(script)!;
  const child = spawn(process.execPath, form[1]!.split(/\s+/), {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, C360_STORE: 'sqlite', C360_DATA_DIR: dir, PORT: '0', C360_TENANT: 'bench', C360_WRITE_KEY: WRITE_KEY, ...SECRETS },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve) => lines.on('line', (line) => { const m = /^Customer 360 API on http:\/\/127\.0\.0\.1:(\d+)/.exec(line); if (m) resolve(Number(m[1])); }));
  lines.on('line', () => {});
  return { port, stop: async () => { child.kill('SIGTERM'); await exited; } };
};
const seconds = Number(process.env.SECS ?? 8);
for (let round = 0; round < 2; round++) {
  for (const kind of round % 2 ? ['target', 'npm start'] : ['npm start', 'target']) {
    const dir = mkdtempSync(join(tmpdir(), 'ns-ab-'));
    const t = kind === 'target' ? await startTarget('sqlite', dir, SECRETS) : await npmStart(dir);
    try {
      await load(t.port, 2);
      const r = await load(t.port, seconds);
      console.log(kind.padEnd(10), Math.round(r.callsPerSecond), 'calls/s', 'refused', r.refused, 'errors', r.errors);
    } finally { await t.stop(); rmSync(dir, { recursive: true, force: true }); }
  }
}
