import fc from 'fast-check';
import { makeHarness } from '../test/support/harness.js';
import { arbHistory, arbOps, OPEN_RULES, TENANTS } from '../test/laws/arbitraries.js';
import { ingestAll, runOps } from '../test/laws/support.js';
for (const rules of [undefined, OPEN_RULES]) {
  const samples = fc.sample(arbHistory({ tenants: TENANTS, blocked: true }), { numRuns: 500, seed: 7 });
  let m1 = 0, m3 = 0;
  for (const s of samples) { const h = makeHarness({ identityRules: rules }); await ingestAll(h, s); const m = h.ports.metrics.get('identity_merge'); if (m) m1++; if (m >= 2) m3++; }
  console.log('history', rules?.version, m1 / 500, m3 / 500);
}
const ops = fc.sample(arbOps({ blocked: true }), { numRuns: 500, seed: 7 });
let auto = 0, man = 0, un = 0, ref = 0;
for (const o of ops) { const h = makeHarness(); const r = await runOps(h, o); if (h.ports.metrics.get('identity_merge')) auto++; if (r.merges) man++; if (r.unmerges) un++; if (r.refused) ref++; }
console.log('ops', auto / 500, man / 500, un / 500, ref / 500);
