import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config.js';
import { answers, startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local.js';

// DynamoDB emulated on this machine: when C360_STORE=dynamodb and no endpoint is configured,
// Amazon's DynamoDB Local runs from the npm package with its data under <data dir>/dynamodb (0700,
// its database file 0600), listening on 127.0.0.1 alone (see dynamodb-local.ts). The embedded
// default (SQLite) needs nothing started.

export class EmbeddedUnavailable extends Error {
  override readonly name = 'EmbeddedUnavailable';
}

export type Embedded = { readonly config: Config; readonly dynamo?: DynamoDbLocal | undefined; stop(): Promise<void> };

const javaVersion = (): string | undefined => {
  const out = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (out.error || out.status !== 0) return undefined;
  return /version "([^"]+)"/.exec(`${out.stderr}${out.stdout}`)?.[1] ?? 'unknown';
};

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Whether `pid` runs DynamoDB Local (its command line names the jar); unknown where /proc is not there. */
const isDynamoDbLocal = (pid: number): boolean | undefined => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('DynamoDBLocal');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync('/proc/self') ? undefined : false;
  }
};

type EndpointRecord = { readonly endpoint: string; readonly pid: number; readonly owner?: number | undefined };

const waitGone = async (pid: number, ms: number): Promise<boolean> => {
  for (const until = Date.now() + ms; Date.now() < until; ) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
};

/**
 * A DynamoDB Local already serving this data dir, which a CLI job must share (two on one file would
 * corrupt it): the one a running process (`owner`: a server, or another job) started. One whose
 * owner is gone is stale (left by a crash before DynamoDB Local ended with its owner, or by an older
 * version): it is stopped, so that a new one can be started and owned.
 */
const running = async (file: string, warn: (message: string) => void): Promise<string | undefined> => {
  let record: EndpointRecord;
  try {
    record = JSON.parse(readFileSync(file, 'utf8')) as EndpointRecord;
  } catch {
    return undefined;
  }
  const ownerAlive = record.owner !== undefined && alive(record.owner);
  if (ownerAlive && alive(record.pid) && (await answers(record.endpoint))) return record.endpoint;
  if (alive(record.pid) && (isDynamoDbLocal(record.pid) ?? (await answers(record.endpoint)))) {
    warn(`stopping a DynamoDB Local left running on ${record.endpoint} (pid ${record.pid}) by a process that is gone`);
    process.kill(record.pid, 'SIGTERM');
    if (!(await waitGone(record.pid, 10_000))) {
      process.kill(record.pid, 'SIGKILL');
      await waitGone(record.pid, 5_000);
    }
  }
  rmSync(file, { force: true });
  return undefined;
};

/** The endpoint of the DynamoDB Local a live process (a server, a job) runs for this data dir, if there is one; nothing is started or stopped. */
export const embeddedDynamoDbEndpoint = (dataDir: string): string | undefined => {
  try {
    const record = JSON.parse(readFileSync(join(resolve(dataDir), 'dynamodb', 'endpoint.json'), 'utf8')) as EndpointRecord;
    return record.owner !== undefined && alive(record.owner) && alive(record.pid) ? record.endpoint : undefined;
  } catch {
    return undefined;
  }
};

/** When DynamoDB Local takes longer than this to answer, say that it is starting (it takes 3-13 s). */
export const SLOW_START_MS = 1_000;

/** `progress` hears of a start that takes more than a second, and of its end. */
export const startEmbeddedDynamoDb = async (config: Config, progress?: (line: string) => void): Promise<Embedded> => {
  if (config.store !== 'dynamodb' || config.dynamoEndpoint) return { config, stop: async () => {} };
  const dataDir = resolve(join(config.dataDir, 'dynamodb'));
  const endpointFile = join(dataDir, 'endpoint.json');
  const shared = await running(endpointFile, (m) => console.warn(`warning: ${m}`));
  if (shared) return { config: { ...config, dynamoEndpoint: shared }, stop: async () => {} };
  const java = javaVersion();
  if (!java) {
    throw new EmbeddedUnavailable(
      'the embedded DynamoDB Local needs Java 17 or newer, and `java` was not found. Install a JDK (Debian/Ubuntu: apt-get install openjdk-17-jdk-headless; a bare JRE runs it on every interface), ' +
        'point AWS_ENDPOINT_URL_DYNAMODB at a DynamoDB you run, or use the embedded store, which needs nothing: C360_STORE=sqlite npm start',
    );
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  let dynamo: DynamoDbLocal;
  const started = Date.now();
  let said = false;
  const slow = setTimeout(() => {
    said = true;
    progress?.(`starting DynamoDB Local (java ${java}) with its data in ${dataDir}; this takes a few seconds...`);
  }, SLOW_START_MS);
  try {
    dynamo = await startDynamoDbLocal({ dataDir, timeoutMs: 60_000 });
  } catch (e) {
    throw new EmbeddedUnavailable(`DynamoDB Local (java ${java}) did not start: ${(e as Error).message}. Or run on the embedded store: C360_STORE=sqlite`);
  } finally {
    clearTimeout(slow);
  }
  if (said) progress?.(`DynamoDB Local answering on ${dynamo.endpoint} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  writeFileSync(endpointFile, JSON.stringify({ endpoint: dynamo.endpoint, pid: dynamo.pid, owner: process.pid } satisfies EndpointRecord), { mode: 0o600 });
  const stop = async () => {
    rmSync(endpointFile, { force: true });
    await dynamo.stop();
  };
  return { config: { ...config, dynamoEndpoint: dynamo.endpoint }, dynamo, stop };
};
