import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/infrastructure/app.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import { matchPerson } from '../support/match-people.js';

// On the embedded store the match book follows the log with a follower of its own (checkpoint
// `match-book`): what a CLI job wrote reaches the book of the job itself before it ends, and of a
// server on the same file once its followers have caught up (drainBackground waits for both).

const tenant = 'acme';
const dirs: string[] = [];
const apps: App[] = [];
afterAll(async () => {
  for (const app of apps.splice(0)) await app.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const secrets = { C360_CLAIM_SECRET: randomBytes(32).toString('base64url'), C360_MASTER_KEY: randomBytes(32).toString('base64') };
const open = async (dir: string, projection: 'inline' | 'log'): Promise<App> => {
  const app = await buildApp(loadConfig({ C360_DATA_DIR: dir, C360_TENANT: tenant, C360_PROJECTION: projection, ...secrets }));
  apps.push(app);
  return app;
};
const person = matchPerson(7, 'leeds');
/** the same person typed again: a typo in the given name, the email at another domain */
const twin = { ...person, firstName: 'ocsar', email: 'oscar.7@other.example' };
const identify = async (app: App, anonymousId: string, traits: Record<string, unknown>): Promise<string> => {
  const out = await app.core.ingest.ingest(tenant, app.sourceOf(tenant, 'web'), { type: 'identify', messageId: `m-${anonymousId}`, anonymousId, traits });
  if (out.status !== 'accepted') throw new Error(JSON.stringify(out));
  return out.customerId;
};
const partners = async (app: App, id: string) =>
  (await app.core.matching.matchesOf(tenant, id)).suggestions.map((s) => (s.customerIds[0] === id ? s.customerIds[1] : s.customerIds[0]));

describe('the match book on SQLite, kept by a follower of its own', () => {
  it("a job's calls reach its own book before it ends, and a server's on the same file once it has drained", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'c360-book-follower-'));
    dirs.push(dir);
    const server = await open(dir, 'inline');
    const job = await open(dir, 'log');
    await job.startBackground();
    // a few dozen people first: a model fitted on two records knows little
    for (let i = 8; i < 40; i++) await identify(job, `anon-${i}`, matchPerson(i, 'leeds'));
    const a = await identify(job, 'anon-a', person);
    const b = await identify(job, 'anon-b', twin);
    await job.drainBackground();
    expect(await partners(job, a)).toEqual([b]);

    // the server's own commits keep its book inline; the job's reach it through its followers
    const c = await identify(server, 'anon-c', { ...person, firstName: 'osacr', email: 'o.7@third.example' });
    expect(await partners(server, c)).toContain(a);
    const d = await identify(job, 'anon-d', { ...person, firstName: 'oscra', email: 'oscar.7@fourth.example' });
    await job.drainBackground();
    await server.drainBackground();
    expect(await partners(server, d)).toEqual(expect.arrayContaining([a, b, c]));
  });
});
