import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listeningPorts, processTree } from '../support/listening.js';

// The README's quick start, as a newcomer runs it: a fresh `git clone` of this repository (its
// committed HEAD) into an empty temporary folder, `npm ci` on the pinned Node (as .ci/run does it,
// with the npm cache that the outer install warmed), `npm start` on the embedded default, the
// README's two curls back to back with the credentials taken from the banner's `export` lines,
// `npm run c360 -- seed` with its default sizes into the running server (at most 60 s), a 360 view
// of a seeded person, then a restart, after which everything is still there. Then the same with
// `C360_STORE=dynamodb` and `--customers 50`. The README's commands are read from the clone's
// README.md and run as written (only the port is a free one instead of 3000, which another
// program on the machine may hold). Everything listens on loopback; every process started here runs
// in its own process group and is killed at the end, whatever happens.

const SEED_BOUND_S = 60;
/**
 * The 60 s bound is a claim about this code on a machine of this size, not about whatever else the
 * machine runs. The share of the cores that other processes kept busy is sampled for a few seconds
 * just before the seed and just after it, the server's own work left out (after a seed it catches
 * the match book up): above this share, the bound is reported as not judged (with the figures),
 * not as passed or failed.
 */
const OTHERS_BUSY_LIMIT = 0.25;
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: HERE, encoding: 'utf8' }).trim();
const README_URL = 'http://127.0.0.1:3000';

const groups = new Set<number>();
const strays = new Set<number>(); // DynamoDB Local runs in a group of its own: its pid, from endpoint.json
let work = '';
let clone = '';
const timings: Record<string, string> = {};
const started = performance.now();

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const waitUntil = async (done: () => boolean, ms: number): Promise<boolean> => {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) if (done()) return true;
  return done();
};
const killGroup = (pgid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(-pgid, signal);
  } catch {}
};

/** /proc/stat's busy and total jiffies over every core (Linux). */
const cpuJiffies = (): { busy: number; total: number } => {
  const [, ...f] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const n = f.map(Number);
  const idle = (n[3] ?? 0) + (n[4] ?? 0); // idle + iowait
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
};
/** CPU jiffies (user + system) the processes under `pid` have used, as /proc/<pid>/stat counts them. */
const treeJiffies = (pid: number): number => {
  let sum = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      sum += Number(f[11]) + Number(f[12]); // utime, stime
    } catch {
      // gone
    }
  }
  return sum;
};
/**
 * The share of all cores kept busy over `ms` by other processes: everything but the process trees
 * under `own` (the server under test: after a seed it still does its own work, such as catching
 * the match book up, and that is not another job's load).
 */
const othersBusy = async (own: readonly number[], ms = 5_000): Promise<number> => {
  const ownJiffies = () => own.reduce((n, pid) => n + treeJiffies(pid), 0);
  const a = cpuJiffies();
  const ownA = ownJiffies();
  await sleep(ms);
  const b = cpuJiffies();
  const ownB = ownJiffies();
  return Math.max(0, b.busy - a.busy - (ownB - ownA)) / Math.max(1, b.total - a.total);
};

/** The environment a user's shell would have: nothing of this run's npm, vitest, node_modules/.bin or C360_ settings. */
const userEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|C360_|AWS_ENDPOINT_URL|VITEST|NODE_OPTIONS$|NODE_ENV$|INIT_CWD$|NODE$|TEST$|PORT$)/.test(k)) continue;
    env[k] = v;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((p) => p && !p.includes(`${'node_modules'}/.bin`) && !p.startsWith(ROOT))
    .join(delimiter);
  return { ...env, AWS_EC2_METADATA_DISABLED: 'true', ...extra };
};

type Ran = { code: number | null; stdout: string; stderr: string; seconds: number };

/** Runs a command in its own process group in the clone; the group is killed if it outlives `timeoutMs`. */
const run = (command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, cwd = clone): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    groups.add(child.pid!);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      killGroup(child.pid!, 'SIGKILL');
      reject(
        new Error(`${command} ${args.join(' ')} did not end within ${timeoutMs / 1000} s\nstdout: ${stdout.slice(-3_000)}\nstderr: ${stderr.slice(-3_000)}`),
      );
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, seconds: (performance.now() - t0) / 1000 });
    });
  });

type Server = { child: ChildProcess; url: string; writeKey: string; adminToken: string; out: () => string; exports: string[] };

