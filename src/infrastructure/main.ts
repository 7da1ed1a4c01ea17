import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { isDeepStrictEqual } from 'node:util';
import type { Core } from '../application/core.js';
import type { ViewDoc } from '../application/ports/read-model.port.js';
import type { MemoryMetrics } from '../adapters/metrics/memory.metrics.js';
import { ConfigError, loadConfig } from './config.js';
import { buildContainer, sourceFor } from './container.js';
import { generateDataset } from './demo/dataset.js';
import { TOKENS } from './tokens.js';

// `npm start`: the embedded default. Until the HTTP port lands this runs the main job end to end
// in memory: ingest a generated data set, resolve identities, project, rebuild, and print a summary.

const allDocs = async (core: Core, tenant: string): Promise<ViewDoc[]> => {
  const out: ViewDoc[] = [];
  let after: string | undefined;
  do {
    const page = await core.ports.readModels.list(tenant, { after, limit: 1_000 });
    out.push(...page.docs);
    after = page.next;
  } while (after);
  return out;
};

const main = async (): Promise<void> => {
  const config = loadConfig();
  const container = buildContainer(config);
  const core = container.get(TOKENS.Core);
  const metrics = container.get(TOKENS.Metrics) as MemoryMetrics;
  const tenant = config.tenant;
  const source = sourceFor(config, 'web');

  const { calls, stats } = generateDataset({ customers: config.demoCustomers, seed: 7 });
  console.log(`Customer 360 core, embedded in-memory store, tenant "${tenant}"`);
  console.log(`generated ${calls.length} Segment calls for ${stats.people} people (${stats.orders} orders, ${stats.events} page/track events, ${stats.duplicates} retried duplicates, ${stats.invalid} invalid)`);

  const t0 = performance.now();
  const outcomes = { accepted: 0, duplicate: 0, quarantined: 0, rejected: 0 };
  for (const call of calls) outcomes[(await core.ingest.ingest(tenant, source, call)).status]++;
  const ingestMs = performance.now() - t0;
  console.log(`ingested in ${(ingestMs / 1000).toFixed(2)} s (${Math.round(calls.length / (ingestMs / 1000))} calls/s): ${outcomes.accepted} accepted, ${outcomes.duplicate} duplicates, ${outcomes.quarantined} quarantined`);

  const live = await allDocs(core, tenant);
  const views = live.filter((d) => d.kind === 'view');
  console.log(`customers: ${views.length} (plus ${live.length - views.length} merged-away ids answering with their survivor); merges: ${metrics.get('identity_merge')}; identifiers rejected: ${metrics.get('identity_rejected')}`);

  const quarantine = await core.quarantine.list(tenant, { limit: 3 });
  for (const q of quarantine.entries) console.log(`  quarantined ${q.id}: ${q.reason.code} ${q.reason.issues.map((i) => i.path).join(', ')}`);

  const r0 = performance.now();
  const rebuilt = await core.rebuild.rebuild(tenant);
  const rebuildMs = performance.now() - r0;
  const after = await allDocs(core, tenant);
  const same = isDeepStrictEqual(
    JSON.parse(JSON.stringify(live.sort((a, b) => a.customerId.localeCompare(b.customerId)))),
    JSON.parse(JSON.stringify(after.sort((a, b) => a.customerId.localeCompare(b.customerId)))),
  );
  console.log(`rebuild from the log: ${rebuilt.events} events in ${(rebuildMs / 1000).toFixed(2)} s; read models equal to the live ones: ${same ? 'yes' : 'NO'}`);

  const sample = calls.find((c) => c['type'] === 'identify' && String((c['traits'] as { email?: string }).email).endsWith('@example.com')) as { traits: { email: string } } | undefined;
  if (sample) {
    const found = await core.queries.findByIdentifier(tenant, 'email', sample.traits.email);
    if (found.kind === 'view') {
      const c = found.customer;
      console.log(`\nsample 360 for email ${sample.traits.email}:`);
      console.log(JSON.stringify({
        customerId: c.customerId,
        aliases: c.aliases,
        identifiers: c.identifiers.map((i) => `${i.type}:${i.value}`),
        traits: Object.fromEntries(Object.entries(c.traits).map(([k, t]) => [k, t.value])),
        consents: Object.fromEntries(Object.entries(c.consents).map(([k, v]) => [k, v.status])),
        topInterests: c.interests.slice(0, 3).map((i) => `${i.name} (${i.count})`),
        channels: Object.fromEntries(Object.entries(c.channels).map(([k, v]) => [k, v.count])),
        orders: c.orders,
        scores: c.scores,
        timeline: c.timeline.slice(0, 3).map((t) => `${t.observedAt} ${t.title}`),
      }, null, 2));
    }
  }
  if (!same) process.exitCode = 1;
};

main().catch((e: unknown) => {
  if (e instanceof ConfigError) console.error(`configuration error: ${e.message}`);
  else console.error(e);
  process.exitCode = 1;
});
