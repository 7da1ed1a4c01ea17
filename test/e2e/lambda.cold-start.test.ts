import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LambdaContext } from '../../src/adapters/lambda/lambda.telemetry.js';
import { apiFunction } from '../../src/infrastructure/lambda/api.function.js';
import { kinesisFunction } from '../../src/infrastructure/lambda/functions.js';
import { createCore, createPorts, defaultSourceOf } from '../../src/public/index.js';
import { createApiFunction } from '../../src/public/lambda.js';
import { memoryStores } from '../../src/public/memory.js';
import { appFor, credentials, memoryEnv } from '../support/lambda-apps.js';
import { captureStdout, httpApiEvent, kinesisEvent } from '../support/lambda-events.js';

// Powertools' `cold_start` on the log lines of an invocation: true on the first invocation of an
// execution environment and false afterwards, for the handler a user builds with
// createApiFunction (the README's embedding example) and for our own functions. Powertools
// reports a cold start only where Lambda says the environment was started on demand
// (AWS_LAMBDA_INITIALIZATION_TYPE=on-demand; provisioned concurrency and a local run without the
// variable log false throughout), and reads the variable when the logger is created.

const context = (n: number): LambdaContext =>
  ({
    awsRequestId: `req-${n}`,
    functionName: 'c360-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:c360-test',
    memoryLimitInMB: '512',
  }) as LambdaContext;

/** `cold_start` of each invocation's log lines, by invocation: one value each when all its lines agree */
const coldStarts = async (invoke: (n: number) => Promise<unknown>, times: number): Promise<unknown[][]> => {
  const { lines } = await captureStdout(async () => {
    for (let n = 0; n < times; n++) await invoke(n);
  });
  const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => 'function_request_id' in l);
  return Array.from({ length: times }, (_, n) => [...new Set(logged.filter((l) => l.function_request_id === `req-${n}`).map((l) => l.cold_start))]);
};

describe('cold_start on the log lines of an on-demand execution environment', () => {
  beforeAll(() => {
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
  });
  afterAll(() => vi.unstubAllEnvs());

  // a request without a credential: refused (401) and logged, whatever the store holds
  const request = (n: number) => httpApiEvent('apigw-http_no-auth', { method: 'GET', path: '/v1/customers', query: { identifier: 'user_id:u' } }, `http-${n}`);

  it("is true on the first invocation only, for a user's createApiFunction (the README's embedding example)", async () => {
    const core = createCore(createPorts({ stores: memoryStores(), claimSecret: randomUUID() + randomUUID() }), {
      inlineProjection: true,
      sourceOf: defaultSourceOf,
    });
    const handler = createApiFunction({
      core,
      credentials: [{ id: 'web', tenant: 'shop', kind: 'writeKey', secret: `wk-${randomUUID()}`, scopes: ['ingest'] }],
    });
    expect(await coldStarts((n) => handler(request(n), context(n)), 3)).toEqual([[true], [false], [false]]);
  });

  it('is true on the first invocation only, for our api and kinesis functions', async () => {
    const creds = credentials();
    const env = memoryEnv(`t-${randomUUID().slice(0, 8)}`, creds, { POWERTOOLS_LOG_LEVEL: 'INFO' });
    const app = await appFor(env);
    try {
      const api = apiFunction(app, { env: {} });
      expect(await coldStarts((n) => api(request(n), context(n)), 3)).toEqual([[true], [false], [false]]);
      const kinesis = kinesisFunction(app, {});
      const batch = (n: number) =>
        kinesisEvent([{ data: { type: 'identify', userId: `u-${n}`, messageId: `m-${n}`, writeKey: creds.writeKey }, partitionKey: 'a' }]);
      expect(await coldStarts((n) => kinesis(batch(n), context(n)), 3)).toEqual([[true], [false], [false]]);
    } finally {
      await app.close();
    }
  });
});
