import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { SqliteDatabase } from '../src/adapters/sqlite/sqlite.database.js';
import { SqliteEventStore } from '../src/adapters/sqlite/sqlite.event-store.js';
import { buildApp } from '../src/infrastructure/app.js';
import { loadConfig } from '../src/infrastructure/config.js';
import { startDynamoDbLocal } from '../src/infrastructure/local/dynamodb-local.js';
import { BATCH, load, loadBatches, scriptNodeFlags, startTarget } from './batch-load.js';
import { runCeiling, storedRows } from './rebuild-ceiling.js';
import { replayCeiling } from './sqlite-ceiling.js';
import { ADMIN_TOKEN } from './target-credentials.js';

// The embedded default against the in-memory store, same run, same workload: POST /v1/batch of 100
// calls over loopback (each call a new messageId, one of 5,000 users), the two targets taking
// turns so a noisy neighbour hits both, and after each run on the file its ceiling (the statements of
// the same load made on a fresh file, replayed on a copy of it with none of our code: bench/sqlite-ceiling.ts);
// then once on DynamoDB Local, the emulator of production. Then the default data set seeded by
// `c360 seed` into a running `npm start` on the file (against the same data set sent to a server on
// the memory store), and a full rebuild from that file against its parse-and-fold ceiling.

type Row = { name: string; value: number; unit: string; goal?: string; pass?: boolean; note?: string };

const SECRETS = { C360_CLAIM_SECRET: 'bench-claim-secret-0123456789abcdef', C360_MASTER_KEY: 'YmVuY2gtbWFzdGVyLWtleS0wMTIzNDU2Nzg5YWJjZGU=' };

const spread = (xs: number[]) => `${Math.round(Math.min(...xs)).toLocaleString('en-US')}-${Math.round(Math.max(...xs)).toLocaleString('en-US')}`;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** the node flags `npm run c360` gives the CLI, so the bench times the command the README names */
const CLI_NODE_FLAGS = scriptNodeFlags('c360');

/** `c360 <args>`: its exit code, and what it wrote to stderr (passed on as it comes) */
const runCli = (args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_NODE_FLAGS, fileURLToPath(new URL('../bin/c360.mjs', import.meta.url)), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      process.stderr.write(chunk);
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, stderr }));
  });

/**
 * The server `npm start` runs (its script's node flags and entry), on the embedded store in `dir`:
 * as in the README's quick start, it holds the data dir's lock, so a CLI job beside it leaves the
 * projection to it. Resolves once its banner names its URL.
 */
const npmStart = async (dir: string): Promise<{ stop(): Promise<void> }> => {
  const script = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const form = /^exec node (.+)$/.exec(script);
  if (!form) throw new Error(`package.json's start script is no longer \`exec node <flags and entry>\`: ${script}`);
  const child = spawn(process.execPath, form[1]!.split(/\s+/), {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, C360_STORE: 'sqlite', C360_DATA_DIR: dir, PORT: '0', C360_TENANT: 'bench', ...SECRETS },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('npm start did not serve within 120 s')), 120_000);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`npm start's server exited with ${code} before serving`)));
    lines.on('line', (line) => /^Customer 360 API on http:/.test(line) && (clearTimeout(timer), resolve()));
  });
  lines.on('line', () => {}); // keep reading its log, so a full pipe never blocks it
  return {
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
};

