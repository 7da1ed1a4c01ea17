import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/infrastructure/cli.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import { generateSeed } from '../../src/infrastructure/demo/dataset.js';
import { freePort } from '../../src/infrastructure/local/dynamodb-local.js';
import { serve } from '../../src/infrastructure/server.js';
import { screenOf } from '../support/terminal.js';

// `c360 seed` through the bin's own composition (config, secrets, store), in-process on the
// embedded store in a temporary data dir, with captured output.

let dir: string;
const BIN = join(import.meta.dirname, '../../bin/c360.mjs');

const writer = () => {
  let text = '';
  return { write: (s: string) => ((text += s), true), text: () => text };
};

const c360 = async (argv: string[], extra: Record<string, string> = {}) => {
  const stdout = writer();
  const stderr = writer();
  const env = { C360_DATA_DIR: dir, C360_TENANT: 'seeded', ...extra };
  const code = await main(argv, env, { stdout, stderr, debug: false, progressIntervalMs: 0 });
  return { code, out: stdout.text(), err: stderr.text(), json: () => JSON.parse(stdout.text()) as Record<string, any> };
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'c360-seed-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('c360 seed on the embedded store', () => {
  it('seeds again with the same seed and other sizes without a conflict: the calls that are the same are duplicates', async () => {
    const first = await c360(['seed', '--customers', '6', '--products', '4', '--orders', '10', '--events', '30', '--json']);
    expect(first.code, first.err).toBe(0);
    expect(first.json().outcomes).toMatchObject({ quarantined: 0, rejected: 0 });

    const bigger = await c360(['seed', '--customers', '9', '--products', '7', '--orders', '25', '--events', '50', '--json']);
    expect(bigger.code, bigger.err).toBe(0);
    const outcomes = bigger.json().outcomes;
    expect(outcomes).toMatchObject({ quarantined: 0, rejected: 0 });
    // some calls (a person's first page view, say) do not depend on the sizes: seen before
    expect(outcomes.duplicate).toBeGreaterThan(0);
    expect(outcomes.accepted).toBeGreaterThan(0);

    const listed = await c360(['quarantine', 'list', '--json']);
    expect(listed.code, listed.err).toBe(0);
    expect(JSON.stringify(listed.json())).not.toMatch(/IDEMPOTENCY_CONFLICT/);

    // and the same sizes again change nothing
    const again = await c360(['seed', '--customers', '9', '--products', '7', '--orders', '25', '--events', '50', '--json']);
    expect(again.code, again.err).toBe(0);
    expect(again.json().outcomes).toMatchObject({ accepted: 0, duplicate: again.json().calls, quarantined: 0 });
  });
});

describe('c360 seed sizes', () => {
  it('scales orders, events and products with --customers unless they are given', async () => {
    const r = await c360(['--tenant', 'scaled', 'seed', '--customers', '7', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(r.json()).toMatchObject({ customers: 7, products: 7, orders: 70, events: 140 });
    const given = await c360(['--tenant', 'given', 'seed', '--customers', '3', '--orders', '4', '--json']);
    expect(given.code, given.err).toBe(0);
    expect(given.json()).toMatchObject({ customers: 3, products: 3, orders: 4, events: 60 });
  });
});

describe('c360 seed interrupted', () => {
  const spawnSeed = (args: string[]) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, C360_DATA_DIR: dir, C360_TENANT: 'interrupted', C360_STORE: 'sqlite', C360_DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const closed = new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    return { child, closed, out: () => out, err: () => err };
  };
  const args = ['seed', '--customers', '400', '--json'];

  it('Ctrl-C says what was done and how to resume, exits 130, and the same command again finishes the job', async () => {
    const first = spawnSeed(args);
    // the first progress line comes after a second, with the rate and the time left
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (/^seed: \d+% [\d,]+ calls, [\d,]+ merges?, [\d,.]+ calls\/s, .+ left \(\d/m.test(first.err())) {
          clearInterval(timer);
          resolve();
        }
      }, 50);
      first.closed.then(() => {
        clearInterval(timer);
        reject(new Error(`ended before any progress: ${first.err()}`));
      });
    });
    first.child.kill('SIGINT');
    expect(await first.closed, first.err()).toBe(130);
    const partial = JSON.parse(first.out()) as { calls: number; planned: number; interrupted: boolean; outcomes: { accepted: number } };
    expect(partial.interrupted).toBe(true);
    expect(partial.calls).toBeGreaterThan(0);
    expect(partial.calls).toBeLessThan(partial.planned);
    expect(first.err()).toMatch(/interrupted: [\d,]+ of [\d,]+ calls sent/);
    expect(first.err()).toMatch(/to resume, run the same command again \(c360 seed --customers 400 --products 200 --orders 4000 --events 8000 --seed 42\)/);

    const second = spawnSeed(args);
    expect(await second.closed, second.err()).toBe(0);
    const result = JSON.parse(second.out()) as { calls: number; outcomes: Record<string, number> };
    expect(result.calls).toBe(partial.planned);
    // what the first run sent is skipped as duplicates; the rest is new
    expect(result.outcomes).toMatchObject({ duplicate: partial.outcomes.accepted, accepted: partial.planned - partial.outcomes.accepted, quarantined: 0 });
  }, 120_000);
});

