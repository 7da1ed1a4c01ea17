import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** A DynamoDB Local already serving this data dir (a running server), which a CLI job must share: two on one file would corrupt it. */
const running = async (file: string): Promise<string | undefined> => {
  try {
    const { endpoint, pid } = JSON.parse(readFileSync(file, 'utf8')) as { endpoint: string; pid: number };
    return alive(pid) && (await answers(endpoint)) ? endpoint : undefined;
  } catch {
    return undefined;
  }
};

export const startEmbeddedDynamoDb = async (config: Config): Promise<Embedded> => {
  if (config.store !== 'dynamodb' || config.dynamoEndpoint) return { config, stop: async () => {} };
  const dataDir = resolve(join(config.dataDir, 'dynamodb'));
  const endpointFile = join(dataDir, 'endpoint.json');
  const shared = await running(endpointFile);
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
  try {
    dynamo = await startDynamoDbLocal({ dataDir, timeoutMs: 60_000 });
  } catch (e) {
    throw new EmbeddedUnavailable(`DynamoDB Local (java ${java}) did not start: ${(e as Error).message}. Or run on the embedded store: C360_STORE=sqlite`);
  }
  writeFileSync(endpointFile, JSON.stringify({ endpoint: dynamo.endpoint, pid: dynamo.pid }), { mode: 0o600 });
  const stop = async () => {
    rmSync(endpointFile, { force: true });
    await dynamo.stop();
  };
  return { config: { ...config, dynamoEndpoint: dynamo.endpoint }, dynamo, stop };
};
