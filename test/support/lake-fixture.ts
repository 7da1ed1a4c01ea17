import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDuckDbLake, type DuckDbLake } from '../../src/adapters/lake/duckdb.analytics.js';
import type { IngestSource } from '../../src/application/ingest/ingest.use-case.js';
import { generateSeed, type SeedCall } from '../../src/infrastructure/demo/dataset.js';
import type { Harness } from './harness.js';

/** A lake in a fresh temporary folder, removed by the returned cleanup. */
export const tempLake = async (clock?: () => number): Promise<{ lake: DuckDbLake; root: string; cleanup(): void }> => {
  const root = mkdtempSync(join(tmpdir(), 'c360-lake-'));
  const lake = await openDuckDbLake(root, clock ? { clock } : {});
  return {
    lake,
    root,
    cleanup: () => {
      lake.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
};

export const SMALL_SEED = { customers: 30, products: 12, orders: 120, events: 240, seed: 11 } as const;

/** The seed's calls, person by person, in order. */
export const seedCalls = (options: Parameters<typeof generateSeed>[0] = SMALL_SEED): SeedCall[] => [...generateSeed(options).people].flat();

export const ingestSeed = async (h: Harness, tenant: string, calls: readonly SeedCall[]): Promise<void> => {
  const sourceOf = (name: string): IngestSource =>
    name === 'crm' ? h.crm : name === 'web' ? h.web : { name, priority: 20, channel: name === 'mobile' ? 'mobile' : 'support' };
  for (const c of calls) await h.core.ingest.ingest(tenant, sourceOf(c.source), c.call);
};