describe('c360 import interrupted', () => {
  it('Ctrl-C: the progress and the report stop at the line reached, exit 130, and the same command again imports the rest', async () => {
    const file = join(dir, 'interrupted.ndjson');
    const total = 2_000;
    const calls = Array.from({ length: total }, (_, i) => JSON.stringify({ type: 'identify', messageId: `int-${i}`, userId: `u-int-${i}` }));
    await writeFile(file, `${calls.join('\n')}\n`);
    const run = () => {
      const child = spawn(process.execPath, [BIN, 'import', file, '--json'], {
        env: { ...process.env, C360_DATA_DIR: dir, C360_TENANT: 'import-interrupted', C360_STORE: 'sqlite', C360_DEBUG: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const closed = new Promise<number | null>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', resolve);
      });
      return { child, closed, out: () => out, err: () => err };
    };
    const first = run();
    // the first progress line comes after a second: interrupt then
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (/^import \S+: \d+% [\d,]+ lines? done/m.test(first.err())) {
          clearInterval(timer);
          resolve();
        }
      }, 50);
      first.closed.then(() => {
        clearInterval(timer);
        reject(new Error(`ended before any progress: ${first.err()}`));
      });
    });
    first.child.kill('SIGINT');
    expect(await first.closed, first.err()).toBe(130);
    const partial = JSON.parse(first.out()) as { lines: number; accepted: number; interrupted: boolean; stoppedAtLine: number };
    expect(partial.interrupted).toBe(true);
    expect(partial.accepted).toBe(partial.lines);
    expect(partial.lines).toBeLessThan(total);
    expect(partial.stoppedAtLine).toBe(partial.lines + 1);
    const last = first
      .err()
      .split('\n')
      .filter((l) => l.startsWith('import '))
      .at(-1);
    const shown = /: (\d+)% ([\d,]+) lines? done, 0 rejected, stopped at line (\d+) \([\d.]+ s, stopped\)$/.exec(last ?? '');
    expect(shown, last).not.toBeNull();
    const bytes = (n: number) => Buffer.byteLength(calls.slice(0, n).join('\n')) + (n ? 1 : 0);
    expect(Number(shown![1])).toBe(Math.floor((bytes(partial.lines) * 100) / bytes(total)));
    expect(Number(shown![2]!.replaceAll(',', ''))).toBe(partial.lines);
    expect(Number(shown![3])).toBe(partial.stoppedAtLine);
    expect(first.err()).toMatch(new RegExp(`^interrupted: stopped at line ${partial.stoppedAtLine} of `, 'm'));

    const second = run();
    expect(await second.closed, second.err()).toBe(0);
    expect(JSON.parse(second.out())).toMatchObject({ lines: total, duplicate: partial.accepted, accepted: total - partial.accepted, rejected: 0 });
  }, 120_000);
});

/** util-linux's script(1), which runs a command on a pseudo-terminal (macOS's takes other arguments) */
const hasScript = (() => {
  try {
    return execFileSync('script', ['--version'], { encoding: 'utf8' }).includes('util-linux');
  } catch {
    return false;
  }
})();

