import { describe, expect, it } from 'vitest';
import {
  createCore,
  createPorts,
  DEFAULT_IDENTITY_RULES,
  defaultSourceOf,
  parseIdentityRules,
  reapplyErasures,
  rebuildViews,
  type ReapplyProgress,
  type RebuildProgress,
} from '../../../src/public/index.js';
import { memoryStores } from '../../../src/public/memory.js';
import { listAllViews } from '../../../src/testing/paging.js';

// The whole-log jobs as a user calls them from the package: wired with createPorts and
// memoryStores (no container), with progress callbacks.

const tenant = 'shop';
const web = defaultSourceOf(tenant, 'web');

const embedded = async (customers: number) => {
  const stores = memoryStores();
  const core = createCore(createPorts({ stores, claimSecret: 'library-calls-claim-secret-0123456789' }), { inlineProjection: true, sourceOf: defaultSourceOf });
  const ids: string[] = [];
  for (let n = 0; n < customers; n++) {
    const out = await core.ingest.ingest(tenant, web, { type: 'identify', userId: `u-${n}`, messageId: `m-${n}`, traits: { email: `u${n}@shop.example` } });
    if (out.status !== 'accepted') throw new Error(`call ${n}: ${out.status}`);
    ids.push(out.customerId);
  }
  return { stores, core, ids };
};

describe('rebuildViews', () => {
  it('rebuilds every view from the log, reporting progress until done', async () => {
    const { stores, core } = await embedded(12);
    const before = await listAllViews(stores.readModels, tenant);
    expect(before).toHaveLength(12);
    await stores.readModels.replaceAll(tenant, []);
    const progress: RebuildProgress[] = [];
    const result = await rebuildViews(core, tenant, { onProgress: (p) => progress.push(p), actor: 'nightly-job' });
    expect(result.docs).toBe(12);
    expect(progress.at(-1)).toMatchObject({ done: true, docs: 12, events: result.events });
    expect(progress.slice(0, -1).every((p) => !p.done)).toBe(true);
    expect(await listAllViews(stores.readModels, tenant)).toEqual(before);
    const audit = await core.gdpr.auditLog(tenant, { limit: 10 });
    expect(audit.entries.map((e) => e.actor)).toContain('nightly-job');
  });
});

describe('reapplyErasures', () => {
  it('after a restore brings an erased view back, erases it again, reporting each receipt and the end', async () => {
    const { stores, core, ids } = await embedded(3);
    const erased = ids[1]!;
    const backup = await stores.readModels.get(tenant, erased);
    expect(backup).toBeDefined();
    await core.gdpr.erase(tenant, erased, { actor: 'dpo' });
    expect(await stores.readModels.get(tenant, erased)).toBeUndefined();
    // the restore: the views as they were before the erasure
    await stores.readModels.put(tenant, backup!);
    const progress: ReapplyProgress[] = [];
    const report = await reapplyErasures(core, tenant, { onProgress: (p) => progress.push(p) });
    expect(report).toMatchObject({ erasures: 1, views: 1 });
    expect(progress).toEqual([
      { ...report, done: false },
      { ...report, done: true },
    ]);
    expect(await stores.readModels.get(tenant, erased)).toBeUndefined();
    expect(await stores.readModels.get(tenant, ids[0]!)).toBeDefined();
  });
});

describe('createPorts', () => {
  it('refuses a claim secret shorter than the server takes, naming the option, and takes one of 32', () => {
    for (const secret of ['', 'short', 'x'.repeat(31)])
      expect(() => createPorts({ stores: memoryStores(), claimSecret: secret })).toThrow(
        new RangeError(
          `claimSecret: must hold at least 32 characters (got ${secret.length}); generate one with randomBytes(32).toString('base64url') and keep it: it can never change for a store`,
        ),
      );
    expect(() => createPorts({ stores: memoryStores(), claimSecret: Buffer.alloc(16, 1) })).toThrow(/claimSecret: must hold at least 32 bytes \(got 16\)/);
    expect(() => createPorts({ stores: memoryStores(), claimSecret: undefined as unknown as string })).toThrow(/claimSecret: must be a string or a Buffer/);
    const ports = createPorts({ stores: memoryStores(), claimSecret: 'x'.repeat(32) });
    expect(ports.hasher.claimKey('shop', 'email', 'a@shop.example')).toMatch(/^[\w-]{43}$/);
    expect(createPorts({ stores: memoryStores(), claimSecret: Buffer.alloc(32, 7) }).hasher.claimKey('shop', 'email', 'a@shop.example')).not.toBe(
      ports.hasher.claimKey('shop', 'email', 'a@shop.example'),
    );
  });
});

describe('a rules file of your own', () => {
  it('starts as DEFAULT_IDENTITY_RULES written as JSON (as the README dumps it), which parseIdentityRules reads back the same', () => {
    const file = JSON.stringify(DEFAULT_IDENTITY_RULES, null, 2);
    expect(parseIdentityRules(JSON.parse(file))).toEqual(DEFAULT_IDENTITY_RULES);
  });
});

describe('defaultSourceOf', () => {
  it("gives the server's default sources (C360_SOURCES unset), each on its own channel: crm outranks web, an import is not a web visit", async () => {
    expect(['web', 'mobile', 'support', 'crm', 'import', 'partner'].map((name) => defaultSourceOf(tenant, name))).toEqual([
      { name: 'web', priority: 10, channel: 'web' },
      { name: 'mobile', priority: 10, channel: 'mobile' },
      { name: 'support', priority: 30, channel: 'support' },
      { name: 'crm', priority: 50, channel: 'crm' },
      { name: 'import', priority: 0, channel: 'other' },
      { name: 'partner', priority: 0, channel: 'web' },
    ]);
    // a name of Object.prototype is a source like any other
    expect(defaultSourceOf(tenant, 'constructor')).toEqual({ name: 'constructor', priority: 0, channel: 'web' });
    // a call from the crm is recorded on the crm channel, and its trait outranks the web's of the same time
    const { core } = await embedded(0);
    const at = '2026-01-01T00:00:00.000Z';
    await core.ingest.ingest(tenant, defaultSourceOf(tenant, 'web'), { type: 'identify', userId: 'src-1', timestamp: at, traits: { plan: 'free' } });
    const out = await core.ingest.ingest(tenant, defaultSourceOf(tenant, 'crm'), {
      type: 'identify',
      userId: 'src-1',
      timestamp: at,
      traits: { plan: 'gold' },
    });
    expect(out.status).toBe('accepted');
    const found = await core.queries.findByIdentifier(tenant, 'user_id', 'src-1');
    if (found.kind !== 'view') throw new Error(`found ${found.kind}`);
    const view = found.customer;
    expect(view.traits.plan).toMatchObject({ value: 'gold', source: 'crm' });
    expect(Object.keys(view.channels).sort()).toEqual(['crm', 'web']);
  });
});
