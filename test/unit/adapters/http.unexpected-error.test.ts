import { describe, expect, it, vi } from 'vitest';
import { StaticAuthenticator } from '../../../src/adapters/config/static-credentials.js';
import type { HttpLogger } from '../../../src/adapters/http/http.deps.js';
import { httpLogger } from '../../../src/adapters/lambda/api.handler.js';
import { createTelemetry } from '../../../src/adapters/lambda/lambda.telemetry.js';
import { createHttpApp } from '../../../src/adapters/http/app.js';
import { loggableMessage } from '../../../src/adapters/loggable-message.js';
import { ANALYTICS_QUERIES } from '../../../src/application/lake/analytics.params.js';
import { syncIntake } from '../../../src/application/ingest/intake.js';
import { makeHarness } from '../../support/harness.js';

// An unexpected error (a 500) is logged with what it was: its name, its message and its cause's,
// masked of the values a message may echo (logs carry ids and codes, never values), and the
// stack's frames. A native engine's error (DuckDB's) has no frames: the message is what says it.

const TOKEN = 'r'.repeat(40);

const appThrowing = (err: Error, logger?: HttpLogger) => {
  const h = makeHarness();
  const logged: { msg: string; fields: Record<string, unknown> }[] = [];
  const app = createHttpApp({
    core: h.core,
    intake: syncIntake(h.core.ingest),
    auth: new StaticAuthenticator([{ id: 'reader', tenant: 'acme', kind: 'token', secret: TOKEN, scopes: ['read'] }]),
    sourceOf: () => h.web,
    metrics: h.ports.metrics,
    now: h.clock.now,
    analytics: {
      names: ANALYTICS_QUERIES,
      run: async () => {
        throw err;
      },
      page: async () => {
        throw err;
      },
      // biome-ignore lint/correctness/useYield: it throws before any row, as a failing lake does
      chunks: async function* () {
        throw err;
      },
    },
    logger: logger ?? { info: () => {}, warn: () => {}, error: (msg, fields) => logged.push({ msg, fields: fields ?? {} }) },
  });
  return { app, logged };
};

describe('the log line of an unexpected error', () => {
  it("carries the error's message and cause, masked of values, when it has no stack frames", async () => {
    const err = Object.assign(new Error("Invalid Error: invalid TType in 'dana@example.com' +44 20 7946 0958"), {
      cause: new Error('read of "/lake/fact_order/part-0.parquet" failed for ana@example.org'),
    });
    err.stack = err.message;
    const { app, logged } = appThrowing(err);
    const res = await app.request('/v1/analytics/customer-lifetime-value', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(500);
    // the access log's line for the 500 follows it
    expect(logged.map((l) => l.msg)).toEqual(['unexpected error', 'request refused']);
    const line = JSON.stringify(logged);
    expect(logged[0]!.fields.errorMessage).toBe('Invalid Error: invalid TType in <quoted> <digits>');
    expect(logged[0]!.fields.cause).toBe('Error: read of <quoted> failed for <email>');
    for (const value of ['dana@example.com', 'ana@example.org', '7946', 'part-0']) expect(line).not.toContain(value);
  });

  it("keeps the error's message through Powertools' Logger (the Lambda's), which drops a field named message", async () => {
    const err = new Error("Invalid Error: invalid TType in 'dana@example.com'");
    err.stack = err.message;
    const written: string[] = [];
    // its ERROR lines go to stderr, the rest to stdout
    const capture = (chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    };
    const spies = [vi.spyOn(process.stdout, 'write').mockImplementation(capture), vi.spyOn(process.stderr, 'write').mockImplementation(capture)];
    try {
      const { app } = appThrowing(err, httpLogger(createTelemetry({ serviceName: 'c360-test' })));
      const res = await app.request('/v1/analytics/customer-lifetime-value', { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(500);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    const lines = written
      .flatMap((w) => w.split('\n'))
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => String(l.message).includes('reserved key'))).toEqual([]);
    const line = lines.find((l) => l.message === 'unexpected error');
    expect(line?.errorMessage).toBe('Invalid Error: invalid TType in <quoted>');
    expect(JSON.stringify(lines)).not.toContain('dana@example.com');
  });

  it('masks quoted parts, e-mail addresses and digit runs, and keeps the rest', () => {
    expect(loggableMessage('IO Error: No files found that match the pattern "/x/y.parquet"')).toBe('IO Error: No files found that match the pattern <quoted>');
    expect(loggableMessage('bad value bob@example.com for 4111 1111 1111 1111')).toBe('bad value <email> for <digits>');
    expect(loggableMessage('x'.repeat(400))).toHaveLength(300);
  });
});