describe('c360 seed interrupted on a terminal', () => {
  // on a terminal the progress is a bar drawn over its own line; stopping it puts the cursor back
  // where it began, so a line written while it ran was written over
  it.skipIf(!hasScript)(
    'Ctrl-C: the lines saying so stay whole below the stopped progress bar',
    async () => {
      const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
      const command = [process.execPath, BIN, 'seed', '--customers', '400'].map(quote).join(' ');
      const child = spawn('script', ['-qfec', command, '/dev/null'], {
        env: { ...process.env, C360_DATA_DIR: dir, C360_TENANT: 'tty-interrupted', C360_STORE: 'sqlite', C360_DEBUG: '' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const closed = new Promise<number | null>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', resolve);
      });
      try {
        // once the bar counts calls, the terminal's Ctrl-C: SIGINT to the command's process group
        await new Promise<void>((resolve, reject) => {
          const timer = setInterval(() => {
            if (/seed \[.*\] \d+% \| [\d,]+ calls/.test(out)) {
              clearInterval(timer);
              resolve();
            }
          }, 50);
          closed.then(() => {
            clearInterval(timer);
            reject(new Error(`ended before any progress: ${out}`));
          });
        });
        child.stdin.write('\u0003');
        expect(await closed, out).toBe(130);
      } finally {
        child.kill();
      }
      const screen = screenOf(out);
      const at = screen.indexOf('interrupted: finishing the calls in flight (Ctrl-C again to exit now)');
      expect(at, screen.join('\n')).toBeGreaterThan(0);
      expect(screen[at - 1]).toMatch(/^seed \[.*\] \d+% \| [\d,]+ calls/);
      expect(screen[at + 1]).toMatch(/^interrupted: [\d,]+ of [\d,]+ calls sent \([\d,]+ accepted, [\d,]+ duplicates?\) in [\d.]+ s; they are kept\.$/);
      expect(screen[at + 2]).toMatch(
        /^ {2}to resume, run the same command again \(c360 seed --customers 400 .*\): what is already seeded is skipped as duplicates$/,
      );
      expect(screen[at + 3]).toMatch(/^partly seeded tenant "tty-interrupted" \(seed 42\) in [\d.]+ s$/);
    },
    120_000,
  );
});

describe('c360 jobs on the memory store', () => {
  it('refuse at once, saying that the data would be dropped and what to use instead', async () => {
    const file = join(dir, 'calls.ndjson');
    await writeFile(file, `${JSON.stringify({ type: 'identify', messageId: 'm1', userId: 'u1', traits: { email: 'ada@example.com' } })}\n`);
    for (const argv of [['seed', '--customers', '2'], ['import', file], ['rebuild']]) {
      const r = await c360(argv, { C360_STORE: 'memory' });
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.err).toMatch(/^error: C360_STORE=memory: this command runs in its own process, so an in-memory store would be filled and dropped/);
      expect(r.err).toMatch(/Unset C360_STORE to use the embedded SQLite store/);
      expect(r.out).toBe('');
    }
  });
});

