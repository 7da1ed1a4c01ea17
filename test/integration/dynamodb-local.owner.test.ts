import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answers, dynamoDbLocalArgs, freePort, jarDir, runsSourceFiles } from '../../src/infrastructure/local/dynamodb-local.js';
import { baseEnv, startMain, stop } from '../support/main-process.js';

// DynamoDB Local (373 MB of Java) never outlives the process that started it: `npm start` with
// C360_STORE=dynamodb killed with SIGKILL takes it along (its standard input is a pipe from the
// server; the launcher stops when that pipe closes). One left by a process that is gone (an older
// version, a crash) is stopped at the next start instead of being adopted for good.

let root: string;
const pids: number[] = [];
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'c360-ddbowner-'));
});
afterAll(async () => {
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await rm(root, { recursive: true, force: true });
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const goneWithin = async (pid: number, ms: number): Promise<boolean> => {
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) if (!alive(pid)) return true;
  return !alive(pid);
};
const endpointRecord = async (dataDir: string) =>
  JSON.parse(await readFile(join(dataDir, 'dynamodb', 'endpoint.json'), 'utf8')) as { endpoint: string; pid: number; owner: number };

describe.runIf(runsSourceFiles())('DynamoDB Local ends with its owner', () => {
  it('is gone when the server that started it is killed with SIGKILL', async () => {
    const dataDir = join(root, 'killed');
    const server = await startMain({ C360_STORE: 'dynamodb', C360_DATA_DIR: dataDir });
    const record = await endpointRecord(dataDir);
    pids.push(record.pid);
    expect(record.owner).toBe(server.child.pid);
    // its start takes seconds: said while it happens, before the banner
    const lines = server.stdout().split('\n');
    const starting = lines.findIndex((l) => /^starting DynamoDB Local \(java .+\) with its data in .+; this takes a few seconds\.\.\.$/.test(l));
    expect(starting, server.stdout()).toBeGreaterThanOrEqual(0);
    expect(lines[starting + 1]).toMatch(/^DynamoDB Local answering on http:\/\/127\.0\.0\.1:\d+ after \d+\.\d s$/);
    expect(lines.findIndex((l) => l.startsWith('Customer 360 API on'))).toBeGreaterThan(starting);
    expect(alive(record.pid)).toBe(true);
    expect(await answers(record.endpoint)).toBe(true);

    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGKILL');
    await exited;
    // the JVM stops on its own: nobody signals it
    expect(await goneWithin(record.pid, 15_000), `DynamoDB Local (pid ${record.pid}) outlived its server`).toBe(true);
  }, 120_000);

  it('Ctrl-C in the terminal (SIGINT to the whole process group) stops a seed cleanly: its DynamoDB Local is not hit mid-job', async () => {
    const dataDir = join(root, 'ctrl-c');
    // its own process group, as a terminal's foreground job is: the signal goes to every process in it
    const job = spawn(process.execPath, [join(import.meta.dirname, '../../bin/c360.mjs'), 'seed', '--customers', '200'], {
      env: { ...baseEnv(), C360_STORE: 'dynamodb', C360_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let err = '';
    job.stderr.on('data', (d: Buffer) => (err += d.toString()));
    job.stdout.resume();
    const closed = new Promise<number | null>((resolve) => job.once('close', resolve));
    // a job that does not end is not left behind by a failing test
    const guard = setTimeout(() => process.kill(-job.pid!, 'SIGKILL'), 150_000);
    for (const until = Date.now() + 90_000; !/^seed: \d+% [1-9]/m.test(err) && job.exitCode === null && Date.now() < until; )
      await new Promise((r) => setTimeout(r, 100));
    const record = await endpointRecord(dataDir);
    pids.push(record.pid);
    expect(record.owner).toBe(job.pid);
    process.kill(-job.pid!, 'SIGINT');
    const code = await closed;
    clearTimeout(guard);
    expect(code, err).toBe(130);
    expect(err).toMatch(/interrupted: [\d,]+ of [\d,]+ calls sent/);
    expect(err).not.toMatch(/^error:/m);
    // and the job stopped the DynamoDB Local it started on its way out
    expect(await goneWithin(record.pid, 10_000)).toBe(true);
  }, 180_000);

  it('stops one left running by a process that is gone, instead of adopting it', async () => {
    const dataDir = join(root, 'stale');
    const dynamoDir = join(dataDir, 'dynamodb');
    await mkdir(dynamoDir, { recursive: true, mode: 0o700 });
    // an orphan as an older version left it: not tied to any parent, owned by a process that has ended
    const port = await freePort();
    const args = dynamoDbLocalArgs(jarDir(), port, dynamoDir, true).map((a) => (a === '-Dc360.exitWithParent=true' ? '-Dc360.exitWithParent=false' : a));
    const orphan = spawn('java', args, { stdio: 'ignore', detached: true });
    orphan.unref();
    pids.push(orphan.pid!);
    const endpoint = `http://127.0.0.1:${port}`;
    for (const until = Date.now() + 60_000; !(await answers(endpoint)) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 200));
    expect(await answers(endpoint)).toBe(true);
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => gone.once('exit', resolve));
    await writeFile(join(dynamoDir, 'endpoint.json'), JSON.stringify({ endpoint, pid: orphan.pid, owner: gone.pid }));

    const server = await startMain({ C360_STORE: 'dynamodb', C360_DATA_DIR: dataDir });
    try {
      expect(await goneWithin(orphan.pid!, 1_000)).toBe(true);
      expect(server.stderr()).toContain(`stopping a DynamoDB Local left running on ${endpoint} (pid ${orphan.pid}) by a process that is gone`);
      const record = await endpointRecord(dataDir);
      pids.push(record.pid);
      expect(record.pid).not.toBe(orphan.pid);
      expect(record.owner).toBe(server.child.pid);
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    } finally {
      expect(await stop(server.child)).toBe(0);
    }
    expect(existsSync(join(dynamoDir, 'endpoint.json'))).toBe(false);
  }, 180_000);
});
