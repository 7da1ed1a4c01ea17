import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryCliRig } from '../support/cli-runner.js';

// `c360 erase|export|erasures` in-process on an in-memory App configured as the bin configures
// it, with captured output: what an operator sees, and what the stores hold afterwards.

const TENANT = 'acme';
let dir: string;

const rig = memoryCliRig(TENANT);
const { c360 } = rig;

/** Two customers merged by a shared email; returns the survivor and the absorbed id. */
const grace = async () => {
  const ingest = (source: string, call: Record<string, unknown>) => rig.app.core.ingest.ingest(TENANT, rig.app.sourceOf(TENANT, source), call);
  const a = await ingest('web', {
    type: 'identify',
    messageId: 'g-1',
    anonymousId: 'anon-grace',
    timestamp: '2026-01-01T00:01:00Z',
    traits: { email: 'grace@example.com', name: 'Grace Hopper' },
  });
  const b = await ingest('crm', {
    type: 'identify',
    messageId: 'g-2',
    userId: 'crm-grace',
    timestamp: '2026-01-01T00:02:00Z',
    traits: { phone: '+44 20 7946 0018' },
  });
  await ingest('crm', { type: 'identify', messageId: 'g-3', userId: 'crm-grace', timestamp: '2026-01-01T00:03:00Z', traits: { email: 'grace@example.com' } });
  if (a.status !== 'accepted' || b.status !== 'accepted') throw new Error('setup calls were refused');
  await rig.app.drainBackground();
  return { survivor: a.customerId, absorbed: b.customerId };
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'c360-cli-gdpr-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
describe('c360 export', () => {
  it('writes the whole cluster, decrypted, to a file only the user can read', async () => {
    const { survivor, absorbed } = await grace();
    const out = join(dir, 'grace.json');
    const r = await c360('export', absorbed, '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`exported \\d+ events of 2 customers \\(survivor ${survivor}\\) to `));
    const doc = JSON.parse(await readFile(out, 'utf8'));
    expect(doc.metadata).toMatchObject({ requestedId: absorbed, customerId: survivor });
    for (const value of ['grace@example.com', 'Grace Hopper', '+442079460018']) expect(JSON.stringify(doc.events)).toContain(value);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
  });

  it('leaves the file readable by the user only when it existed already world-readable', async () => {
    const { survivor } = await grace();
    const out = join(dir, 'existing.json');
    await writeFile(out, 'old');
    await chmod(out, 0o644);
    const r = await c360('export', survivor, '--out', out);
    expect(r.code, r.err).toBe(0);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(out, 'utf8')).metadata.customerId).toBe(survivor);
    // nothing left beside it
    expect((await readdir(dir)).filter((f) => f.includes('existing'))).toEqual(['existing.json']);
  });

  it('prints the document on stdout without --out, and records the os user as the actor', async () => {
    const { survivor } = await grace();
    const r = await c360('export', survivor);
    expect(r.code, r.err).toBe(0);
    expect(r.json().metadata.customerId).toBe(survivor);
    const { entries } = await rig.app.core.ports.audit.list(TENANT, { limit: 10 });
    expect(entries).toEqual([expect.objectContaining({ action: 'customer.export', actor: `cli:${userInfo().username}`, customerId: survivor })]);
  });
});

describe('c360 erase', () => {
  it('erases the cluster with a receipt, prints the same receipt again, and lists it in the ledger', async () => {
    const { survivor, absorbed } = await grace();
    const r = await c360('erase', absorbed, '--reason', 'art17-request', '--json');
    expect(r.code, r.err).toBe(0);
    const receipt = r.json();
    expect(receipt).toMatchObject({ tenant: TENANT, requestedId: absorbed, actor: `cli:${userInfo().username}` });
    expect([...receipt.customers].sort()).toEqual([survivor, absorbed].sort());
    expect((await c360('erase', survivor, '--json')).json()).toEqual(receipt);

    const human = await c360('erase', survivor);
    expect(human.out).toMatch(/^erased 2 customers \(/);
    expect(human.out).toContain(`erasure ${receipt.erasureId}:`);
    expect(await rig.app.core.queries.findByIdentifier(TENANT, 'email', 'grace@example.com').catch((e: { code?: string }) => e.code)).toBe(
      'CUSTOMER_NOT_FOUND',
    );

    const list = await c360('erasures', 'list', '--json');
    expect(list.json()).toEqual({ tenant: TENANT, entries: [receipt], next: null });
    const reapplied = await c360('erasures', 'reapply', '--json');
    expect(reapplied.code, reapplied.err).toBe(0);
    expect(reapplied.json()).toMatchObject({ tenant: TENANT, erasures: 1 });

    const gone = await c360('export', survivor);
    expect(gone.code).toBe(1);
    expect(gone.err).toMatch(/^error: CUSTOMER_ERASED at customerId: /);
    expect(gone.out).toBe('');
  });

  it('fails with exit 1 for an unknown customer and exit 2 for a free-text reason', async () => {
    const unknown = await c360('erase', 'nobody');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/CUSTOMER_NOT_FOUND/);
    const free = await c360('erase', 'nobody', '--reason', 'she asked by phone');
    expect(free.code).toBe(2);
    expect(free.err).toMatch(/option '--reason <code>' argument 'she asked by phone' is invalid/);
    expect((await c360('erasures', 'list')).out).toMatch(/no erasures recorded for tenant "acme"/);
  });
});
