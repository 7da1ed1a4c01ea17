import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildLambdas, FUNCTIONS } from '../scripts/build-lambda.js';

// Lambda cold start, as far as it can be measured off AWS: a fresh `node` that imports a bundle
// (module load plus the App built at top level), as a ratio to `node -e 0` in the same run. The
// config is the production shape (DynamoDB) pointed at a loopback port that is never contacted:
// building the App creates clients but sends nothing. Goal: ratio <= 2.5.
//
// The machine is shared, so the targets take turns: every round starts each of them once (in an
// order that rotates from round to round), and each round's time is set against that round's
// `node -e 0`. A row gives the median, its ratio to the baseline's median, and the spread of the
// per-round ratios (min..max), so a noisy run shows as one.
//
// Run alone: npm run bench:cold (COLD_START_RUNS=n for more rounds; default 10).

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env['COLD_START_RUNS'] ?? 10);

export type ColdStart = {
  readonly name: string;
  readonly medianMs: number;
  /** medianMs over the baseline's median */
  readonly ratio: number;
  /** per-round ratios to the same round's baseline: lowest and highest */
  readonly ratioMin: number;
  readonly ratioMax: number;
  readonly runs: number;
};

export type ColdStartTarget = {
  readonly name: string;
  readonly args: readonly string[];
  readonly env?: Record<string, string>;
  /** runs before every timed start (e.g. to empty a cache directory) */
  readonly beforeEach?: () => void;
};

export const COLD_ENV: Readonly<Record<string, string>> = {
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

const BASELINE: ColdStartTarget = { name: 'node -e 0', args: ['-e', '0'] };

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const timeNode = (target: ColdStartTarget): number => {
  const env = { PATH: process.env['PATH'] ?? '', ...COLD_ENV, ...target.env };
  const t0 = performance.now();
  const run = spawnSync(process.execPath, target.args, { env, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (run.status !== 0) throw new Error(`${target.name}: node ${target.args.join(' ')} exited with ${run.status}: ${run.stderr.slice(0, 500)}`);
  return ms;
};

/** The args that make a fresh node import a bundle and check that it exports a handler. */
export const importArgs = (file: string): string[] => {
  const script = `const m = await import(${JSON.stringify(pathToFileURL(file).href)}); if (typeof m.handler !== 'function') process.exit(3);`;
  return ['--input-type=module', '-e', script];
};

/**
 * Times each target and `node -e 0` in alternating rounds; the first row is the baseline. Each
 * target runs once untimed first (the file cache), and `beforeEach` runs before every timed start.
 */
export const measureTargets = (targets: readonly ColdStartTarget[], runs = RUNS): ColdStart[] => {
  const all: ColdStartTarget[] = [BASELINE, ...targets];
  for (const t of all) timeNode(t);
  const times = all.map((): number[] => []);
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < all.length; k++) {
      const i = (k + round) % all.length;
      const t = all[i]!;
      t.beforeEach?.();
      times[i]!.push(timeNode(t));
    }
  }
  const base = times[0]!;
  const baseMedian = median(base);
  return all.map((t, i) => {
    const ratios = times[i]!.map((ms, round) => ms / base[round]!);
    return { name: t.name, medianMs: median(times[i]!), ratio: median(times[i]!) / baseMedian, ratioMin: Math.min(...ratios), ratioMax: Math.max(...ratios), runs };
  });
};

/** Builds the bundles from the current source (never times stale ones), then times each. */
export const measureColdStart = async (outDir = join(ROOT, 'dist/lambda')): Promise<ColdStart[]> => {
  await buildLambdas({ outDir });
  return measureTargets(FUNCTIONS.map((fn) => ({ name: fn.name, args: importArgs(join(outDir, `${fn.name}.mjs`)) })));
};

export const GOAL_RATIO = 2.5;

export const formatColdStart = (rows: readonly ColdStart[]): string =>
  rows
    .map((r) =>
      [
        r.name.padEnd(24),
        `${r.medianMs.toFixed(1).padStart(7)} ms`,
        `${r.ratio.toFixed(2).padStart(5)}x`,
        r.name === BASELINE.name ? '' : `(rounds ${r.ratioMin.toFixed(2)}-${r.ratioMax.toFixed(2)}x)`,
        r.name === BASELINE.name ? '' : r.ratio <= GOAL_RATIO ? 'ok' : `over the ${GOAL_RATIO}x goal`,
      ].join('  '),
    )
    .join('\n');

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await measureColdStart();
  console.log(`${formatColdStart(rows)}\n(median of ${RUNS} alternating rounds, ${process.version})`);
}
