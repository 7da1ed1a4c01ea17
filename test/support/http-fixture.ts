import { randomBytes } from 'node:crypto';
import type { Core } from '../../src/application/core.js';
import { syncIntake } from '../../src/application/ingest/intake.js';
import type { App } from '../../src/infrastructure/app.js';
import type { Harness } from './harness.js';
import { StaticAuthenticator, type CredentialSpec } from '../../src/adapters/config/static-credentials.js';
import { createHttpApp } from '../../src/adapters/http/app.js';
import type { HttpDeps } from '../../src/adapters/http/http.deps.js';
import { startHttpServer } from '../../src/adapters/http/node-server.js';

// A real API on a loopback ephemeral port over a backend the caller builds (in-memory here,
// DynamoDB Local elsewhere), with credentials for two tenants and a rate-limit clock tests move.

export type HttpBackend = Pick<HttpDeps, 'intake' | 'sourceOf' | 'metrics' | 'health'> & {
  readonly core: Core;
  /** resolves once every committed event is in the read models (asynchronous projection) */
  readonly settle?: () => Promise<void>;
  readonly close?: () => Promise<void>;
};
export type MakeBackend = () => Promise<HttpBackend>;

/** The API over a test harness's core (in-memory or SQLite ports), ingesting synchronously; web and crm sources, any other at priority 0. */
export const harnessBackend = (h: Harness): HttpBackend => {
  const sources: Record<string, Harness['web']> = { web: h.web, crm: h.crm };
  return {
    core: h.core,
    intake: syncIntake(h.core.ingest),
    sourceOf: (_t, name) => sources[name] ?? { name, priority: 0, channel: 'other' },
    metrics: h.ports.metrics,
  };
};

/** The API over an App as the server builds it: its own intake and sources, settled by draining its background work. */
export const appBackend = (app: App): HttpBackend => ({
  core: app.core,
  intake: app.intake,
  sourceOf: app.sourceOf,
  metrics: app.metrics,
  settle: () => app.drainBackground(),
  close: () => app.close(),
});

export type Reply = { readonly status: number; readonly headers: Headers; readonly text: string; readonly body: any };

export type RequestOptions = {
  readonly token?: string;
  readonly writeKey?: string;
  readonly json?: unknown;
  readonly body?: string;
  readonly headers?: Record<string, string>;
};

export type Api = Awaited<ReturnType<typeof startApi>>;

export const startApi = async (make: MakeBackend, options: { minVersionWaitMs?: number; console?: HttpDeps['console'] } = {}) => {
  const backend = await make();
  // unique tenants: a shared store (DynamoDB Local) never mixes runs
  const run = randomBytes(4).toString('hex');
  const tenants = { acme: `acme-${run}`, globex: `globex-${run}` } as const;
  const secret = (name: string) => `${name}-${run}-${randomBytes(8).toString('hex')}`;
  const keys = {
    acmeWrite: secret('wk-acme'),
    globexWrite: secret('wk-globex'),
    acmeAdmin: secret('tok-acme-admin'),
    acmeReader: secret('tok-acme-reader'),
    acmeIngestToken: secret('tok-acme-ingest'),
    acmeLimited: secret('tok-acme-limited'),
    acmeGdpr: secret('tok-acme-gdpr'),
    acmeAdminOnly: secret('tok-acme-admin-only'),
    globexAdmin: secret('tok-globex-admin'),
  };
  const specs: CredentialSpec[] = [
    { id: 'acme-web', tenant: tenants.acme, kind: 'writeKey', secret: keys.acmeWrite, scopes: ['ingest'], source: 'web' },
    { id: 'globex-web', tenant: tenants.globex, kind: 'writeKey', secret: keys.globexWrite, scopes: ['ingest'], source: 'web' },
    { id: 'acme-admin', tenant: tenants.acme, kind: 'token', secret: keys.acmeAdmin, scopes: ['ingest', 'read', 'admin', 'gdpr'] },
    { id: 'acme-reader', tenant: tenants.acme, kind: 'token', secret: keys.acmeReader, scopes: ['read'] },
    { id: 'acme-ingest-token', tenant: tenants.acme, kind: 'token', secret: keys.acmeIngestToken, scopes: ['ingest'], source: 'crm' },
    { id: 'acme-limited', tenant: tenants.acme, kind: 'token', secret: keys.acmeLimited, scopes: ['read'], rateLimitPerSecond: 2 },
    { id: 'acme-gdpr', tenant: tenants.acme, kind: 'token', secret: keys.acmeGdpr, scopes: ['gdpr'] },
    { id: 'acme-admin-only', tenant: tenants.acme, kind: 'token', secret: keys.acmeAdminOnly, scopes: ['admin'] },
    { id: 'globex-admin', tenant: tenants.globex, kind: 'token', secret: keys.globexAdmin, scopes: ['ingest', 'read', 'admin', 'gdpr'] },
  ];
  let now = Date.UTC(2026, 0, 1);
  const app = createHttpApp({
    ...backend,
    auth: new StaticAuthenticator(specs),
    now: () => now,
    minVersionWaitMs: options.minVersionWaitMs ?? 1_500,
    console: options.console,
  });
  const server = await startHttpServer(app, { port: 0, hostname: '127.0.0.1' });
  const baseUrl = `http://127.0.0.1:${server.port}`;

  const request = async (method: string, path: string, o: RequestOptions = {}): Promise<Reply> => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (o.writeKey !== undefined) headers.authorization = `Basic ${Buffer.from(`${o.writeKey}:`).toString('base64')}`;
    let body = o.body;
    if (o.json !== undefined) {
      body = JSON.stringify(o.json);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${baseUrl}${path}`, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, text, body: parsed };
  };

  const settle = async () => {
    await backend.settle?.();
  };

  return {
    baseUrl,
    tenants,
    keys,
    backend,
    request,
    settle,
    clock: { advance: (ms: number) => void (now += ms) },
    /** a Segment call with the acme write key (Basic auth) */
    send: (type: string, call: Record<string, unknown>, writeKey = keys.acmeWrite) => request('POST', `/v1/${type}`, { writeKey, json: call }),
    /** GET the 360 of whoever holds type:value, with the acme admin token unless told otherwise */
    lookup: (identifier: string, token = keys.acmeAdmin) => request('GET', `/v1/customers?identifier=${encodeURIComponent(identifier)}`, { token }),
    close: async () => {
      await server.close();
      await backend.close?.();
    },
  };
};

/** ISO time `minutes` after the start of 2026, for calls whose observedAt order matters. */
export const at = (minutes: number): string => new Date(Date.UTC(2026, 0, 1) + minutes * 60_000).toISOString();
