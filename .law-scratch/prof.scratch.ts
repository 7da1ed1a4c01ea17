import fc from 'fast-check';
import { makeHarness } from '../test/support/harness.js';
import { arbHistory, TENANTS, OPEN_RULES } from '../test/laws/arbitraries.js';
import { ingestAll } from '../test/laws/support.js';
for (const rules of [undefined, OPEN_RULES])
for (const tenants of [['acme'], TENANTS]) for (const blocked of [false, true]) {
const samples = fc.sample(arbHistory({ tenants, blocked }), { numRuns: 500, seed: 1 });
let calls = 0, merging = 0, multi = 0;
const t0 = performance.now();
for (const h0 of samples) { const h = makeHarness({identityRules: rules}); await ingestAll(h, h0); calls += h0.length; const m = h.ports.metrics.get('identity_merge'); if (m) merging++; if (m>1) multi++; }
const t1 = performance.now();
console.log(rules?.version, tenants.length, blocked, 'calls', calls, 'ms', (t1 - t0).toFixed(0), 'per call', ((t1 - t0) / calls).toFixed(2), 'merging', merging/500, 'multi', multi/500);
}
