import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load, startTarget, type Target } from './batch-load.js';
import { replayCeiling } from './sqlite-ceiling.js';

// A diagnostic, not a bench row: how far /v1/batch on the embedded SQLite store could go on this
// machine if its work were split over the cores at no cost. Prints JSON lines:
// 1. CPU per call under the /v1/batch load of bench/sqlite.bench.ts (4 connections, 10 s after 3
//    unmeasured): the server process's (user + system, /proc/<pid>/stat) on the memory store and on
//    SQLite, and the load generator's (this process). At 10,000 calls/s two cores give 200 us of
//    CPU per call, for everything.
// 2. The split bound: the statements a SQLite server made under that load (recorded as
//    bench/sqlite.bench.ts records its ceiling's) replayed with none of our code, once alone and
//    once while the memory-store server takes the same load. What the two do at the same time is
//    what a server doing the memory store's work on one core and only the SQLite work on the other
//    could do at best, with nothing spent handing work between them: the smaller of the two rates.
//    Rounds alternate (default 3, SPLIT_BOUND_ROUNDS).
// Run: node --max-semi-space-size=64 --import tsx bench/sqlite-split-bound.ts

const ROUNDS = Number(process.env.SPLIT_BOUND_ROUNDS ?? 3);

if (process.argv[2] === 'replay') {
  // in a process of its own, so that it has a core to itself when one is free
  const run = replayCeiling(process.argv[3]!, process.argv[4]!);
  console.log(JSON.stringify({ callsPerSecond: run.callsPerSecond, cpuMicrosPerCall: run.cpuMicrosPerCall }));
  process.exit(0);
}

const ticks = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000; // clock ticks of 10 ms, in us
};
const root = mkdtempSync(join(tmpdir(), 'c360-split-bound-'));
const line = (o: object) => console.log(JSON.stringify(o));

const cpuPerCall = async (target: Target, store: string) => {
  await load(target.port, 3);
  const server0 = ticks(target.pid);
  const client0 = process.cpuUsage();
  const r = await load(target.port, 10);
  const client = process.cpuUsage(client0);
  line({
    step: 'cpu',
    store,
    callsPerSecond: Math.round(r.callsPerSecond),
    serverCpuMicrosPerCall: Math.round((ticks(target.pid) - server0) / r.calls),
    clientCpuMicrosPerCall: Math.round((client.user + client.system) / r.calls),
    refused: r.refused,
  });
};

const replay = (copy: string, trace: string, i: number): Promise<{ callsPerSecond: number; cpuMicrosPerCall: number }> =>
  new Promise((resolve, reject) => {
    const file = join(root, `replay-${i}.sqlite`);
    copyFileSync(copy, file);
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'replay', file, trace], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`the replay exited with ${code}`))));
  });

try {
  const memory = await startTarget('memory', join(root, 'memory'));
  try {
    await cpuPerCall(memory, 'memory');
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
      // the load covers the replay's timed part (after its process starts and reads the trace),
      // and each rate is over its own window: where they do not overlap, each one looks faster than
      // it is beside the other, so the bound can only come out too high, never too low
      const replaying = replay(copy, trace, 2 * round + 1);
      const beside = await load(memory.port, 6);
      const together = await replaying;
      line({
        step: 'split bound',
        round,
        replayAloneCallsPerSecond: Math.round(alone.callsPerSecond),
        replayBesideCallsPerSecond: Math.round(together.callsPerSecond),
        memoryBesideCallsPerSecond: Math.round(beside.callsPerSecond),
        bound: Math.round(Math.min(together.callsPerSecond, beside.callsPerSecond)),
      });
    }
  } finally {
    await memory.stop();
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
