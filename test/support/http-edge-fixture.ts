import { connect } from 'node:net';
import { syncIntake } from '../../src/application/ingest/intake.js';
import { StaticAuthenticator } from '../../src/adapters/config/static-credentials.js';
import { createHttpApp } from '../../src/adapters/http/app.js';
import { startHttpServer } from '../../src/adapters/http/node-server.js';
import { makeHarness } from './harness.js';

// One API on loopback over the in-memory store, for the edge of the HTTP adapter: body limits,
// encodings, rate limits, what Node itself refuses. Credentials for one tenant, a clock tests move,
// a logger tests read, and the quarantine's entries to count.

export const TENANT = 't-edge';
export const WRITE_KEY = 'wk-edge-0123456789';
export const SLOW_WRITE_KEY = 'wk-edge-slow-0123456789';
export const ADMIN_TOKEN = 'tok-edge-admin-0123456789';
export const SLOW_RATE = 50;
export const ANONYMOUS_RATE = 3;

export type Logged = { readonly level: 'info' | 'warn' | 'error'; readonly msg: string; readonly fields?: Record<string, unknown> | undefined };

/** `server`: the Node server's timeouts (tests of a stalled client shorten them) */
export const startEdgeApi = async (server: { readonly headersTimeoutMs?: number; readonly requestTimeoutMs?: number } = {}) => {
  const h = makeHarness();
  const sources = { web: h.web, crm: h.crm } as Record<string, typeof h.web>;
  let now = Date.UTC(2026, 0, 1);
  const logged: Logged[] = [];
  const log = (level: Logged['level']) => (msg: string, fields?: Record<string, unknown>) => void logged.push({ level, msg, fields });
  const auth = new StaticAuthenticator([
    { id: 'edge-web', tenant: TENANT, kind: 'writeKey', secret: WRITE_KEY, scopes: ['ingest'], source: 'web' },
    { id: 'edge-slow', tenant: TENANT, kind: 'writeKey', secret: SLOW_WRITE_KEY, scopes: ['ingest'], source: 'web', rateLimitPerSecond: SLOW_RATE },
    { id: 'edge-admin', tenant: TENANT, kind: 'token', secret: ADMIN_TOKEN, scopes: ['ingest', 'read', 'admin', 'gdpr'] },
  ]);
  const app = createHttpApp({
    core: h.core,
    intake: syncIntake(h.core.ingest),
    sourceOf: (_tenant, name) => sources[name] ?? { name, priority: 0, channel: 'other' },
    metrics: h.ports.metrics,
    auth,
    now: () => now,
    anonymousRateLimitPerSecond: ANONYMOUS_RATE,
    logger: { info: log('info'), warn: log('warn'), error: log('error') },
  });
  const running = await startHttpServer(app, { port: 0, hostname: '127.0.0.1', ...server });
  const baseUrl = `http://127.0.0.1:${running.port}`;
  const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

  /** fetch, with the body read as text and parsed when it is JSON */
  const request = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${baseUrl}${path}`, { redirect: 'manual', ...init });
    const text = await res.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, headers: res.headers, text, body };
  };

  /** bytes written straight to a socket (requests fetch would refuse to send), the raw answer back */
  const rawHttp = (bytes: string | Buffer, options: { readonly endAfterWrite?: boolean } = {}) =>
    new Promise<{ status: number; headers: string; body: string }>((resolve, reject) => {
      const socket = connect({ port: running.port, host: '127.0.0.1', allowHalfOpen: true });
      const chunks: Buffer[] = [];
      socket.on('data', (d) => chunks.push(d));
      socket.on('error', reject);
      socket.on('end', () => socket.end());
      socket.on('close', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const split = text.indexOf('\r\n\r\n');
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), headers: text.slice(0, split), body: text.slice(split + 4) });
      });
      socket.write(bytes, () => {
        if (options.endAfterWrite) socket.end();
      });
    });

  const quarantined = () => (h.ports.quarantine.dump() as Record<string, { id: string; reason: { code: string }; payload: unknown }[]>)[TENANT] ?? [];

  return {
    baseUrl,
    request,
    rawHttp,
    basic,
    logged,
    quarantined,
    clock: { advance: (ms: number) => void (now += ms) },
    /** POST a body (a string is sent as is) to an ingest route with the write key */
    post: (path: string, body: unknown, headers: Record<string, string> = {}, key = WRITE_KEY) =>
      request(path, {
        method: 'POST',
        headers: { authorization: basic(key), 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' || body instanceof Uint8Array ? (body as NonNullable<RequestInit['body']>) : JSON.stringify(body),
      }),
    lookup: (identifier: string) =>
      request(`/v1/customers?identifier=${encodeURIComponent(identifier)}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
    admin: (path: string, init: RequestInit = {}) =>
      request(path, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.headers as Record<string, string> | undefined) } }),
    close: () => running.close(),
  };
};

export type EdgeApi = Awaited<ReturnType<typeof startEdgeApi>>;