/** `npm start` in the clone, in its own process group; resolves once the banner gave the URL and both export lines. */
const npmStart = (env: NodeJS.ProcessEnv): Promise<Server> =>
  new Promise((resolve, reject) => {
    const child = spawn('npm', ['start'], { cwd: clone, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    groups.add(child.pid!);
    let out = '';
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const found: Partial<Server> & { exports: string[] } = { child, out: () => out, exports: [] };
    createInterface({ input: child.stdout! }).on('line', (line) => {
      out += `${line}\n`;
      found.url ??= /API on (http:\/\/[^ ]+)/.exec(line)?.[1];
      if (/^\s*export (WRITE_KEY|ADMIN_TOKEN)=/.test(line)) found.exports.push(line.trim());
      found.writeKey ??= /^\s*export WRITE_KEY=(\S+)/.exec(line)?.[1];
      found.adminToken ??= /^\s*export ADMIN_TOKEN=(\S+)/.exec(line)?.[1];
      if (found.url && found.writeKey && found.adminToken) resolve(found as Server);
    });
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code} before serving:\n${out}`)));
    setTimeout(() => reject(new Error(`npm start did not serve within 180 s:\n${out}`)), 180_000).unref();
  });

/** Ctrl-C, as a terminal sends it: SIGINT to the whole foreground group; then every process of it is gone. */
const ctrlC = async (server: Server): Promise<number | null> => {
  const pgid = server.child.pid!;
  server.child.removeAllListeners('exit');
  const exited = new Promise<number | null>((r) => {
    if (server.child.exitCode !== null) r(server.child.exitCode);
    else server.child.once('exit', (code) => r(code));
  });
  killGroup(pgid, 'SIGINT');
  const code = await Promise.race([exited, sleep(60_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') throw new Error(`npm start did not stop within 60 s of Ctrl-C:\n${server.out().slice(-3_000)}`);
  expect(await waitUntil(() => !alive(-pgid), 30_000), 'every process of npm start ends after Ctrl-C').toBe(true);
  return code;
};

const get = async (server: Server, path: string): Promise<{ status: number; body: any }> => {
  const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${server.adminToken}` } });
  return { status: res.status, body: await res.json() };
};

/** The README's lines, `...` standing for what varies, as patterns for whole lines of output. */
const linePattern = (line: string, url: string): RegExp =>
  new RegExp(
    `^${line
      .replaceAll(README_URL, url)
      .trimEnd()
      .split('...')
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}\\s*$`,
  );

/** Every line of `expected` (a README block) matches a line of `output`, in order (soft: the run goes on). */
const expectPrinted = (output: string, expected: string, url: string, what: string) => {
  const lines = output.split('\n');
  let at = 0;
  for (const line of expected.trimEnd().split('\n')) {
    const pattern = linePattern(line, url);
    const i = lines.findIndex((l, j) => j >= at && pattern.test(l));
    expect.soft(i, `${what}: the README's line ${JSON.stringify(line)} is printed (output:\n${output})`).toBeGreaterThanOrEqual(0);
    at = i + 1;
  }
};

const readme = () => readFileSync(join(clone, 'README.md'), 'utf8');
/** The README says this (its line breaks read as spaces). */
const expectReadmeSays = (text: string) => expect(readme().replace(/\s+/g, ' ').includes(text), `the README says ${JSON.stringify(text)}`).toBe(true);
const block = (pattern: RegExp, what: string): string => {
  const m = pattern.exec(readme());
  if (!m) throw new Error(`the README no longer has ${what}`);
  return m[1]!;
};

