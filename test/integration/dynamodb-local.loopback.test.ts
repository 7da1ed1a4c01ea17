import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SHARED_DB_FILE, startDynamoDbLocal, type DynamoDbLocal } from '../../src/infrastructure/local/dynamodb-local.js';
import { IPV4_LOOPBACK, listenersOn, listeningPorts, processTree } from '../support/listening.js';

// DynamoDB Local asks for no credentials, so it must not be reachable from other machines: it is
// started through the loopback launcher, and the kernel's socket tables (/proc/net/tcp, tcp6) show
// its port on 127.0.0.1 alone. Its data is the user's alone: the dir 0700, the database file 0600.
// A Java that cannot run the launcher still gets a DynamoDB Local, with a warning that says where it listens.

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'c360-ddblocal-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const clientOn = (endpoint: string) =>
  new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });

const writeSomething = async (endpoint: string): Promise<void> => {
  const client = clientOn(endpoint);
  try {
    await client.send(
      new CreateTableCommand({
        TableName: 'loopback-check',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await client.send(new PutItemCommand({ TableName: 'loopback-check', Item: { pk: { S: 'a' } } }));
  } finally {
    client.destroy();
  }
};

const portOf = (endpoint: string) => Number(new URL(endpoint).port);

describe('DynamoDB Local on loopback', () => {
  it("the tests' shared instance (global setup) listens on 127.0.0.1 only", () => {
    const listeners = listenersOn(portOf(inject('dynamoEndpoint')));
    expect(listeners.length).toBeGreaterThan(0);
    expect(new Set(listeners)).toEqual(new Set([IPV4_LOOPBACK]));
  });

  it('listens on 127.0.0.1 only, keeps its dir 0700 and its database file 0600 (tightened from an older, readable run)', async () => {
    const dataDir = join(root, 'data');
    // what a run before this change left: a readable dir and file
    await mkdir(dataDir, { mode: 0o755 });
    await chmod(dataDir, 0o755);
    await writeFile(join(dataDir, SHARED_DB_FILE), '', { mode: 0o644 });
    await chmod(join(dataDir, SHARED_DB_FILE), 0o644);
    let dynamo: DynamoDbLocal | undefined;
    try {
      dynamo = await startDynamoDbLocal({ dataDir });
      expect(dynamo.loopbackOnly).toBe(true);
      const sockets = processTree(dynamo.pid).flatMap((pid) => listeningPorts(pid));
      expect(sockets).toEqual([{ address: IPV4_LOOPBACK, port: portOf(dynamo.endpoint) }]);
      expect(listenersOn(portOf(dynamo.endpoint))).toEqual([IPV4_LOOPBACK]);

      await writeSomething(dynamo.endpoint);
      const file = await stat(join(dataDir, SHARED_DB_FILE));
      expect(file.size).toBeGreaterThan(0); // the tables are in this file
      expect(file.mode & 0o777).toBe(0o600);
      expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    } finally {
      await dynamo?.stop();
    }
  }, 120_000);

  it('creates a fresh data dir 0700 with its database file 0600', async () => {
    const dataDir = join(root, 'fresh', 'dynamodb');
    const dynamo = await startDynamoDbLocal({ dataDir });
    try {
      await writeSomething(dynamo.endpoint);
      expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
      expect((await stat(join(dataDir, SHARED_DB_FILE))).mode & 0o777).toBe(0o600);
    } finally {
      await dynamo.stop();
    }
  }, 120_000);

  it('with a Java that cannot run source files (no jdk.compiler), falls back to the plain jar and warns that it listens on every interface', async () => {
    const real = spawnSync('sh', ['-c', 'command -v java'], { encoding: 'utf8' }).stdout.trim();
    expect(real).not.toBe('');
    // a JRE: the same java, minus the compiler module in its module list
    const jre = join(root, 'jre-java');
    await writeFile(jre, `#!/bin/sh\nif [ "$1" = "--list-modules" ]; then echo java.base@17; exit 0; fi\nexec ${real} "$@"\n`, { mode: 0o755 });
    const warnings: string[] = [];
    const dynamo = await startDynamoDbLocal({ java: jre, warn: (m) => warnings.push(m) });
    try {
      expect(dynamo.loopbackOnly).toBe(false);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('jdk.compiler');
      expect(warnings[0]).toContain('LISTENS ON EVERY INTERFACE');
      const listeners = listenersOn(portOf(dynamo.endpoint));
      expect(listeners.length).toBeGreaterThan(0);
      expect(listeners).not.toContain(IPV4_LOOPBACK); // the wildcard address: what the launcher prevents
    } finally {
      await dynamo.stop();
    }
  }, 120_000);
});
