import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { generateDataset } from '../src/infrastructure/demo/dataset.js';
import { makeHarness } from '../test/support/harness.js';

// What one refused call costs, not a bench row: calls stamped more than a day after the harness's
// clock are refused and quarantined, each with the claim keys of every identifier-shaped token of
// its body (so an erasure finds it). Prints wall and CPU microseconds per quarantined call.
// Run: node --import tsx bench/quarantine-cost.ts
const { calls } = generateDataset({ customers: 600, ordersPerCustomer: 10, eventsPerCustomer: 20 });
const h = makeHarness();
const refused = calls.filter((c) => Date.parse(String(c.timestamp)) > h.clock.now() + 86_400_000).slice(0, 3_000);
for (const c of refused.slice(0, 300)) await h.core.ingest.ingest('warmup', h.web, c);
const c0 = process.cpuUsage();
const t0 = performance.now();
let quarantined = 0;
for (const c of refused) if ((await h.core.ingest.ingest('bench', h.web, c)).status === 'quarantined') quarantined++;
const cpu = process.cpuUsage(c0);
const wallUs = ((performance.now() - t0) * 1000) / refused.length;
console.log(
  JSON.stringify({ calls: refused.length, quarantined, wallUsPerCall: Math.round(wallUs), cpuUsPerCall: Math.round((cpu.user + cpu.system) / refused.length) }),
);