/** The README's two curls, run back to back by sh as written, after the banner's export lines. */
const readmeCurls = (server: Server): { identify: any; lookup: any; seconds: number } => {
  const text = block(/Paste the two `export` lines[^\n]*\n\n```sh\n([\s\S]*?)```/, 'the two curls after "Paste the two `export` lines"');
  const commands = text
    .replace(/\\\n\s*/g, ' ')
    .trim()
    .split('\n');
  expect(commands).toHaveLength(2);
  for (const c of commands) expect(c).toMatch(/^curl .*http:\/\/127\.0\.0\.1:3000\/v1\//);
  const mark = '--next-curl--';
  const script = ['set -e', ...server.exports, commands[0], `printf '\\n%s\\n' '${mark}'`, commands[1]].join('\n').replaceAll(README_URL, server.url);
  const t0 = performance.now();
  const out = execFileSync('sh', ['-c', script], { cwd: clone, env: userEnv(), encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  const seconds = (performance.now() - t0) / 1000;
  const [identify, lookup] = out.split(`\n${mark}\n`).map((s) => JSON.parse(s));
  return { identify, lookup, seconds };
};

/** Every port the server's processes (DynamoDB Local included) listen on is a loopback one. */
const expectLoopbackOnly = (server: Server, dynamoPid?: number) => {
  const pids = [...processTree(server.child.pid!), ...(dynamoPid ? processTree(dynamoPid) : [])];
  const ports = pids.flatMap((pid) => {
    try {
      return listeningPorts(pid);
    } catch {
      return [];
    }
  });
  expect(ports.length).toBeGreaterThan(0);
  // 0100007F is 127.0.0.1 as /proc/net/tcp spells it; ::1 in tcp6
  const loopback = ['0100007F', '00000000000000000000000001000000', '0000000000000000FFFF00000100007F'];
  for (const p of ports) expect(loopback, `port ${p.port} on ${p.address}`).toContain(p.address);
};

/** The stored facts of a view (scores computed at read time depend on the clock). */
const facts = (view: any) => ({
  customerId: view.customerId,
  eventCount: view.eventCount,
  identifiers: view.identifiers,
  traits: view.traits,
  orders: view.orders,
  channels: view.channels,
});

/** The seeded person user-42-<n>, found by identifier as the README says, and their 360 view. */
const seededView = async (server: Server, n: number) => {
  const found = await get(server, `/v1/customers?identifier=user_id:user-42-${n}`);
  expect(found.status, JSON.stringify(found.body)).toBe(200);
  const id = found.body.customerId as string;
  const view = await get(server, `/v1/customers/${id}`);
  expect(view.status, JSON.stringify(view.body)).toBe(200);
  expect(view.body.customerId).toBe(id);
  expect(view.body.eventCount).toBeGreaterThan(0);
  expect(JSON.stringify(view.body.identifiers)).toContain(`"user-42-${n}"`);
  return view.body;
};

const note = (what: string, value: string) => {
  timings[what] = value;
  console.log(`[quickstart] ${what}: ${value}`);
};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'c360-quickstart-'));
  clone = join(work, 'c360');
  const cloned = await run('git', ['clone', '--quiet', ROOT, clone], userEnv(), 120_000, work);
  expect(cloned.code, cloned.stderr).toBe(0);
  note('cloned', `${execFileSync('git', ['log', '--oneline', '-1'], { cwd: clone, encoding: 'utf8' }).trim()} from ${ROOT} into ${clone}`);

  // npm ci as .ci/run runs it: on the pinned Node, through npm exec when the shell's node is another
  const pinned = JSON.parse(readFileSync(join(clone, 'package-lock.json'), 'utf8')).packages['node_modules/node'].version as string;
  expectReadmeSays(`npm exec --yes --package=node@${pinned} -- npm ci`);
  const shellNode = execFileSync('node', ['--version'], { env: userEnv(), encoding: 'utf8' }).trim();
  const flags = ['ci', '--no-audit', '--no-fund', '--prefer-offline'];
  const [command, args] = shellNode === `v${pinned}` ? ['npm', flags] : ['npm', ['exec', '--yes', `--package=node@${pinned}`, '--', 'npm', ...flags]];
  const installed = await run(command, args, userEnv(), 20 * 60_000);
  expect(installed.code, `${installed.stdout}\n${installed.stderr}`).toBe(0);
  note('npm ci', `${installed.seconds.toFixed(1)} s (${command} ${args.join(' ')}; the shell's node is ${shellNode})`);
  const warnings = installed.stderr.split('\n').filter((l) => /warn/i.test(l));
  if (warnings.length) console.log(`[quickstart] npm ci printed:\n${warnings.join('\n')}`);
  expect(warnings, 'npm ci on the pinned Node is quiet').toEqual([]);
  const runtime = execFileSync('npm', ['exec', '--offline', '--', 'node', '--version'], { cwd: clone, env: userEnv(), encoding: 'utf8' }).trim();
  expect(runtime, 'npm scripts run on the pinned Node').toBe(`v${pinned}`);
  note('node for npm scripts', runtime);
}, 25 * 60_000);

