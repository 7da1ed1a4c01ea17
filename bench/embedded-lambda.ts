import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installOffline } from '../scripts/offline-install.js';
import { formatColdStart, importArgs, measureTargets } from './cold-start.js';

// A user's own Lambda embedding the core (test/fixtures/user-project: the core on DynamoDB with
// its own rules file and the HTTP API), built the way a user builds it: `npm pack`, the tarball
// installed offline into a fresh project, bundled there by esbuild. Its size, and its cold import
// against `node -e 0` (as bench/cold-start.ts measures our own functions).
// Run: node --import tsx bench/embedded-lambda.ts (COLD_START_RUNS=n; default 10)

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const USER_ENV = {
  DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
  TABLE_PREFIX: 'bench',
  MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
  CLAIM_SECRET: 'embedded-bench-claim-secret-0123456789',
  WRITE_KEY: 'embedded-bench-write-key',
  ADMIN_TOKEN: 'embedded-bench-admin-token',
};

export const measureEmbeddedLambda = (runs = Number(process.env.COLD_START_RUNS ?? 10)) => {
  const work = mkdtempSync(join(tmpdir(), 'c360-embedded-bench-'));
  try {
    const project = join(work, 'user-project');
    mkdirSync(project);
    const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` };
    const pack = spawnSync('npm', ['pack', '--pack-destination', work, '--json'], { cwd: ROOT, encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
    if (pack.status !== 0) throw new Error(`npm pack failed: ${pack.stderr}`);
    const [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as { filename: string }[];
    installOffline({ dir: project, tarball: join(work, packed!.filename), withPackages: ['esbuild'] });
    cpSync(join(ROOT, 'test/fixtures/user-project'), project, { recursive: true });
    const build = spawnSync(process.execPath, ['build.mjs'], { cwd: project, encoding: 'utf8', env });
    if (build.status !== 0) throw new Error(`the user's build failed: ${build.stderr}`);
    const file = join(project, 'dist/handler.mjs');
    const rows = measureTargets([{ name: 'user Lambda (embedded core)', args: importArgs(file), file, env: () => USER_ENV }], runs);
    const files = readdirSync(join(project, 'dist'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.mjs'));
    return { bytes: files.reduce((n, f) => n + statSync(join(project, 'dist', f)).size, 0), files: files.length, rows };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { bytes, files, rows } = measureEmbeddedLambda();
  console.log(`user Lambda bundle: ${(bytes / 1000).toFixed(1)} kB in ${files} files (minified)\n${formatColdStart(rows)}`);
}
