import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
// Node's compile cache (NODE_COMPILE_CACHE, or module.enableCompileCache() before the bundle is
// imported) is measured beside each plain start, in the two states a Lambda can meet it:
// - empty: a new execution environment has an empty /tmp, so a cache kept there is written by
//   every real cold start and read by none (only a re-init in the same environment reads it);
// - warm: what a cache shipped with the bundle would give, if it matched. It only matches when it
//   was written by the same Node version, with the same V8 flags (the runtime sets heap sizes from
//   the function's memory) and at the same absolute path (/var/task/...), which a build outside
//   the Lambda runtime cannot promise.
// COLD_START_COMPILE_CACHE=0 leaves these rows out.
//
// Run alone: npm run bench:cold (COLD_START_RUNS=n for more rounds; default 10).

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.COLD_START_RUNS ?? 10);
const WITH_COMPILE_CACHE = process.env.COLD_START_COMPILE_CACHE !== '0';

export type ColdStart = {
  readonly name: string;
  readonly medianMs: number;
  /** medianMs over the baseline's median */
  readonly ratio: number;
  /**
   * CPU time (user + system) the process used, median, and its ratio to the baseline's: far less
   * sensitive than wall time to the other jobs on a shared machine, which stretch every wall time
   * with their own work. On Lambda, where the CPU is not shared, wall time is what counts.
   */
  readonly cpuMedianMs: number;
  readonly cpuRatio: number;
  /** per-round ratios to the same round's baseline: lowest and highest */
  readonly ratioMin: number;
  readonly ratioMax: number;
  readonly runs: number;
  /** set on the rows that start with NODE_COMPILE_CACHE (see above); the goal is the plain start's */
  readonly compileCache?: 'empty' | 'warm' | undefined;
  /** the import and then one request through the handler (see firstRequestArgs); no goal of its own */
  readonly firstRequest?: boolean | undefined;
  /** the bundle's files a start loaded (the entry, its chunks, the configured store's), and their bytes */
  readonly loaded?: { readonly files: number; readonly bytes: number } | undefined;
};

export type ColdStartTarget = {
  readonly name: string;
  readonly args: readonly string[];
  /** extra environment, computed afresh for every start (e.g. a new cache directory) */
  readonly env?: (() => Readonly<Record<string, string>>) | undefined;
  /** the bundle, for the count of files a start loads */
  readonly file?: string | undefined;
  readonly compileCache?: 'empty' | 'warm' | undefined;
  /** the import and then one request through the handler (see firstRequestArgs) */
  readonly firstRequest?: boolean | undefined;
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
  // the api function refuses to start without a credential
  C360_ADMIN_TOKEN: 'cold-start-bench-admin-token-0123456789',
};

// every timed process reports the CPU time it used on its way out (on stderr, the last line)
const REPORT_CPU = "process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write('\\ncpu-ms ' + (u.user + u.system) / 1000 + '\\n'); });";

/** `node -e 0`, plus the one line that reports its CPU time as every target does */
const BASELINE: ColdStartTarget = { name: 'node -e 0', args: ['-e', `${REPORT_CPU} 0`] };

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const envOf = (target: ColdStartTarget): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? '', ...COLD_ENV, ...target.env?.() });

