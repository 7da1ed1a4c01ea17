import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../../src/adapters/http/console/console.app.js';
import type { App } from '../../src/infrastructure/app.js';
import { apiFunction } from '../../src/infrastructure/lambda/api.function.js';
import { appFor, credentials, memoryEnv, quietly } from '../support/lambda-apps.js';
import { httpApiEvent, restEvent, type HttpRequest } from '../support/lambda-events.js';

// The console through the api function, on real API Gateway event shapes: the same route table as
// the Node server, with the session key from configuration (on AWS, the deployment's secret store).

type Result = { statusCode?: number; body?: string; headers?: Record<string, unknown>; multiValueHeaders?: Record<string, unknown[]>; cookies?: string[] };

const tenant = `t-${randomUUID().slice(0, 8)}`;
const creds = credentials();
const apps: App[] = [];
let handler: ReturnType<typeof apiFunction>;
let without: ReturnType<typeof apiFunction>;
beforeAll(async () => {
  const withKey = await appFor(memoryEnv(tenant, creds, { C360_CONSOLE_SESSION_KEY: 's'.repeat(48) }));
  const noKey = await appFor(memoryEnv(tenant, creds));
  apps.push(withKey, noKey);
  handler = quietly(() => apiFunction(withKey, { env: {} }));
  without = quietly(() => apiFunction(noKey, { env: {} }));
});
afterAll(async () => {
  for (const a of apps) await a.close();
});

const setCookieOf = (r: Result): string => {
  const all = [...(r.cookies ?? []), ...((r.multiValueHeaders?.['set-cookie'] ?? r.multiValueHeaders?.['Set-Cookie'] ?? []) as string[])];
  const single = r.headers?.['set-cookie'] ?? r.headers?.['Set-Cookie'];
  if (typeof single === 'string') all.push(single);
  return all.find((c) => c.startsWith('c360_console=')) ?? '';
};
const header = (r: Result, name: string): unknown =>
  Object.entries({ ...r.headers, ...Object.fromEntries(Object.entries(r.multiValueHeaders ?? {}).map(([k, v]) => [k, v[0]])) }).find(
    ([k]) => k.toLowerCase() === name,
  )?.[1];

describe.each([
  ['apigw-http_no-auth', httpApiEvent],
  ['apigw-rest_no-auth', restEvent],
] as const)('%s', (name, make) => {
  const event = (r: HttpRequest) => make(name, r);

  it('signs in with a token and serves the pages with the CSP and a Secure cookie (API Gateway is HTTPS)', async () => {
    const signIn = (await handler(
      event({
        method: 'POST',
        path: '/console/sign-in',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' },
        body: new URLSearchParams({ token: creds.adminToken, next: '/console/search' }).toString(),
      }),
    )) as Result;
    expect(signIn.statusCode).toBe(303);
    const cookie = setCookieOf(signIn);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Secure/);
    const page = (await handler(event({ method: 'GET', path: '/console/search', headers: { cookie: cookie.split(';')[0]! } }))) as Result;
    expect(page.statusCode).toBe(200);
    expect(header(page, 'content-security-policy')).toBe(CONSOLE_CSP);
    expect(page.body).toContain('<h1>Search</h1>');
  });

  it('has no console where no session key is configured', async () => {
    const res = (await without(event({ method: 'GET', path: '/console/sign-in' }))) as Result;
    expect(res.statusCode).toBe(404);
  });
});
