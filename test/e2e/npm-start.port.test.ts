import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/infrastructure/config.js';
import { PortInUse, portError } from '../../src/infrastructure/port-check.js';
import { MAIN, baseEnv } from '../support/main-process.js';

// `npm start` on a port that is already taken, or on a C360_HOST it cannot listen on: one clear
// line at once, before anything is started.

let root: string;
let taken: Server;
let port: number;

/** the port after the taken one, taken too: the suggestion must skip it */
let next: Server;

const listen = (server: Server, p: number) =>
  new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(p, '127.0.0.1', () => resolve(true));
  });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'c360-port-'));
  // two ports side by side, both taken
  for (;;) {
    taken = createServer();
    await listen(taken, 0);
    port = (taken.address() as AddressInfo).port;
    next = createServer();
    if (port < 65_535 && (await listen(next, port + 1))) break;
    await new Promise((resolve) => taken.close(resolve));
  }
});
afterAll(async () => {
  await new Promise((resolve) => taken.close(resolve));
  await new Promise((resolve) => next.close(resolve));
  await rm(root, { recursive: true, force: true });
});

/** `npm start`'s entry point in a child; `preload`: a module loaded first (--import) */
const run = (env: NodeJS.ProcessEnv, preload?: string) =>
  new Promise<{ code: number | null; out: string; err: string; ms: number }>((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', ...(preload ? ['--import', preload] : []), MAIN], {
      env: { ...baseEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err, ms: Date.now() - started });
    });
  });

describe('npm start on a taken port', () => {
  it.each([
    ['the embedded default', 'sqlite'],
    ['DynamoDB Local', 'dynamodb'],
  ])('says which port is taken and how to pick another, at once, and starts nothing (%s)', async (_, store) => {
    const dataDir = join(root, store);
    const r = await run({ PORT: String(port), C360_DATA_DIR: dataDir, C360_STORE: store });
    expect(r.code).toBe(1);
    const said =
      /^cannot start: port (\d+) on 127\.0\.0\.1 is already in use \(another c360 server, or another program\)\. Stop it, or pick another port: PORT=(\d+) npm start \(free just now; PORT=0 picks a free one\)$/.exec(
        r.err.trim(),
      );
    expect(said, r.err).not.toBeNull();
    expect(Number(said![1])).toBe(port);
    // not the next port, which is taken too: one that was free when suggested
    expect(Number(said![2])).toBeGreaterThan(port + 1);
    expect(Number(said![2])).toBeLessThanOrEqual(port + 21);
    expect(r.out).toBe('');
    // checked before the store: nothing was created, no DynamoDB Local was started (that alone takes seconds)
    expect(existsSync(dataDir)).toBe(false);
    expect(r.ms).toBeLessThan(8_000);
  });
});

// The tests run as root, who may listen on any port: a preload makes listen() on a port below 1024
// fail as the kernel fails it for any other user (EACCES), so the server's own path is what runs.
const AS_A_USER = join(import.meta.dirname, '../support/listen-eacces.mjs');

describe('npm start on a port this user may not listen on', () => {
  const refused = (p: number, why: string) =>
    `PORT: port ${p} on 127.0.0.1 may not be listened on by this user (EACCES: ${why}). Pick a port of 1024 or above, e.g. PORT=3000 npm start (the default; PORT=0 picks a free one), and put a reverse proxy in front if it must answer on port ${p}`;

  it('PORT=80 is one configuration error line naming PORT and what to do, no stack, exit 1, nothing started', async () => {
    const dataDir = join(root, 'privileged');
    const r = await run({ PORT: '80', C360_DATA_DIR: dataDir }, AS_A_USER);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe(`configuration error: ${refused(80, 'ports below 1024 need root or the CAP_NET_BIND_SERVICE capability')}`);
    expect(r.out).toBe('');
    expect(existsSync(dataDir)).toBe(false);
  });

  it('the same error when the server itself is refused the port (after the check), with the reason for a port of 1024 or above', () => {
    const eacces = Object.assign(new Error('listen EACCES: permission denied 127.0.0.1:8080'), { code: 'EACCES' });
    const e = portError(eacces, 8080, '127.0.0.1');
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toBe(refused(8080, 'the system refuses it to this user, e.g. by a security policy'));
  });
});

// No test binds a non-loopback address: a name that does not resolve fails in the lookup, and
// 192.0.2.1 (TEST-NET-1, never assigned to a machine) fails in bind() itself, sending nothing.
describe('npm start on a C360_HOST it cannot listen on', () => {
  const wayOut = "use 127.0.0.1 (the default: this machine only), 0.0.0.0 (every interface) or an address of one of this machine's interfaces";
  it.each([
    ['0.0.0.0.0', '0', `"0.0.0.0.0" is neither an IP address nor a host name that resolves (ENOTFOUND)`],
    ['no-such-host.invalid', 'taken', `"no-such-host.invalid" is neither an IP address nor a host name that resolves (ENOTFOUND)`],
    ['192.0.2.1', '0', '192.0.2.1 is not an address of this machine (EADDRNOTAVAIL)'],
    ['192.0.2.1', 'taken', '192.0.2.1 is not an address of this machine (EADDRNOTAVAIL)'],
  ])('C360_HOST=%s (PORT %s) is one configuration error line naming C360_HOST, no stack, exit 1, nothing started', async (host, which, why) => {
    const dataDir = join(root, `host-${host}-${which}`);
    const r = await run({ C360_HOST: host, PORT: which === 'taken' ? String(port) : '0', C360_DATA_DIR: dataDir });
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe(`configuration error: C360_HOST: ${why}; ${wayOut}`);
    expect(r.out).toBe('');
    // checked before the store, PORT=0 included: nothing was created
    expect(existsSync(dataDir)).toBe(false);
  });

  it('the same error when the server itself fails to listen (after the check)', () => {
    const listenError = (code: string) => Object.assign(new Error(`listen ${code}`), { code });
    const host = portError(listenError('EADDRNOTAVAIL'), 3000, '192.0.2.1');
    expect(host).toBeInstanceOf(ConfigError);
    expect((host as Error).message).toBe(`C360_HOST: 192.0.2.1 is not an address of this machine (EADDRNOTAVAIL); ${wayOut}`);
    expect(portError(listenError('EADDRINUSE'), 3000, '127.0.0.1')).toBeInstanceOf(PortInUse);
    const other = listenError('EMFILE');
    expect(portError(other, 3000, '127.0.0.1')).toBe(other);
  });
});