const dynamoDbRun = async (dataDir: string, seconds: number) => {
  mkdirSync(dataDir, { recursive: true });
  const dynamo = await startDynamoDbLocal({ dataDir });
  try {
    const env = {
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const target = await startTarget('dynamodb', 'bench', env);
    try {
      // one batch at a time, long enough for several, each counted whole (bench/dynamodb-batch.bench.ts has the detail)
      return await loadBatches(target.port, Math.max(20, 2 * seconds), 1);
    } finally {
      await target.stop();
    }
  } finally {
    await dynamo.stop();
  }
};

export const runSqliteBench = async (
  seconds = Number(process.env.BENCH_SQLITE_SECONDS ?? 8),
  rounds = Number(process.env.BENCH_SQLITE_ROUNDS ?? 2),
): Promise<Row[]> => {
  const root = mkdtempSync(join(tmpdir(), 'c360-sqlite-bench-'));
  const rates: Record<'memory' | 'sqlite', number[]> = { memory: [], sqlite: [] };
  const ceilings: number[] = [];
  const ceilingRatios: number[] = [];
  let ceilingDetail = '';
  let refused = 0;
  let durability = '';
  try {
    for (let round = 0; round < rounds; round++) {
      for (const store of ['memory', 'sqlite'] as const) {
        const dir = join(root, `${store}-${round}`);
        const target = await startTarget(store, dir, { BENCH_SQL_TRACE: '0' });
        try {
          await load(target.port, 2); // warm-up
          const r = await load(target.port, seconds);
          rates[store].push(r.callsPerSecond);
          refused += r.refused + r.errors;
        } finally {
          await target.stop();
        }
        if (store === 'sqlite') {
          // the ceiling: the same load again on a fresh file, its statements recorded (which costs the
          // server time: the measured run above is not recorded), then replayed with none of our code
          const copy = join(root, `ceiling-${round}.sqlite`);
          const trace = join(root, `trace-${round}.ndjson`);
          const traced = await startTarget('sqlite', join(root, `traced-${round}`), { BENCH_SQL_TRACE: '1' });
          try {
            await load(traced.port, 2);
            await traced.trace('start', copy);
            await load(traced.port, seconds);
            await traced.trace('stop', trace);
          } finally {
            await traced.stop();
          }
          const ceiling = replayCeiling(copy, trace);
          rmSync(trace, { force: true });
          durability = ceiling.durability;
          ceilings.push(ceiling.callsPerSecond);
          ceilingRatios.push(rates.sqlite.at(-1)! / ceiling.callsPerSecond);
          const n = (x: number) => x.toLocaleString('en-US');
          const { durable, unsynced, reads } = ceiling.commits;
          ceilingDetail = `the last one: ${n(ceiling.calls)} calls, ${n(ceiling.statements)} statements; ${n(durable)} durable commits, ${n(unsynced)} without an fsync, ${n(reads)} read transactions; ${ceiling.durability}`;
        }
      }
    }

    // the same load on DynamoDB Local (its own JVM, on disk, as C360_STORE=dynamodb npm start runs it)
    const dynamoRate = await dynamoDbRun(join(root, 'dynamodb'), seconds);

    // the default data set (5,000 people, 200 products, 50,000 orders, 100,000 clickstream events)
    // seeded by the CLI into the file of a running `npm start`
    const seedDir = join(root, 'seed');
    const server = await npmStart(seedDir);
    let seedSeconds: number;
    let seedExit: number;
    let projectedByServer: boolean;
    try {
      const t0 = performance.now();
      const seeded = await runCli(['--tenant', 'bench', 'seed'], { C360_STORE: 'sqlite', C360_DATA_DIR: seedDir, ...SECRETS });
      seedSeconds = (performance.now() - t0) / 1000;
      seedExit = seeded.code;
      // the seed saw the server's lock and left the projection to it, as beside the quick start's npm start
      projectedByServer = /^projected by the server\b/m.test(seeded.stderr) && !/projecting the rest here/.test(seeded.stderr);
    } finally {
      await server.stop();
    }
    // the same data set into a server on the memory store (the CLI refuses a memory store of its
    // own, which would end with it): sent with --url (at most 8 batches of 100 in flight, where the
    // seed into the file has 64 people at once), with the admin token, so each call keeps its source
    const memoryServer = await startTarget('memory', join(root, 'seed-memory'));
    let memorySeedSeconds: number;
    let memorySeedExit: number;
    try {
      const t0 = performance.now();
      const url = `http://127.0.0.1:${memoryServer.port}`;
      memorySeedExit = (
        await runCli(['--tenant', 'bench', 'seed', '--url', url, '--admin-token', ADMIN_TOKEN], { C360_DATA_DIR: join(root, 'seed-memory-cli'), ...SECRETS })
      ).code;
      memorySeedSeconds = (performance.now() - t0) / 1000;
    } finally {
      await memoryServer.stop();
    }

    // a full rebuild from the file (decrypt + fold), against its ceiling: the same stored events
    // parsed and folded trivially (bench/rebuild-ceiling.ts), just before
    const fileDb = new SqliteDatabase({ path: join(seedDir, 'c360.sqlite') });
    let rebuildCeiling: number;
    try {
      rebuildCeiling = runCeiling(await storedRows(new SqliteEventStore(fileDb), 'bench')).wall;
    } finally {
      fileDb.close();
    }
    const app = await buildApp(loadConfig({ C360_STORE: 'sqlite', C360_DATA_DIR: seedDir, C360_TENANT: 'bench', C360_ENGAGEMENT: 'off', ...SECRETS }));
    let rebuild: { events: number; seconds: number };
    try {
      const t0 = performance.now();
      const r = await app.core.rebuild.rebuild('bench');
      rebuild = { events: r.events, seconds: (performance.now() - t0) / 1000 };
    } finally {
      await app.close();
    }

    const memory = median(rates.memory);
    const sqlite = median(rates.sqlite);
    const ratio = sqlite / memory;
    return [
      {
        name: `HTTP POST /v1/batch of ${BATCH}, memory store`,
        value: Math.round(memory),
        unit: 'calls/s',
        note: `median of ${rounds} runs, spread ${spread(rates.memory)}`,
      },
      {
        name: `HTTP POST /v1/batch of ${BATCH}, embedded SQLite (durable)`,
        value: Math.round(sqlite),
        unit: 'calls/s',
        goal: '>= 10,000',
        pass: sqlite >= 10_000,
        note: `${ratio.toFixed(2)}x the memory store, same run; ${median(ceilingRatios).toFixed(2)}x its ceiling (per run ${ceilingRatios.map((r) => r.toFixed(2)).join(', ')}); spread ${spread(rates.sqlite)}; ${durability}; refused ${refused}`,
      },
      {
        name: 'embedded SQLite ceiling: the SQLite statements of the same load (a second run, recorded), replayed on a copy of its file, none of our code',
        value: Math.round(median(ceilings)),
        unit: 'calls/s',
        note: `same run, after each measured run on the file; spread ${spread(ceilings)}; ${ceilingDetail}; the 10,000 goal is ${median(ceilings) < 10_000 ? 'above' : 'not above'} it on this machine`,
      },
      {
        name: `HTTP POST /v1/batch of ${BATCH}, DynamoDB Local on disk (Streams projection)`,
        value: Math.round(dynamoRate.callsPerSecond),
        unit: 'calls/s',
        note: `the embedded store is ${(sqlite / dynamoRate.callsPerSecond).toFixed(1)}x faster, same run; one run, one batch at a time; refused ${dynamoRate.refused + dynamoRate.errors}`,
      },
      {
        name: 'c360 seed (defaults: 5,000 people, 200 products, 50,000 orders, 100,000 events) into a running npm start (embedded SQLite)',
        value: Number(seedSeconds.toFixed(1)),
        unit: 's',
        goal: '<= 60',
        pass: seedExit === 0 && projectedByServer && seedSeconds <= 60,
        note: `exit ${seedExit}; ${projectedByServer ? 'projected by the server, as the seed reported' : 'the seed did not report that the server projected its writes'}; ${(memorySeedSeconds / seedSeconds).toFixed(2)}x the speed of the same data set into a server on the memory store, same run (${memorySeedSeconds.toFixed(1)} s, exit ${memorySeedExit}; sent with --url and the admin token)`,
      },
      {
        name: 'full rebuild from the SQLite file (read, decrypt, fold, write)',
        value: Math.round(rebuild.events / rebuild.seconds),
        unit: 'events/s',
        note: `${rebuild.events} events in ${rebuild.seconds.toFixed(1)} s; ${(rebuild.events / rebuild.seconds / rebuildCeiling).toFixed(2)}x its ceiling, same run (${Math.round(rebuildCeiling).toLocaleString('en-US')} events/s: JSON.parse and a trivial fold of the file's stored events)`,
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
};
