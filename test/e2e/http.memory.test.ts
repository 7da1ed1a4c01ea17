import { describe, expect, it } from 'vitest';
import { StaticAuthenticator } from '../../src/adapters/config/static-credentials.js';
import { createHttpApp } from '../../src/adapters/http/app.js';
import { makeHarness } from '../support/harness.js';
import { harnessBackend, type HttpBackend } from '../support/http-fixture.js';
import { httpE2eSuite } from '../support/http-e2e.js';

const memoryBackend = async (): Promise<HttpBackend> => {
  const h = makeHarness();
  // the wall clock, as the other backends have: real clients (the Segment Node client) stamp calls
  // with it, and a call stamped more than a day after its receipt is refused
  h.clock.advance(Math.max(0, Date.now() - h.clock.now()));
  return harnessBackend(h);
};

httpE2eSuite('in-memory store', memoryBackend);

describe('HTTP app instances', () => {
  it("share no state: one app's rate-limit buckets do not limit another", async () => {
    const backend = await memoryBackend();
    const auth = new StaticAuthenticator([{ id: 'slow', tenant: 't', kind: 'token', secret: 'slow-token', scopes: ['read'], rateLimitPerSecond: 1 }]);
    const deps = { ...backend, auth, now: () => 0 };
    const [one, two] = [createHttpApp(deps), createHttpApp(deps)];
    const get = (app: typeof one) => app.request('/v1/customers/nobody', { headers: { authorization: 'Bearer slow-token' } });
    expect((await get(one)).status).toBe(404);
    expect((await get(one)).status).toBe(404);
    expect((await get(one)).status).toBe(429);
    expect((await get(two)).status).toBe(404);
  });
});

describe('HTTP errors', () => {
  it('answers an unexpected failure with INTERNAL_ERROR, no detail, and logs no message', async () => {
    const backend = await memoryBackend();
    const logged: Record<string, unknown>[] = [];
    const log = (msg: string, fields?: Record<string, unknown>) => void logged.push({ msg, ...fields });
    const auth = new StaticAuthenticator([{ id: 'k', tenant: 't', kind: 'writeKey', secret: 'write-key', scopes: ['ingest'] }]);
    const failing = { one: async () => Promise.reject(new Error('disk full near ada@example.com')), batch: async () => [] };
    const app = createHttpApp({ ...backend, intake: failing, auth, now: () => 0, logger: { info: log, warn: log, error: log } });
    const res = await app.request('/v1/identify', {
      method: 'POST',
      headers: { authorization: `Basic ${btoa('write-key:')}` },
      body: JSON.stringify({ userId: 'u' }),
    });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text).error.code).toBe('INTERNAL_ERROR');
    expect(text).not.toContain('ada@example.com');
    expect(text).not.toContain('disk full');
    expect(logged.some((l) => l.error === 'Error')).toBe(true);
    expect(JSON.stringify(logged)).not.toContain('ada@example.com');
  });
});
