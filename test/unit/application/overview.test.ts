import { afterAll, describe, expect, it } from 'vitest';
import { overview } from '../../../src/application/overview/overview.query.js';
import { closeHarnesses, type Harness, makeHarness } from '../../support/harness.js';

// The console overview reads a bounded number of events: the newest ones, where the store reads
// its log from the end (memory, SQLite), so the last days it shows hold the latest activity.

const TENANT = 'acme';
let message = 0;
const identify = async (h: Harness, userId: string): Promise<string> => {
  const out = await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: `ov-${++message}`, userId, traits: { email: `${userId}@example.com` } });
  if (out.status !== 'accepted') throw new Error(JSON.stringify(out));
  return out.customerId;
};
const total = (o: Awaited<ReturnType<typeof overview>>, k: 'customers' | 'events' | 'merges' | 'unmerges') => o.days.reduce((n, d) => n + d[k], 0);

afterAll(closeHarnesses);

describe.each(['memory', 'sqlite'] as const)('the overview (on %s)', (store) => {
  it('counts the newest events when the log holds more than it reads', async () => {
    const h = makeHarness({}, { store });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await identify(h, `ov-${i}`));
    const merged = await h.core.identity.merge(TENANT, ids[0]!, ids[1]!, { actor: 'ops', force: true });
    await h.core.identity.unmerge(TENANT, merged.survivorId, merged.mergeId, { actor: 'ops' });

    const all = await overview(h.ports, TENANT);
    expect(all).toMatchObject({ from: 'newest', complete: true });
    expect(total(all, 'unmerges')).toBe(1);
    expect(total(all, 'events')).toBe(all.scanned);

    // the last few events only: the unmerge is among them, the first customers' registrations are not
    const recent = await overview(h.ports, TENANT, { maxEvents: 4 });
    expect(recent).toMatchObject({ from: 'newest', complete: false, scanned: 4 });
    expect(total(recent, 'unmerges')).toBe(1);
    expect(total(recent, 'customers')).toBe(0);
  });
});