const timeNode = (target: ColdStartTarget): { ms: number; cpuMs: number } => {
  const env = envOf(target);
  const t0 = performance.now();
  const run = spawnSync(process.execPath, target.args, { env, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (run.status !== 0) throw new Error(`${target.name}: node ${target.args.join(' ')} exited with ${run.status}: ${run.stderr.slice(0, 500)}`);
  const cpu = /cpu-ms (\d+(?:\.\d+)?)\s*$/.exec(run.stderr);
  if (!cpu) throw new Error(`${target.name}: no CPU time reported: ${run.stderr.slice(-300)}`);
  return { ms, cpuMs: Number(cpu[1]) };
};

const importScript = (file: string): string =>
  `${REPORT_CPU} const m = await import(${JSON.stringify(pathToFileURL(file).href)}); if (typeof m.handler !== 'function') process.exit(3);`;

/** The args that make a fresh node import a bundle and check that it exports a handler. */
export const importArgs = (file: string): string[] => ['--input-type=module', '-e', importScript(file)];

/**
 * An API Gateway HTTP API (payload 2.0) request for GET /health: what the api function's first
 * request costs on top of its import (the HTTP app, built on the first request, and Node's own
 * fetch classes, loaded by the first web Request), without a store to reach (it answers from the
 * process alone). A request that reads or writes the store compiles more on top: a lower bound.
 */
const HEALTH_EVENT = {
  version: '2.0',
  routeKey: '$default',
  rawPath: '/health',
  rawQueryString: '',
  headers: { accept: 'application/json', host: 'api.example.com' },
  requestContext: {
    accountId: '123456789012',
    apiId: 'bench',
    domainName: 'api.example.com',
    domainPrefix: 'api',
    http: { method: 'GET', path: '/health', protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'cold-start-bench' },
    requestId: 'cold-start-bench',
    routeKey: '$default',
    stage: '$default',
    time: '06/Dec/2026:00:00:00 +0000',
    timeEpoch: 1796515200000,
  },
  isBase64Encoded: false,
};
const LAMBDA_CONTEXT =
  "{ awsRequestId: 'cold-start-bench', functionName: 'api', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:api', memoryLimitInMB: '1024', getRemainingTimeInMillis: () => 30000 }";

/** The args that make a fresh node import the api bundle and answer one request (GET /health), which must be a 200. */
export const firstRequestArgs = (file: string): string[] => [
  '--input-type=module',
  '-e',
  `${importScript(file)} const r = await m.handler(${JSON.stringify(HEALTH_EVENT)}, ${LAMBDA_CONTEXT}); if (r.statusCode !== 200) { process.stderr.write('status ' + r.statusCode + ' ' + r.body); process.exit(4); }`,
];

/** Which of the bundle's files one start loads (an untimed run with a module hook counting them). */
const loadedBy = (target: ColdStartTarget & { readonly file: string }): { files: number; bytes: number } => {
  const dir = pathToFileURL(dirname(target.file)).href;
  const script = [
    "import { registerHooks } from 'node:module';",
    'const loaded = new Set();',
    `registerHooks({ load(url, context, next) { if (url.startsWith(${JSON.stringify(`${dir}/`)})) loaded.add(url); return next(url, context); } });`,
    importScript(target.file),
    'process.stdout.write(JSON.stringify([...loaded]));',
  ].join('\n');
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: envOf(target), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${target.name}: ${run.stderr.slice(0, 500)}`);
  const urls = JSON.parse(run.stdout) as string[];
  return { files: urls.length, bytes: urls.reduce((n, url) => n + statSync(fileURLToPath(url)).size, 0) };
};

/**
 * Times each target and `node -e 0` in alternating rounds; the first row is the baseline. Each
 * target runs once untimed first (the file cache; a warm compile cache is written then).
 */
export const measureTargets = (targets: readonly ColdStartTarget[], runs = RUNS): ColdStart[] => {
  const all: ColdStartTarget[] = [BASELINE, ...targets];
  for (const t of all) timeNode(t);
  const times = all.map((): number[] => []);
  const cpu = all.map((): number[] => []);
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < all.length; k++) {
      const i = (k + round) % all.length;
      const { ms, cpuMs } = timeNode(all[i]!);
      times[i]!.push(ms);
      cpu[i]!.push(cpuMs);
    }
  }
  const base = times[0]!;
  const baseMedian = median(base);
  const baseCpu = median(cpu[0]!);
  return all.map((t, i) => {
    const ratios = times[i]!.map((ms, round) => ms / base[round]!);
    return {
      name: t.name,
      medianMs: median(times[i]!),
      ratio: median(times[i]!) / baseMedian,
      cpuMedianMs: median(cpu[i]!),
      cpuRatio: median(cpu[i]!) / baseCpu,
      ratioMin: Math.min(...ratios),
      ratioMax: Math.max(...ratios),
      runs,
      compileCache: t.compileCache,
      firstRequest: t.firstRequest,
      loaded: t.file ? loadedBy({ ...t, file: t.file }) : undefined,
    };
  });
};

/** Builds the bundles from the current source (never times stale ones), then times each. */
export const measureColdStart = async (outDir = join(ROOT, 'dist/lambda')): Promise<ColdStart[]> => {
  await buildLambdas({ outDir });
  const caches = mkdtempSync(join(tmpdir(), 'c360-compile-cache-'));
  let fresh = 0;
  try {
    return measureTargets(
      FUNCTIONS.flatMap((fn): ColdStartTarget[] => {
        const file = join(outDir, `${fn.name}.mjs`);
        // the outbox function refuses to start without the topic it publishes to, the lake function without its bucket
        const topic: Record<string, string> =
          fn.name === 'outbox'
            ? { C360_SNS_TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:cold-start-bench' }
            : fn.name === 'lake'
              ? { C360_LAKE_BUCKET: 'cold-start-bench' }
              : {};
        const plain: ColdStartTarget = { name: fn.name, args: importArgs(file), file, env: () => topic };
        // the api function builds its HTTP app on the first request: the cost a cold request pays on top of the import
        const first: ColdStartTarget[] =
          fn.name === 'api' ? [{ name: `${fn.name}, import + first request (GET /health)`, args: firstRequestArgs(file), firstRequest: true }] : [];
        if (!WITH_COMPILE_CACHE) return [plain, ...first];
        const warm = join(caches, `${fn.name}-warm`);
        return [
          plain,
          ...first,
          {
            name: `${fn.name}, compile cache empty`,
            args: importArgs(file),
            compileCache: 'empty',
            env: () => ({ ...topic, NODE_COMPILE_CACHE: join(caches, `${fn.name}-${fresh++}`) }),
          },
          { name: `${fn.name}, compile cache warm`, args: importArgs(file), compileCache: 'warm', env: () => ({ ...topic, NODE_COMPILE_CACHE: warm }) },
        ];
      }),
    );
  } finally {
    rmSync(caches, { recursive: true, force: true });
  }
};

export const GOAL_RATIO = 2.5;

const kb = (n: number): string => `${(n / 1000).toFixed(1)} kB`;

export const formatColdStart = (rows: readonly ColdStart[]): string =>
  rows
    .map((r) =>
      [
        r.name.padEnd(30),
        `${r.medianMs.toFixed(1).padStart(7)} ms`,
        `${r.ratio.toFixed(2).padStart(5)}x`,
        r.name === BASELINE.name ? '' : `(rounds ${r.ratioMin.toFixed(2)}-${r.ratioMax.toFixed(2)}x)`,
        r.name === BASELINE.name || r.firstRequest ? '    ' : r.ratio <= GOAL_RATIO ? 'ok  ' : 'over',
        `cpu ${r.cpuMedianMs.toFixed(1).padStart(6)} ms ${r.cpuRatio.toFixed(2).padStart(5)}x`,
        r.loaded ? `loads ${r.loaded.files} files, ${kb(r.loaded.bytes)}` : '',
      ].join('  '),
    )
    .join('\n');

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await measureColdStart();
  console.log(`${formatColdStart(rows)}\n(median of ${RUNS} alternating rounds, ${process.version}; goal <= ${GOAL_RATIO}x)`);
}
