import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildLambdas, FUNCTIONS } from '../scripts/build-lambda.js';

// Lambda cold start, as far as it can be measured off AWS: a fresh `node` that imports a bundle
// (module load plus the App built at top level), median of 10 runs, as a ratio to `node -e 0` in
// the same run. The config is the production shape (DynamoDB) pointed at a loopback port that is
// never contacted: building the App creates clients but sends nothing. Goal: ratio <= 2.5.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = 10;

export type ColdStart = { readonly name: string; readonly medianMs: number; readonly ratio: number };

const COLD_ENV: Record<string, string> = {
  C360_STORE: 'dynamodb',
  C360_PROJECTION: 'streams',
  C360_CLAIM_SECRET: 'cold-start-bench-claim-secret-0123456789',
  C360_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
  C360_CREATE_TABLES: 'false',
  AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_EC2_METADATA_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: 'WARN',
};

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const timeNode = (args: readonly string[]): number => {
  const env = { PATH: process.env['PATH'] ?? '', ...COLD_ENV };
  const t0 = performance.now();
  const run = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (run.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${run.status}: ${run.stderr.slice(0, 500)}`);
  return ms;
};

/** Builds the bundles from the current source (never times stale ones), then times each. */
export const measureColdStart = async (outDir = join(ROOT, 'dist/lambda')): Promise<ColdStart[]> => {
  await buildLambdas({ outDir });
  timeNode(['-e', '0']); // the first spawn pays for warming the file cache
  const baseline = median(Array.from({ length: RUNS }, () => timeNode(['-e', '0'])));
  const results: ColdStart[] = [{ name: 'node -e 0', medianMs: baseline, ratio: 1 }];
  for (const fn of FUNCTIONS) {
    const url = pathToFileURL(join(outDir, `${fn.name}.mjs`)).href;
    const script = `const m = await import(${JSON.stringify(url)}); if (typeof m.handler !== 'function') process.exit(3);`;
    const args = ['--input-type=module', '-e', script];
    timeNode(args);
    const ms = median(Array.from({ length: RUNS }, () => timeNode(args)));
    results.push({ name: fn.name, medianMs: ms, ratio: ms / baseline });
  }
  return results;
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of await measureColdStart()) console.log(`${r.name.padEnd(10)} ${r.medianMs.toFixed(1).padStart(7)} ms  ${r.ratio.toFixed(2)}x${r.name === 'node -e 0' ? '' : r.ratio <= 2.5 ? '  ok' : '  over the 2.5x goal'}`);
}