describe('c360 seed --url: to a running server', () => {
  const banner = (lines: string[], name: string) => lines.map((l) => new RegExp(`export ${name}=(\\S+)`).exec(l)?.[1]).find(Boolean)!;

  it('fills a memory server through /v1/batch, which a job on the memory store could not', async () => {
    const lines: string[] = [];
    const server = await serve(loadConfig({ C360_STORE: 'memory', PORT: '0', C360_TENANT: 'remote' }), (l) => lines.push(l));
    try {
      const r = await c360(['seed', '--customers', '6', '--url', server.url, '--write-key', banner(lines, 'WRITE_KEY'), '--json'], { C360_STORE: 'memory' });
      expect(r.code, r.err).toBe(0);
      const result = r.json();
      expect(result).toMatchObject({ url: server.url, customers: 6, orders: 60, events: 120, quarantined: 0 });
      expect(result.batches).toBeGreaterThanOrEqual(Math.ceil(result.calls / 100));
      const found = await fetch(`${server.url}/v1/customers?identifier=user_id:user-42-0`, {
        headers: { authorization: `Bearer ${banner(lines, 'ADMIN_TOKEN')}` },
      });
      expect(found.status).toBe(200);
      expect(((await found.json()) as { orders: { count: number } }).orders.count).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it('is not held by the default rate limit: one write key sends 3,000 calls at once, which the 1,000 calls/s default refused', async () => {
    const lines: string[] = [];
    const server = await serve(loadConfig({ C360_STORE: 'memory', PORT: '0', C360_TENANT: 'remote' }), (l) => lines.push(l));
    try {
      const authorization = `Basic ${Buffer.from(`${banner(lines, 'WRITE_KEY')}:`).toString('base64')}`;
      // three full batches, sent together: 3,000 calls, more than two seconds' worth of the old default
      const batch = (b: number) =>
        JSON.stringify({ batch: Array.from({ length: 1_000 }, (_, i) => ({ type: 'track', userId: `burst-${b}-${i}`, event: 'Burst Sent' })) });
      const answers = await Promise.all(
        [0, 1, 2].map((b) =>
          fetch(`${server.url}/v1/batch`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: batch(b) }),
        ),
      );
      const bodies = await Promise.all(answers.map((a) => a.json() as Promise<{ invalid?: unknown[] }>));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      expect(bodies.map((b) => b.invalid)).toEqual([[], [], []]);
    } finally {
      await server.close();
    }
  });

  it("takes the write key from the server's data dir, and says so when a key is refused", async () => {
    const dataDir = join(dir, 'served');
    const server = await serve(loadConfig({ PORT: '0', C360_DATA_DIR: dataDir, C360_TENANT: 'remote' }), () => {});
    try {
      const ok = await c360(['seed', '--customers', '2', '--url', server.url], { C360_DATA_DIR: dataDir });
      expect(ok.code, ok.err).toBe(0);
      expect(ok.out).toMatch(new RegExp(`^sent seed 42 to ${server.url} in `, 'm'));
      const bad = await c360(['seed', '--customers', '2', '--url', server.url, '--write-key', 'wk_not-the-right-one-at-all']);
      expect(bad.code).toBe(1);
      expect(bad.err).toMatch(new RegExp(`^error: the server at ${server.url} answered 401 to a batch: .*check the write key`, 'm'));
      const closed = await freePort(); // nothing listens there
      const down = await c360(['seed', '--customers', '2', '--url', `http://127.0.0.1:${closed}`, '--write-key', 'wk_whatever-key-1234']);
      expect(down.code).toBe(1);
      expect(down.err).toMatch(new RegExp(`^error: cannot reach the server at http://127\\.0\\.0\\.1:${closed} \\(ECONNREFUSED\\): is it running`, 'm'));
    } finally {
      await server.close();
    }
  });
});

describe('c360 seed --url with the admin token: each call as its source', () => {
  const banner = (lines: string[], name: string) => lines.map((l) => new RegExp(`export ${name}=(\\S+)`).exec(l)?.[1]).find(Boolean)!;
  /** what a view says about where its facts came from: ids and event ids differ between two stores, these do not */
  const provenance = (view: any) => ({
    identifiers: Object.values(view.identifiers as Record<string, any>)
      .map((i) => `${i.type}:${i.value}:${i.source}`)
      .sort(),
    traits: Object.fromEntries(Object.entries(view.traits as Record<string, any>).map(([k, t]) => [k, { value: t.value, source: t.source }])),
    channels: Object.fromEntries(Object.entries(view.channels as Record<string, any>).map(([k, a]) => [k, a.count])),
    orders: view.orders,
    eventCount: view.eventCount,
  });
  const viewOf = async (url: string, token: string, n: number) => {
    const res = await fetch(`${url}/v1/customers?identifier=user_id:user-42-${n}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    return res.json();
  };

  it('stores what a seed into the store writes: the same sources, channels and traits per person', async () => {
    const customers = 6;
    // a seed into the store, read back through a server on that store
    const directDir = join(dir, 'direct-sources');
    const direct = await c360(['seed', '--customers', String(customers), '--json'], { C360_DATA_DIR: directDir });
    expect(direct.code, direct.err).toBe(0);
    const directLines: string[] = [];
    const directServer = await serve(loadConfig({ PORT: '0', C360_DATA_DIR: directDir, C360_TENANT: 'seeded' }), (l) => directLines.push(l));
    const lines: string[] = [];
    const server = await serve(loadConfig({ C360_STORE: 'memory', PORT: '0', C360_TENANT: 'remote' }), (l) => lines.push(l));
    try {
      const sent = await c360(['seed', '--customers', String(customers), '--url', server.url, '--admin-token', banner(lines, 'ADMIN_TOKEN'), '--json'], {
        C360_STORE: 'memory',
      });
      expect(sent.code, sent.err).toBe(0);
      const result = sent.json();
      expect(result).toMatchObject({ calls: direct.json().calls, quarantined: 0 });
      expect(result.bySource).toEqual(direct.json().bySource);
      expect(Object.keys(result.bySource).sort()).toEqual(['crm', 'mobile', 'support', 'web']);
      // a person's source changes every few calls (a batch per run of one person's calls took 48
      // batches here): a batch takes the next calls of every person waiting on its source
      expect(result.batches).toBeLessThanOrEqual(Math.ceil(result.calls / 6));
      const seen = new Set<string>();
      for (let n = 0; n < customers; n++) {
        const remote = provenance(await viewOf(server.url, banner(lines, 'ADMIN_TOKEN'), n));
        expect(remote).toEqual(provenance(await viewOf(directServer.url, banner(directLines, 'ADMIN_TOKEN'), n)));
        for (const i of remote.identifiers) seen.add(i.split(':').at(-1)!);
        for (const t of Object.values(remote.traits)) seen.add((t as { source: string }).source);
      }
      // not vacuous: the people's facts came from several sources, and the views agree on which
      expect([...seen].sort()).toEqual(expect.arrayContaining(['crm', 'mobile', 'web']));
    } finally {
      await server.close();
      await directServer.close();
    }
  });

  it("sends each person's calls once and in order, from several senders whose windows refill, in batches of one source and at most 100 calls", async () => {
    // 2 senders: windows of 200 people, so 500 people refill them
    const customers = 500;
    const plan = generateSeed({ customers, products: 200, orders: customers * 10, events: customers * 20, seed: 42 });
    const person = new Map<string, { who: number; source: string }>();
    const expected: string[][] = [];
    for (const calls of plan.people) {
      const who = expected.length;
      expected.push(calls.map((c) => (person.set(c.call.messageId as string, { who, source: c.source }), c.call.messageId as string)));
    }
    // a server that answers every batch after a short, varying wait, so that the senders interleave;
    // it records each batch's source and calls, and the people with calls in a batch in flight
    const batches: { source: string | undefined; ids: string[] }[] = [];
    const busy = new Set<number>();
    let overlapping = 0;
    let mostInFlight = 0;
    let open = 0;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const ids = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { batch: { messageId: string }[] }).batch.map((c) => c.messageId);
        const n = batches.push({ source: req.headers['c360-source'] as string | undefined, ids }) - 1;
        const people = new Set(ids.map((id) => person.get(id)?.who ?? -1));
        for (const p of people) if (busy.has(p)) overlapping++;
        for (const p of people) busy.add(p);
        mostInFlight = Math.max(mostInFlight, ++open);
        setTimeout(
          () => {
            open--;
            for (const p of people) busy.delete(p);
            res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true,"invalid":[]}');
          },
          1 + (n % 7),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const sent = await c360([
        'seed',
        '--customers',
        String(customers),
        '--concurrency',
        '2',
        '--url',
        url,
        '--admin-token',
        'any-admin-token-the-test-server-takes',
        '--json',
      ]);
      expect(sent.code, sent.err).toBe(0);
      expect(sent.json().calls).toBe(plan.stats.calls);
      const received: string[][] = expected.map(() => []);
      for (const b of batches) {
        expect(b.ids.length).toBeGreaterThan(0);
        expect(b.ids.length).toBeLessThanOrEqual(100);
        for (const id of b.ids) {
          const p = person.get(id);
          expect(p, id).toBeDefined();
          expect(p!.source).toBe(b.source);
          received[p!.who]!.push(id);
        }
      }
      // every call once, and each person's in the order of the plan, never in two batches at once
      expect(received).toEqual(expected);
      expect(overlapping).toBe(0);
      // not vacuous: both senders had batches in flight at once, and batches held many calls
      expect(mostInFlight).toBe(2);
      expect(batches.length).toBeLessThan(plan.stats.calls / 20);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('is refused to a write key, naming the header: a key handed to a browser cannot claim the priority of the CRM', async () => {
    const lines: string[] = [];
    const server = await serve(loadConfig({ C360_STORE: 'memory', PORT: '0', C360_TENANT: 'remote' }), (l) => lines.push(l));
    try {
      const res = await fetch(`${server.url}/v1/identify`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${banner(lines, 'WRITE_KEY')}:`).toString('base64')}`,
          'content-type': 'application/json',
          'c360-source': 'crm',
        },
        body: JSON.stringify({ userId: 'u-src', traits: { email: 'src@example.com' } }),
      });
      expect(res.status).toBe(403);
      const body = (await res.json()) as { error: { code: string; issues: { path: string }[] } };
      expect(body.error.code).toBe('FORBIDDEN');
      expect(body.error.issues.map((i) => i.path)).toEqual(['C360-Source']);
      const bad = await fetch(`${server.url}/v1/identify`, {
        method: 'POST',
        headers: { authorization: `Bearer ${banner(lines, 'ADMIN_TOKEN')}`, 'content-type': 'application/json', 'c360-source': 'not a source!' },
        body: JSON.stringify({ userId: 'u-src', traits: { email: 'src@example.com' } }),
      });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { issues: { path: string }[] } }).error.issues.map((i) => i.path)).toEqual(['C360-Source']);
    } finally {
      await server.close();
    }
  });
});

describe('c360 import --url: to a running server', () => {
  it('refused by the server: the progress shows nothing sent (not 100%) and where to start again', async () => {
    const server = await serve(loadConfig({ C360_STORE: 'memory', PORT: '0', C360_TENANT: 'remote' }), () => {});
    try {
      const file = join(dir, 'refused.ndjson');
      await writeFile(file, `${[1, 2, 3].map((i) => JSON.stringify({ type: 'identify', messageId: `rf${i}`, userId: `u-rf-${i}` })).join('\n')}\n`);
      const r = await c360(['import', file, '--url', server.url, '--write-key', 'wk_not-the-right-one-at-all'], { C360_STORE: 'memory' });
      expect(r.code).toBe(1);
      expect(r.err).toMatch(new RegExp(`^error: ${file}: stopped at line 1: the server at ${server.url} answered 401`, 'm'));
      const progress = r.err.split('\n').filter((l) => l.startsWith('import '));
      expect(progress.at(-1)).toMatch(/^import \S+: 0% 0 lines done, 0 rejected, stopped at line 1 \([\d.]+ s, stopped\)$/);
      expect(r.err).not.toMatch(/100%/);
    } finally {
      await server.close();
    }
  });

  it('sends the file in order as batches; lines that are not calls and calls the server refuses are listed by line', async () => {
    const lines: string[] = [];
    const server = await serve(loadConfig({ C360_STORE: 'memory', PORT: '0', C360_TENANT: 'remote' }), (l) => lines.push(l));
    const key = (name: string) => lines.map((l) => new RegExp(`export ${name}=(\\S+)`).exec(l)?.[1]).find(Boolean)!;
    try {
      const file = join(dir, 'remote.ndjson');
      const calls = [
        { type: 'identify', messageId: 'r1', userId: 'u-remote', traits: { email: 'remote@example.com' } },
        '{not json',
        { type: 'track', messageId: 'r2', userId: 'u-remote', event: 'Order Completed', properties: { order_id: 'o1', revenue: 10 } },
        // refused whole (a mistyped email alone is rejected as an identifier, the call kept)
        { type: 'track', messageId: 'r3', userId: 'u-bad', event: 'Order Completed', properties: { order_id: 'o2', revenue: -5 } },
        ...Array.from({ length: 150 }, (_, i) => ({ type: 'page', messageId: `p${i}`, userId: 'u-remote', name: `Page ${i}` })),
      ];
      await writeFile(file, `${calls.map((c) => (typeof c === 'string' ? c : JSON.stringify(c))).join('\n')}\n`);
      const r = await c360(['import', file, '--url', server.url, '--write-key', key('WRITE_KEY'), '--json'], { C360_STORE: 'memory' });
      expect(r.code, r.err).toBe(0);
      const result = r.json();
      // each line counted once: 153 sent (1 of them refused by the server) and 1 not sent
      expect(result).toMatchObject({ lines: 154, sent: 153, rejected: 2, refusedByServer: 1, notSent: 1 });
      expect(result.rejectedLines.map((l: { line: number; code: string }) => [l.line, l.code])).toEqual([
        [2, 'MALFORMED_JSON'],
        [4, 'VALIDATION_FAILED'],
      ]);
      expect(result.rejectedLines[1].quarantineId).toEqual(expect.any(String));
      // the server's message and field issues, not only its code
      expect(result.rejectedLines[1].message).toMatch(/^properties\.revenue must not be negative/);
      expect(result.rejectedLines[1].issues).toEqual([{ path: 'properties.revenue', message: expect.any(String) }]);
      expect(result.rejectedLines[0]).toMatchObject({ code: 'MALFORMED_JSON', issues: [expect.objectContaining({ path: expect.any(String) })] });
      const found = await fetch(`${server.url}/v1/customers?identifier=email:remote@example.com`, {
        headers: { authorization: `Bearer ${key('ADMIN_TOKEN')}` },
      });
      expect(found.status).toBe(200);
      expect(((await found.json()) as { orders: { count: number } }).orders.count).toBe(1);
    } finally {
      await server.close();
    }
  });
});

describe('c360 import --url: the unchanged file again', () => {
  it('adds no second quarantine entry: its refused lines are reported under the ids of the entries holding them', async () => {
    const lines: string[] = [];
    const server = await serve(loadConfig({ C360_STORE: 'memory', PORT: '0', C360_TENANT: 'remote' }), (l) => lines.push(l));
    const key = (name: string) => lines.map((l) => new RegExp(`export ${name}=(\\S+)`).exec(l)?.[1]).find(Boolean)!;
    const quarantined = async () => {
      const res = await fetch(`${server.url}/v1/quarantine?limit=500`, { headers: { authorization: `Bearer ${key('ADMIN_TOKEN')}` } });
      return ((await res.json()) as { items: { id: string }[] }).items.map((i) => i.id);
    };
    try {
      const file = join(dir, 'remote-again.ndjson');
      const calls = [
        { type: 'identify', messageId: 'ra1', userId: 'u-again' },
        // refused by its shape at the edge; no messageId of its own (the import gives it one from the file)
        { type: 'track', userId: 'u-again' },
        // refused after validation
        { type: 'track', messageId: 'ra3', userId: 'u-again', event: 'Order Completed', properties: { order_id: 'o1', revenue: -5 } },
      ];
      await writeFile(file, `${calls.map((c) => JSON.stringify(c)).join('\n')}\n`);
      const run = async () => {
        const r = await c360(['import', file, '--url', server.url, '--write-key', key('WRITE_KEY'), '--json'], { C360_STORE: 'memory' });
        expect(r.code, r.err).toBe(0);
        return (r.json().rejectedLines as { line: number; quarantineId: string }[]).map((l) => [l.line, l.quarantineId]);
      };
      const first = await run();
      expect(first.map(([line]) => line)).toEqual([2, 3]);
      const held = await quarantined();
      expect(held).toHaveLength(1);
      expect(await run()).toEqual(first);
      expect(await quarantined()).toEqual(held);
    } finally {
      await server.close();
    }
  });
});

describe('c360 import --url: bounds', () => {
  it('sends no line out of the bounds of a call (too deep, too large): each is listed as not sent, and its batch goes through', async () => {
    const lines: string[] = [];
    const server = await serve(loadConfig({ C360_STORE: 'memory', PORT: '0', C360_TENANT: 'remote' }), (l) => lines.push(l));
    const key = (name: string) => lines.map((l) => new RegExp(`export ${name}=(\\S+)`).exec(l)?.[1]).find(Boolean)!;
    try {
      const file = join(dir, 'remote-bounds.ndjson');
      const nest = (levels: number, messageId: string) =>
        `{"type":"identify","messageId":"${messageId}","userId":"u-deep","traits":{"x":${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}}}`;
      const text = [
        JSON.stringify({ type: 'identify', messageId: 'rb1', userId: 'u-bounds', traits: { email: 'bounds@example.com' } }),
        nest(20_000, 'deep'),
        nest(98, 'd100'),
        // 64 levels, as a call sent alone may be: taken inside a batch too
        nest(62, 'd64'),
        JSON.stringify({ type: 'track', messageId: 'big', userId: 'u-bounds', event: 'E', properties: { s: 'x'.repeat(40_000) } }),
      ].join('\n');
      await writeFile(file, `${text}\n`);
      const r = await c360(['import', file, '--url', server.url, '--write-key', key('WRITE_KEY'), '--json'], { C360_STORE: 'memory' });
      expect(r.code, r.err).toBe(0);
      const result = r.json();
      expect(result).toMatchObject({ lines: 5, sent: 2, rejected: 3, refusedByServer: 0, notSent: 3 });
      expect(result.rejectedLines.map((l: { line: number; code: string }) => [l.line, l.code])).toEqual([
        [2, 'NESTING_TOO_DEEP'],
        [3, 'NESTING_TOO_DEEP'],
        [5, 'CALL_TOO_LARGE'],
      ]);
      // a line not sent is a line done: the progress ends on every line, not stuck before the first of them
      expect(r.err).toMatch(/: 100% 5 lines done, 3 rejected \([\d.]+ s, done\)/);
    } finally {
      await server.close();
    }
  });
});

/** runs the bin as a process of its own (the server's lock names another pid, as with `npm start` in one shell and a job in another) */
const bin = async (argv: string[], env: Record<string, string>) => {
  const child = spawn(process.execPath, [BIN, ...argv], { env: { ...process.env, C360_DEBUG: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const started = Date.now();
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  return { code, out, err, seconds: (Date.now() - started) / 1000 };
};

/** streams in the tenant's log and stored views in that SQLite file */
const counted = async (file: string, tenant: string) => {
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const streams = db.prepare('SELECT COUNT(DISTINCT stream_id) AS n FROM events WHERE tenant = ?').get(tenant) as { n: number };
    const views = db.prepare('SELECT COUNT(*) AS n FROM view_docs WHERE tenant = ?').get(tenant) as { n: number };
    return { streams: streams.n, views: views.n };
  } finally {
    db.close();
  }
};

const PROJECTED_BY_SERVER = /^projected by the server/gm;

describe('c360 jobs beside a running server', () => {
  let dataDir: string;
  let server: Awaited<ReturnType<typeof serve>>;
  const env = () => ({ C360_DATA_DIR: dataDir, C360_TENANT: 'beside', C360_STORE: 'sqlite' });
  beforeAll(async () => {
    dataDir = join(dir, 'beside-server');
    server = await serve(loadConfig({ PORT: '0', C360_DATA_DIR: dataDir, C360_TENANT: 'beside', C360_LAKE: 'off' }), () => {});
  });
  afterAll(async () => {
    await server?.close();
  });

  it('on the same SQLite file: leaves the projection to the server (which runs it on the other core), says so once and exits once every view is stored', async () => {
    const r = await bin(['seed', '--customers', '30', '--json'], env());
    expect(r.code, r.err).toBe(0);
    const said = r.err.match(PROJECTED_BY_SERVER) ?? [];
    expect(said, r.err).toHaveLength(1);
    expect(r.err).toMatch(
      new RegExp(
        `^projected by the server \\(pid ${process.pid}, ${server.url}\\) running on .*beside-server/c360\\.sqlite \\(waited [\\d.]+ s for it to catch up\\)$`,
        'm',
      ),
    );
    const result = JSON.parse(r.out) as { calls: number };
    expect(result.calls).toBeGreaterThan(30);
    // every customer the log holds has its stored view when the job has exited (not folded on read)
    const { streams, views } = await counted(join(dataDir, 'c360.sqlite'), 'beside');
    expect(streams).toBeGreaterThanOrEqual(30);
    expect(views).toBe(streams);
  });

  it('on the same file named through a symlinked directory: the server projects it (the real paths are the same)', async () => {
    const link = join(dir, 'beside-link');
    await symlink(dataDir, link);
    const r = await bin(['seed', '--customers', '3', '--seed', '7', '--json'], { ...env(), C360_SQLITE_FILE: join(link, 'c360.sqlite') });
    expect(r.code, r.err).toBe(0);
    expect(r.err.match(PROJECTED_BY_SERVER) ?? [], r.err).toHaveLength(1);
  });

  it('on another SQLite file in the same data dir: projects its writes itself, at once, and notes that the server does not serve that file', async () => {
    const other = join(dir, 'other-file', 'c360.sqlite');
    await mkdir(dirname(other), { recursive: true });
    const serverHeld = await counted(join(dataDir, 'c360.sqlite'), 'beside');
    const r = await bin(['seed', '--customers', '3', '--json'], { ...env(), C360_SQLITE_FILE: other });
    expect(r.code, r.err).toBe(0);
    expect(r.err).not.toMatch(PROJECTED_BY_SERVER);
    expect(
      r.err.match(
        /^note: the server \(pid \d+, http:[^)]+\) on .* serves .*beside-server\/c360\.sqlite, not .*other-file\/c360\.sqlite where this job wrote: it does not see these writes/gm,
      ) ?? [],
      r.err,
    ).toHaveLength(1);
    // it did not wait for a server that never projects this file (the wait gives up after 120 s)
    expect(r.seconds).toBeLessThan(60);
    const { streams, views } = await counted(other, 'beside');
    expect(streams).toBeGreaterThanOrEqual(3);
    expect(views).toBe(streams);
    // the server's file holds none of it
    expect(await counted(join(dataDir, 'c360.sqlite'), 'beside')).toEqual(serverHeld);
  });

  it('a command that writes nothing (a read, a failure) says nothing of the server', async () => {
    const listed = await bin(['quarantine', 'list'], env());
    expect(listed.code, listed.err).toBe(0);
    expect(listed.err).not.toMatch(/server/);
    const failed = await bin(['export', 'cus_unknown'], env());
    expect(failed.code).not.toBe(0);
    expect(failed.err).not.toMatch(/server/);
  });
});
