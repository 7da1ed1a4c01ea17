import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { loopbackDefaults } from '../../src/adapters/aws/local-endpoint.js';

// The library's client factories on a local emulator, as a user's own script calls them on a
// machine with no AWS settings at all (no region, no credentials, no config files): each runs in a
// process of its own with every AWS_* variable removed. Instance metadata is switched off there
// too, so a factory that left the SDK to find credentials fails at once instead of probing it.

const ROOT = join(import.meta.dirname, '../..');
const bare = (): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_'))),
  AWS_CONFIG_FILE: join(ROOT, 'no-such-aws-config'),
  AWS_SHARED_CREDENTIALS_FILE: join(ROOT, 'no-such-aws-credentials'),
  AWS_EC2_METADATA_DISABLED: 'true',
});

/** Runs an ES module body (imports from the sources by absolute path) in a bare environment. */
const run = (body: string, env: NodeJS.ProcessEnv = {}) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', body], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...bare(), ...env },
  });
  return { code: r.status, out: r.stdout.trim(), err: r.stderr };
};
const source = (path: string) => JSON.stringify(join(ROOT, path));

describe('client factories on a loopback endpoint with no AWS settings in the environment', () => {
  it('createDynamoDbClient({ endpoint }) reaches DynamoDB Local: a region and placeholder credentials are supplied', () => {
    const r = run(`
      import { createDynamoDbClient } from ${source('src/public/dynamodb.ts')};
      import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
      const client = createDynamoDbClient({ endpoint: ${JSON.stringify(inject('dynamoEndpoint'))} });
      const listed = await client.send(new ListTablesCommand({ Limit: 1 }));
      console.log(JSON.stringify({ region: await client.config.region(), key: (await client.config.credentials()).accessKeyId, tables: Array.isArray(listed.TableNames) }));
    `);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ region: 'us-east-1', key: 'local', tables: true });
  });

  it("what the caller or the environment gives wins: AWS_REGION, the caller's credentials", () => {
    const r = run(
      `
      import { createDynamoDbClient } from ${source('src/public/dynamodb.ts')};
      import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
      const client = createDynamoDbClient({ endpoint: ${JSON.stringify(inject('dynamoEndpoint'))}, credentials: { accessKeyId: 'mine', secretAccessKey: 'mine' } });
      await client.send(new ListTablesCommand({ Limit: 1 }));
      console.log(JSON.stringify({ region: await client.config.region(), key: (await client.config.credentials()).accessKeyId }));
    `,
      { AWS_REGION: 'eu-west-1' },
    );
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ region: 'eu-west-1', key: 'mine' });
  });

  it('an option given as undefined (process.env.X unset) is left unset: the retry settings and the loopback defaults stay', () => {
    const r = run(`
      import { createDynamoDbClient } from ${source('src/public/dynamodb.ts')};
      import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
      const client = createDynamoDbClient({ endpoint: ${JSON.stringify(inject('dynamoEndpoint'))}, maxAttempts: undefined, region: undefined, credentials: undefined });
      await client.send(new ListTablesCommand({ Limit: 1 }));
      console.log(JSON.stringify({ attempts: await client.config.maxAttempts(), region: await client.config.region(), key: (await client.config.credentials()).accessKeyId }));
    `);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ attempts: 8, region: 'us-east-1', key: 'local' });
    // the Kinesis and SNS factories the same way
    const others = run(`
      import { createKinesisClient } from ${source('src/public/kinesis.ts')};
      import { createSnsClient } from ${source('src/public/sns.ts')};
      const kinesis = createKinesisClient({ endpoint: 'http://127.0.0.1:9', maxAttempts: undefined, region: undefined });
      const sns = createSnsClient({ endpoint: 'http://127.0.0.1:9', maxAttempts: undefined, region: undefined })();
      console.log(JSON.stringify([await kinesis.config.maxAttempts(), await kinesis.config.region(), await sns.config.maxAttempts(), await sns.config.region()]));
    `);
    expect(others.code, others.err).toBe(0);
    expect(JSON.parse(others.out)).toEqual([5, 'us-east-1', 5, 'us-east-1']);
  });

  it('createKinesisClient({ endpoint }) reaches kinesalite the same way', () => {
    const r = run(`
      import { createKinesisClient } from ${source('src/public/kinesis.ts')};
      import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
      const listed = await createKinesisClient({ endpoint: ${JSON.stringify(inject('kinesisEndpoint'))} }).send(new ListStreamsCommand({}));
      console.log(JSON.stringify(Array.isArray(listed.StreamNames)));
    `);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe('true');
  });

  it('only a loopback endpoint gets them; any other is left to the SDK (its own chain, on AWS)', () => {
    const noAws = {};
    for (const endpoint of ['http://127.0.0.1:8000', 'http://localhost:4567/', 'http://[::1]:8000', 'https://127.0.0.2'])
      expect(loopbackDefaults({ endpoint }, noAws), endpoint).toEqual({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    for (const endpoint of [
      undefined,
      'https://dynamodb.eu-west-1.amazonaws.com',
      'http://10.0.0.5:8000',
      'http://localhost.example.com:8000',
      'http://127.0.0.1.nip.io',
    ])
      expect(loopbackDefaults({ endpoint }, noAws), String(endpoint)).toEqual({});
    // credentials of the environment's own (keys, a profile) are the SDK's to find
    expect(loopbackDefaults({ endpoint: 'http://127.0.0.1:8000' }, { AWS_PROFILE: 'dev', AWS_DEFAULT_REGION: 'eu-north-1' })).toEqual({ region: 'eu-north-1' });
    expect(loopbackDefaults({ endpoint: 'http://127.0.0.1:8000', region: 'ap-south-1' }, { AWS_ACCESS_KEY_ID: 'AKIA' })).toEqual({});
  });
});
