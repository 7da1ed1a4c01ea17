import { MemoryMetrics } from '../src/adapters/metrics/memory.metrics.js';
import { Customer360Projector } from '../src/application/projection/customer360.projector.js';
import { ScratchDocs } from '../src/application/projection/rebuild.use-case.js';
import { dumpViews, makeHarness } from '../test/support/harness.js';
import { deliver, type Op } from '../test/laws/arbitraries.js';
import { json, runOps } from '../test/laws/support.js';
const ce = JSON.parse((await import("node:fs")).readFileSync(process.argv[2]!, "utf8").replace(/undefined/g, 'null'), (_k, v) => (v === null ? undefined : v));
const [ops, delivery] = ce as [Op[], { keys: number[]; repeats: number[] }];
const h = makeHarness();
await runOps(h, ops);
const live = await dumpViews(h, 'acme');
const events: any[] = [];
let page = await h.ports.store.readAll('acme', { limit: 1000 });
for (const s of page.events) events.push(h.core.codec.decode(s, s.pii === undefined ? null : await h.ports.keys.get('acme', s.streamId)));
const short = (id: string) => id.slice(-4);
const order = deliver(events, delivery);
const scratch = new ScratchDocs();
const p = new Customer360Projector(h.ports.store, h.ports.keys, h.core.codec, new MemoryMetrics());
for (const r of order) {
  await p.apply('acme', [r], scratch);
  console.log(short(r.streamId), r.version, r.event.type, r.event.type.startsWith('Customer') ? JSON.stringify(r.event.data).slice(0, 80) : '', '=>', [...scratch.docs.values()].map((d) => `${short(d.customerId)}:${d.kind}${d.kind === 'pointer' ? '->' + short(d.mergedInto) : ''} ${JSON.stringify(Object.fromEntries(Object.entries(d.applied).map(([k, v]) => [short(k), v])))}`).join(' | '));
}
const got = json([...scratch.docs.values()].sort((a, b) => (a.customerId < b.customerId ? -1 : 1)));
console.log(JSON.stringify(got) === JSON.stringify(live) ? 'EQUAL' : 'DIFFERENT');
console.log(live.map((d: any) => `${short(d.customerId)} ${d.kind} ${JSON.stringify(d.applied)}`).join('\n'));
