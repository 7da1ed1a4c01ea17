import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

// `npm start` as a user runs it: through npm itself (`viaNpm`), or its entry point
// (src/infrastructure/main.ts) in a child, which a test can kill -9 without npm in between.

export const MAIN = new URL('../../src/infrastructure/main.ts', import.meta.url).pathname;
const ROOT = new URL('../..', import.meta.url).pathname;

export const baseEnv = (): NodeJS.ProcessEnv => {
  // the embedded default must not depend on the test runner's AWS variables
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_ENDPOINT_URL') && !k.startsWith('C360_')));
  return { ...env, PORT: '0' };
};

export type Started = { child: ChildProcess; url: string; writeKey: string; adminToken: string; stderr: () => string; stdout: () => string };

/** `npm start` in a child process; resolves once it printed its URL and credentials. */
export const startMain = (env: NodeJS.ProcessEnv, options: { readonly viaNpm?: boolean } = {}): Promise<Started> =>
  new Promise((resolve, reject) => {
    const [command, args] = options.viaNpm ? ['npm', ['start', '--silent']] : [process.execPath, ['--import', 'tsx', MAIN]];
    const child = spawn(command, args, { cwd: ROOT, env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    let stdout = '';
    const found: Partial<Started> = { child, stderr: () => stderr, stdout: () => stdout };
    createInterface({ input: child.stdout! }).on('line', (line) => {
      stdout += `${line}\n`;
      found.url ??= /API on (http:\/\/[^ ]+)/.exec(line)?.[1];
      found.writeKey ??= /^\s*export WRITE_KEY=(\S+)/.exec(line)?.[1];
      found.adminToken ??= /^\s*export ADMIN_TOKEN=(\S+)/.exec(line)?.[1];
      if (found.url && found.writeKey && found.adminToken) resolve(found as Started);
    });
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code} before serving: ${stderr}`)));
    const timer = setTimeout(() => {
      child.kill('SIGTERM'); // graceful: main stops what it started
      reject(new Error(`npm start did not serve within 90 s; stdout so far: ${JSON.stringify(found)}; stderr: ${stderr.slice(-2_000)}`));
    }, 90_000);
    timer.unref();
  });

export const stop = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
