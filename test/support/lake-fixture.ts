import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
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

/** tempLake for the running test: cleaned up when it finishes (call it inside the test). */
export const lakeForTest = async (clock?: () => number): Promise<{ lake: DuckDbLake; root: string }> => {
  const l = await tempLake(clock);
  onTestFinished(() => l.cleanup());
  return l;
};

export const SMALL_SEED = { customers: 30, products: 12, orders: 120, events: 240, seed: 11 } as const;

/** The seed's calls, person by person, in order. */
export const seedCalls = (options: Parameters<typeof generateSeed>[0] = SMALL_SEED): SeedCall[] => [...generateSeed(options).people].flat();

export const ingestSeed = async (h: Harness, tenant: string, calls: readonly SeedCall[]): Promise<void> => {
  const sourceOf = (name: string): IngestSource =>
    name === 'crm' ? h.crm : name === 'web' ? h.web : { name, priority: 20, channel: name === 'mobile' ? 'mobile' : 'support' };
  for (const c of calls) await h.core.ingest.ingest(tenant, sourceOf(c.source), c.call);
};

/** the seed's personal values (emails, phones, names, streets, user, anonymous and device ids, IPs) that no lake file may hold */
export const personalValues = (calls: ReturnType<typeof seedCalls>): string[] => {
  const out = new Set<string>();
  const take = (v: unknown) => {
    if (typeof v === 'string' && v.length >= 3) out.add(v);
  };
  for (const { call } of calls) {
    const traits = (call.traits ?? {}) as Record<string, unknown>;
    for (const k of ['email', 'phone', 'firstName', 'lastName', 'name']) take(traits[k]);
    const address = traits.address as Record<string, unknown> | undefined;
    take(address?.street);
    take(call.userId);
    take(call.anonymousId);
    const ctx = (call.context ?? {}) as Record<string, unknown>;
    take(ctx.ip);
    take((ctx.device as Record<string, unknown> | undefined)?.id);
  }
  return [...out];
};