afterAll(async () => {
  for (const pgid of groups) killGroup(pgid, 'SIGKILL');
  for (const pid of strays) {
    killGroup(pid, 'SIGKILL');
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  await waitUntil(() => [...groups].every((g) => !alive(-g)) && [...strays].every((p) => !alive(p)), 10_000);
  note('total', `${((performance.now() - started) / 1000).toFixed(1)} s`);
  console.log(`[quickstart] summary ${JSON.stringify(timings, null, 2)}`);
  // the clone's node_modules is large: removing it takes minutes on a loaded machine
  if (work && !process.env.C360_KEEP_CLONE) await rm(work, { recursive: true, force: true });
}, 15 * 60_000);

/** A free loopback port for `PORT` (the README's 3000 may be held by another program on this machine). */
const freePort = async (): Promise<string> => {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(String(port)));
    });
  });
};

describe("the README's quick start on a fresh clone", () => {
  it('embedded default: npm start, the two curls, the default seed within 60 s, a 360 view, a restart keeps it all', async () => {
    const env = userEnv({ PORT: await freePort() });
    let server = await npmStart(env);
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expectLoopbackOnly(server);
      // the banner is the README's sample, line for line
      expectPrinted(server.out(), block(/```\n(Customer 360 API on[\s\S]*?)```/, "the banner's sample"), server.url, 'npm start');

      const curls = readmeCurls(server);
      expect(curls.identify).toMatchObject({ success: true, customerId: expect.any(String), viewVersion: expect.any(Number) });
      expect(curls.lookup.customerId, JSON.stringify(curls.lookup)).toBe(curls.identify.customerId);
      note('the two curls', `${curls.seconds.toFixed(2)} s; identify answered ${JSON.stringify(curls.identify)}`);

      expectReadmeSays('Seed demo data into it with `npm run c360 -- seed`');
      const busyBefore = await othersBusy([server.child.pid!]);
      const seeded = await run('npm', ['run', 'c360', '--', 'seed'], env, 15 * 60_000);
      const busyAfter = await othersBusy([server.child.pid!]);
      note(
        'seed (defaults) into the running server',
        `${seeded.seconds.toFixed(1)} s wall, exit ${seeded.code}, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
      );
      console.log(`[quickstart] c360 seed printed:\n${seeded.stdout}`);
      expect(seeded.code, `${seeded.stdout}\n${seeded.stderr}`).toBe(0);
      expect(seeded.stdout).toContain('seeded tenant "demo" (seed 42)');
      expect(seeded.stdout).toContain('5,000 people, 200 products, 50,000 orders, 100,000 clickstream events');
      expect(seeded.stdout).toMatch(/ 0 quarantined/);
      const others = `other processes kept ${Math.round(busyBefore * 100)}% of the cores busy just before the seed and ${Math.round(busyAfter * 100)}% just after`;
      if (Math.max(busyBefore, busyAfter) > OTHERS_BUSY_LIMIT) {
        // printed in the test output, so a loaded run says what it could not judge
        console.log(
          `[quickstart] SKIPPED the ${SEED_BOUND_S} s seed bound: ${others} (over ${OTHERS_BUSY_LIMIT * 100}%), so the seed's ${seeded.seconds.toFixed(1)} s measure the machine's load, not the code`,
        );
      } else {
        note('seed bound', `judged: ${others}`);
        // soft: a slow seed fails the test, and the rest still runs (the restart, the DynamoDB round)
        expect.soft(seeded.seconds, `the default seed into a running npm start takes at most ${SEED_BOUND_S} s (${others})`).toBeLessThanOrEqual(SEED_BOUND_S);
      }
      const printed = /```\n(seeded tenant "demo"[\s\S]*?)```/.exec(readme());
      expect.soft(printed, 'the README shows what the seed prints').not.toBeNull();
      if (printed) expectPrinted(seeded.stdout, printed[1]!, server.url, 'c360 seed');

      const first = await seededView(server, 0);
      const last = await seededView(server, 4_999);
      // the README's own command for it, as written
      const look = block(/(curl -H "authorization: Bearer \$ADMIN_TOKEN" '[^']*identifier=user_id:user-42-0')/, 'the curl for a seeded person');
      const looked = execFileSync('sh', ['-c', [...server.exports, look.replaceAll(README_URL, server.url)].join('\n')], {
        env: userEnv(),
        encoding: 'utf8',
        timeout: 30_000,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      expect(facts(JSON.parse(looked))).toEqual(facts(first));
      expect(first.orders.count + last.orders.count).toBeGreaterThan(0);
      const ada = await get(server, `/v1/customers/${curls.identify.customerId}`);
      expect(ada.status).toBe(200);

      const credentials = server.exports;
      note('stop (Ctrl-C)', `exit ${await ctrlC(server)}`);
      server = await npmStart(env);
      expect(server.exports, 'the same credentials after a restart').toEqual(credentials);
      expect(facts(await seededView(server, 0))).toEqual(facts(first));
      expect(facts(await seededView(server, 4_999))).toEqual(facts(last));
      expect(facts((await get(server, `/v1/customers/${curls.identify.customerId}`)).body)).toEqual(facts(ada.body));
      // and the README's lookup still finds Ada
      expect(readmeCurls(server).lookup.customerId).toBe(curls.identify.customerId);
    } finally {
      await ctrlC(server).catch(() => killGroup(server.child.pid!, 'SIGKILL'));
    }
  });

  it('C360_STORE=dynamodb: the same with --customers 50, the other sizes scaled down', async () => {
    const env = userEnv({ PORT: await freePort(), C360_STORE: 'dynamodb' });
    const endpointFile = join(clone, '.c360', 'dynamodb', 'endpoint.json');
    const dynamoPid = (): number => {
      const pid = JSON.parse(readFileSync(endpointFile, 'utf8')).pid as number;
      strays.add(pid);
      return pid;
    };
    const t0 = performance.now();
    let server = await npmStart(env);
    try {
      note('C360_STORE=dynamodb npm start', `${((performance.now() - t0) / 1000).toFixed(1)} s to serve`);
      const java = dynamoPid();
      expectLoopbackOnly(server, java);
      expectPrinted(
        server.out(),
        'starting DynamoDB Local (java ...) with its data in ...; this takes a few seconds...\nDynamoDB Local answering on ... after ... s',
        server.url,
        'npm start on dynamodb',
      );

      const curls = readmeCurls(server);
      expect(curls.identify).toMatchObject({ success: true, customerId: expect.any(String) });
      expect(curls.lookup.customerId, JSON.stringify(curls.lookup)).toBe(curls.identify.customerId);
      note('the two curls (dynamodb)', `${curls.seconds.toFixed(2)} s`);

      const seeded = await run('npm', ['run', 'c360', '--', 'seed', '--customers', '50'], env, 15 * 60_000);
      note('seed --customers 50 (dynamodb)', `${seeded.seconds.toFixed(1)} s wall, exit ${seeded.code}`);
      console.log(`[quickstart] c360 seed --customers 50 printed:\n${seeded.stdout}`);
      expect(seeded.code, `${seeded.stdout}\n${seeded.stderr}`).toBe(0);
      expect(seeded.stdout).toContain('50 people, 50 products, 500 orders, 1,000 clickstream events');
      expectReadmeSays('`C360_STORE=dynamodb npm run c360 -- seed --customers 50` (the other sizes scale down: 50 products, 500 orders, 1,000 events');
      expect(seeded.stdout).toMatch(/ 0 quarantined/);
      expect(alive(java), "the job used the server's DynamoDB Local and left it running").toBe(true);

      const first = await seededView(server, 0);
      const last = await seededView(server, 49);
      const ada = await get(server, `/v1/customers/${curls.identify.customerId}`);
      expect(ada.status).toBe(200);

      note('stop (Ctrl-C, dynamodb)', `exit ${await ctrlC(server)}`);
      expect(await waitUntil(() => !alive(java), 30_000), 'DynamoDB Local ends with the server').toBe(true);
      expect(existsSync(endpointFile)).toBe(false);

      server = await npmStart(env);
      dynamoPid();
      expect(facts(await seededView(server, 0))).toEqual(facts(first));
      expect(facts(await seededView(server, 49))).toEqual(facts(last));
      expect(facts((await get(server, `/v1/customers/${curls.identify.customerId}`)).body)).toEqual(facts(ada.body));
    } finally {
      await ctrlC(server).catch(() => killGroup(server.child.pid!, 'SIGKILL'));
    }
  });
});
