import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../../src/adapters/http/console/console.app.js';
import type { App } from '../../src/infrastructure/app.js';
import { apiFunction } from '../../src/infrastructure/lambda/api.function.js';
import { customerPages } from '../support/console-pages.js';
import { appFor, credentials, memoryEnv, quietly } from '../support/lambda-apps.js';
import { basic, httpApiEvent, restEvent, type HttpRequest } from '../support/lambda-events.js';

// The console through the api function, on real API Gateway event shapes: the same route table as
// the Node server, with the session key from configuration (on AWS, the deployment's secret store).

type Result = { statusCode?: number; body?: string; headers?: Record<string, unknown>; multiValueHeaders?: Record<string, unknown[]>; cookies?: string[] };

const tenant = `t-${randomUUID().slice(0, 8)}`;
const creds = credentials();
const apps: App[] = [];
let handler: ReturnType<typeof apiFunction>;
let without: ReturnType<typeof apiFunction>;
let mapped: ReturnType<typeof apiFunction>;
beforeAll(async () => {
  const withKey = await appFor(memoryEnv(tenant, creds, { C360_CONSOLE_SESSION_KEY: 's'.repeat(48) }));
  const noKey = await appFor(memoryEnv(tenant, creds));
  const basePath = await appFor(memoryEnv(tenant, creds, { C360_CONSOLE_SESSION_KEY: 's'.repeat(48), C360_BASE_PATH: '/crm-api' }));
  apps.push(withKey, noKey, basePath);
  handler = quietly(() => apiFunction(withKey, { env: {} }));
  without = quietly(() => apiFunction(noKey, { env: {} }));
  mapped = quietly(() => apiFunction(basePath, { env: {} }));
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

/** every URL a page or a response hands the browser: href, action, src, Location and the cookie's Path */
const urlsOf = (r: Result): string[] => [
  ...[...(r.body ?? '').matchAll(/\s(?:href|action|src)="([^"]*)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&')),
  ...(typeof header(r, 'location') === 'string' ? [header(r, 'location') as string] : []),
  ...(setCookieOf(r) ? [/;\s*Path=([^;]*)/i.exec(setCookieOf(r))?.[1] ?? '(no Path)'] : []),
];

/** A REST API custom domain with the base path mapping /crm-api: the path and requestContext.path carry it, not the stage. */
const customDomainEvent = (r: HttpRequest) => {
  const e = restEvent('apigw-rest_no-auth', { ...r, path: `/crm-api${r.path}` });
  return { ...e, requestContext: { ...e.requestContext, path: `/crm-api${r.path}`, domainName: 'crm.example.com' } };
};
/** An HTTP API called on the execute-api host with the named stage prod: rawPath carries the stage. */
const httpStageEvent = (r: HttpRequest) => {
  const e = httpApiEvent('apigw-http_no-auth', { ...r, path: `/prod${r.path}` });
  return { ...e, requestContext: { ...e.requestContext, stage: 'prod' } };
};

describe.each([
  ['a REST API on its execute-api host, stage prod', () => handler, (r: HttpRequest) => restEvent('apigw-rest_no-auth', r), '/prod'],
  ['an HTTP API on its execute-api host, stage prod', () => handler, httpStageEvent, '/prod'],
  ['a REST API on a custom domain with the base path /crm-api', () => mapped, customDomainEvent, '/crm-api'],
] as const)('the console behind %s', (_name, handlerOf, event, prefix) => {
  it(`builds every link, form, redirect and the cookie Path under ${prefix}/console`, async () => {
    const send = (r: HttpRequest) => handlerOf()(event(r)) as Promise<Result>;
    const email = `mount-${randomUUID().slice(0, 8)}@example.com`;
    const ingest = await send({
      method: 'POST',
      path: '/v1/identify',
      headers: { authorization: basic(creds.writeKey), 'content-type': 'application/json' },
      body: JSON.stringify({ userId: `u-${email}`, traits: { email } }),
    });
    expect(ingest.statusCode).toBe(200);
    const customerId = (JSON.parse(ingest.body!) as { customerId: string }).customerId;
    const seen: string[] = [];
    const look = (r: Result) => {
      const urls = urlsOf(r);
      seen.push(...urls);
      return urls;
    };

    const away = await send({ method: 'GET', path: `/console/customers/${customerId}` });
    expect(away.statusCode).toBe(303);
    expect(look(away)).toEqual([`${prefix}/console/sign-in?next=${encodeURIComponent(`${prefix}/console/customers/${customerId}`)}`]);
    const form = await send({ method: 'GET', path: '/console/sign-in', query: { next: `${prefix}/console/customers/${customerId}` } });
    expect(form.statusCode).toBe(200);
    expect(look(form)).toEqual(expect.arrayContaining([`${prefix}/console/assets/console.css`, `${prefix}/console/sign-in`]));
    expect(form.body).toContain(`name="next" value="${prefix}/console/customers/${customerId}"`);
    const signIn = await send({
      method: 'POST',
      path: '/console/sign-in',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: creds.adminToken, next: `${prefix}/console/customers/${customerId}` }).toString(),
    });
    expect(signIn.statusCode).toBe(303);
    expect(look(signIn).sort()).toEqual([`${prefix}/console`, `${prefix}/console/customers/${customerId}`].sort());
    const cookie = setCookieOf(signIn).split(';')[0]!;
    for (const path of [...customerPages(customerId), '/console/search']) {
      const page = await send({ method: 'GET', path, headers: { cookie } });
      expect(page.statusCode, path).toBe(200);
      expect(look(page).length, path).toBeGreaterThan(3);
    }
    const searched = await send({ method: 'GET', path: '/console/search', query: { q: `email:${email}` }, headers: { cookie } });
    expect(look(searched)).toEqual([`${prefix}/console/customers/lookup?identifier=${encodeURIComponent(`email:${email}`)}`]);
    const csrf = /name="_csrf" value="([^"]+)"/.exec((await send({ method: 'GET', path: '/console', headers: { cookie } })).body ?? '')![1]!;
    const out = await send({
      method: 'POST',
      path: '/console/sign-out',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf }).toString(),
    });
    expect(out.statusCode).toBe(303);
    look(out);
    const outside = seen.filter((u) => !(u === `${prefix}/console` || u.startsWith(`${prefix}/console/`) || u.startsWith(`${prefix}/console?`)));
    expect(outside).toEqual([]);
    expect(seen.length).toBeGreaterThan(30);
  });
});
