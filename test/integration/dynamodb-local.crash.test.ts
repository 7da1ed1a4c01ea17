import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../src/infrastructure/local/dynamodb-local.js';

// An emulator's limit, shown rather than assumed (the README's store table points here): DynamoDB
// Local, on disk, answers a TransactWriteItems a moment before it is durable. A write is sent as the
// last call, DynamoDB Local is killed with SIGKILL the instant its 200 arrives, and is restarted on
// the same files. A single PutItem acknowledged that way is there after the restart; an acknowledged
// TransactWriteItems can be gone, whole (DynamoDB Local commits it after answering, or when the
// next call comes: under a stream of calls the earlier ones are kept). The kill has to land in that
// moment, so it is tried up to six times. DynamoDB itself (the service) makes no such exception.

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'c360-ddbcrash-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const TABLE = 'crash-check';
const clientOn = (endpoint: string) =>
  new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * One DynamoDB JSON call over plain HTTP, with SIGKILL sent to DynamoDB Local as soon as the
 * response's status line says 200: the call is acknowledged, and nothing after it reaches the server.
 */
const lastCallThenKill = (dynamo: DynamoDbLocal, target: string, body: object): Promise<number> =>
  new Promise((resolve, reject) => {
    const url = new URL(dynamo.endpoint);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': `DynamoDB_20120810.${target}`,
          // DynamoDB Local reads the credential's shape; it checks no signature
          authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00',
        },
      },
      (res) => {
        if (res.statusCode === 200) process.kill(dynamo.pid, 'SIGKILL');
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.once('error', reject);
    req.end(JSON.stringify(body));
  });

const has = async (endpoint: string, key: string): Promise<boolean> => {
  const client = clientOn(endpoint);
  try {
    return (await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: key } }, ConsistentRead: true }))).Item !== undefined;
  } finally {
    client.destroy();
  }
};

const put = (key: string) => ({ TableName: TABLE, Item: { pk: { S: key } } });

/** crash rounds at most; the first loss ends them */
const ROUNDS = 10;

describe('DynamoDB Local under kill -9 (an emulator limit)', () => {
  it('keeps an acknowledged PutItem, and can lose the acknowledged TransactWriteItems it answered last', async ({ skip }) => {
    const dataDir = join(root, 'data');
    let dynamo = await startDynamoDbLocal({ dataDir });
    /** SIGKILL already sent by lastCallThenKill: wait for the exit, check it, start again on the same files */
    const restart = async () => {
      await dynamo.kill();
      expect(alive(dynamo.pid), 'DynamoDB Local is really gone').toBe(false);
      dynamo = await startDynamoDbLocal({ dataDir });
    };
    const rounds: { key: string; kept: boolean }[] = [];
    try {
      const setup = clientOn(dynamo.endpoint);
      await setup.send(
        new CreateTableCommand({
          TableName: TABLE,
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      setup.destroy();

      // a single PutItem as the last call: acknowledged, killed at once, kept
      expect(await lastCallThenKill(dynamo, 'PutItem', put('put-last'))).toBe(200);
      await restart();
      expect(await has(dynamo.endpoint, 'put-last')).toBe(true);

      // a TransactWriteItems as the last call: acknowledged, killed at once, not always kept
      for (let round = 0; round < ROUNDS && rounds.every((r) => r.kept); round++) {
        const key = `tx-${round}`;
        const status = await lastCallThenKill(dynamo, 'TransactWriteItems', { TransactItems: [{ Put: put(key) }, { Put: put(`${key}-pair`) }] });
        expect(status).toBe(200);
        await restart();
        const [kept, pairKept] = [await has(dynamo.endpoint, key), await has(dynamo.endpoint, `${key}-pair`)];
        expect(pairKept, 'all or nothing').toBe(kept);
        rounds.push({ key, kept });
      }
      // the earlier acknowledged PutItem is still there after every crash
      expect(await has(dynamo.endpoint, 'put-last')).toBe(true);
    } finally {
      await dynamo.stop();
    }
    console.log(`DynamoDB Local, TransactWriteItems acknowledged then SIGKILL: ${rounds.map((r) => `${r.key} ${r.kept ? 'kept' : 'LOST'}`).join(', ')}`);
    // the limit: acknowledged, then gone. Whether the JVM gets to commit before the SIGKILL lands is
    // a race: most runs lose one in the first round, but a loaded machine can delay the signal past
    // the commit every time. Such a run shows nothing either way, so it says so and counts as
    // skipped rather than passing or failing. (If it never loses one any more, DynamoDB Local
    // keeps them now: update the README's store table.)
    if (rounds.every((r) => r.kept)) {
      const note = `not shown in this run: DynamoDB Local committed all ${rounds.length} acknowledged TransactWriteItems before the SIGKILL landed (a timing race, lost in most runs)`;
      console.log(`SKIPPED: ${note}`);
      skip(note);
    }
    expect(rounds.some((r) => !r.kept)).toBe(true);
  }, 600_000);
});
