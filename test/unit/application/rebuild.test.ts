import { describe, expect, it } from 'vitest';
import type { RebuildProgress } from '../../../src/application/projection/rebuild.use-case.js';
import { generateDataset } from '../../../src/infrastructure/demo/dataset.js';
import { dumpViews, makeHarness, type Harness } from '../../support/harness.js';
import { readAllEvents } from '../../support/paging.js';
import { TENANT } from './ingest-support.js';

const countEvents = async (h: Harness): Promise<number> => (await readAllEvents(h.ports.store, TENANT, 500)).length;

describe('rebuild', () => {
  it('replays the log into exactly the read models live projection produced', async () => {
    const h = makeHarness();
    const { calls } = generateDataset({ customers: 30 });
    const statuses = new Map<string, number>();
    for (const call of calls) {
      const out = await h.core.ingest.ingest(TENANT, h.web, call);
      statuses.set(out.status, (statuses.get(out.status) ?? 0) + 1);
      h.clock.advance(1000);
    }
    // a mixed data set: merges happened, and duplicates and invalid calls were handled
    expect(statuses.get('accepted')).toBeGreaterThan(500);
    expect(statuses.get('duplicate')).toBeGreaterThan(0);
    expect(h.ports.metrics.get('identity_merge')).toBeGreaterThan(0);
    expect(statuses.get('quarantined')).toBeGreaterThan(0);
    const live = await dumpViews(h, TENANT);
    expect(live.some((d) => (d as { kind: string }).kind === 'pointer')).toBe(true);

    const progress: RebuildProgress[] = [];
    const result = await h.core.rebuild.rebuild(TENANT, (p) => progress.push(p));
    const events = await countEvents(h);
    expect(result.events).toBe(events);
    expect(progress.at(-1)).toMatchObject({ done: true, events, docs: live.length });
    expect(progress.filter((p) => p.done)).toHaveLength(1);
    expect(await dumpViews(h, TENANT)).toEqual(live);
  });

  it('gives an empty tenant no read models', async () => {
    const h = makeHarness();
    const progress: RebuildProgress[] = [];
    expect(await h.core.rebuild.rebuild(TENANT, (p) => progress.push(p))).toEqual({ events: 0, docs: 0 });
    expect(progress).toEqual([expect.objectContaining({ done: true, events: 0, docs: 0 })]);
    expect(await dumpViews(h, TENANT)).toEqual([]);
  });
});
