import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { BATCH, batchBody, load, post, startTarget, type Target } from './batch-load.js';
import { replayCeiling } from './sqlite-ceiling.js';

// A diagnostic, not a bench row: how far /v1/batch on the embedded SQLite store could go on this
// machine if its work were split over the two cores. Prints JSON lines:
// 1. CPU per call under the /v1/batch load of bench/sqlite.bench.ts (4 connections, 10 s after 3
//    unmeasured): the server process's (user + system, /proc/<pid>/stat) on the memory store and on
//    SQLite, and the load generator's (this process). At 10,000 calls/s two cores give 200 us of
//    CPU per call, for everything.
// 2. An estimate of the best split: the statements a SQLite server made under that load (recorded
//    as bench/sqlite.bench.ts records its ceiling's) replayed with none of our code, in a process
//    of its own, once alone and once while a fresh memory-store server takes the same load from 4
//    posters. The memory server's calls are counted over the replay's timed window only. The
//    smaller of the two rates beside each other is what a server doing the memory store's work on
//    one core and only the SQLite statements on the other could reach, with nothing spent handing
//    work between them. An estimate, not a proof: the memory store's own work (the log kept in
//    memory) stands in for the SQLite server's work outside its statements (which was measured
//    to cost more, in 1.). Rounds: SPLIT_BOUND_ROUNDS (default 3).
// Run: node --max-semi-space-size=64 --import tsx bench/sqlite-split-bound.ts

type Replayed = { readonly callsPerSecond: number; readonly window: { readonly startMs: number; readonly endMs: number } };

const ROUNDS = Number(process.env.SPLIT_BOUND_ROUNDS ?? 3);

if (process.argv[2] === 'replay') {
  const run = replayCeiling(process.argv[3]!, process.argv[4]!);
  console.log(JSON.stringify({ callsPerSecond: run.callsPerSecond, window: run.window } satisfies Replayed));
  process.exit(0);
}

/** the CPU time a process has used, user + system, in us (/proc/<pid>/stat fields 14 and 15, in clock ticks of 10 ms: USER_HZ is 100 on Linux) */
const cpuMicros = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // from field 3 on; the name may hold spaces
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
};
const root = mkdtempSync(join(tmpdir(), 'c360-split-bound-'));
const line = (o: object) => console.log(JSON.stringify(o));

const cpuPerCall = async (target: Target, store: string) => {
  await load(target.port, 3);
  const server0 = cpuMicros(target.pid);
  const client0 = process.cpuUsage();
  const r = await load(target.port, 10);
  const client = process.cpuUsage(client0);
  line({
    step: 'cpu',
    store,
    callsPerSecond: Math.round(r.callsPerSecond),
    serverCpuMicrosPerCall: Math.round((cpuMicros(target.pid) - server0) / r.calls),
    clientCpuMicrosPerCall: Math.round((client.user + client.system) / r.calls),
    refused: r.refused,
  });
};

const replay = (copy: string, trace: string, i: number): Promise<Replayed> =>
  new Promise((resolve, reject) => {
    const file = join(root, `replay-${i}.sqlite`);
    copyFileSync(copy, file);
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'replay', file, trace], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`the replay exited with ${code}`));
      try {
        resolve(JSON.parse(out) as Replayed);
      } catch (e) {
        reject(e);
      }
    });
  });

/** 4 posters against `port` until `until` settles; the times (ms since the epoch) the batches were answered */
const loadUntil = async (port: number, until: Promise<unknown>): Promise<number[]> => {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const answered: number[] = [];
  let done = false;
  const ended = until.then(
    () => (done = true),
    () => (done = true),
  );
  try {
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!done) if ((await post(agent, port, batchBody())) < 300) answered.push(performance.timeOrigin + performance.now());
      }),
    );
  } finally {
    agent.destroy();
  }
  await ended;
  return answered;
};

try {
  const memory = await startTarget('memory', join(root, 'memory'));
  try {
    await cpuPerCall(memory, 'memory');
  } finally {
    await memory.stop();
  }
  const sqlite = await startTarget('sqlite', join(root, 'sqlite'));
  try {
    await cpuPerCall(sqlite, 'sqlite');
  } finally {
    await sqlite.stop();
  }
  const copy = join(root, 'copy.sqlite');
  const trace = join(root, 'trace.ndjson');
  const traced = await startTarget('sqlite', join(root, 'traced'), { BENCH_SQL_TRACE: '1' });
  try {
    await load(traced.port, 2);
    await traced.trace('start', copy);
    await load(traced.port, 10);
    await traced.trace('stop', trace);
  } finally {
    await traced.stop();
  }
  for (let round = 0; round < ROUNDS; round++) {
    const alone = await replay(copy, trace, 2 * round);
    const beside = await startTarget('memory', join(root, `memory-${round}`));
    try {
      await load(beside.port, 3); // its JIT warm, as the CPU step's was
      const replaying = replay(copy, trace, 2 * round + 1);
      const answered = await loadUntil(beside.port, replaying);
      const together = await replaying;
      const { startMs, endMs } = together.window;
      const inWindow = answered.filter((t) => t >= startMs && t <= endMs).length * BATCH;
      const memoryBeside = inWindow / ((endMs - startMs) / 1000);
      line({
        step: 'split estimate',
        round,
        replayAloneCallsPerSecond: Math.round(alone.callsPerSecond),
        replayBesideCallsPerSecond: Math.round(together.callsPerSecond),
        memoryBesideCallsPerSecond: Math.round(memoryBeside),
        estimate: Math.round(Math.min(together.callsPerSecond, memoryBeside)),
      });
    } finally {
      await beside.stop();
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
