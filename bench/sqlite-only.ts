import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { writeReadmeTable } from './readme-table.js';
import { runSqliteBench } from './sqlite.bench.js';
import { runLoneCallBench } from './lone-call.bench.js';

// `npm run bench:sqlite`: only the embedded-store rows of `npm run bench`: a table, then
// bench/results/sqlite.json, and the README's table of these rows rewritten from them.
const rows = [...(await runSqliteBench()), ...(await runLoneCallBench())];
console.table(rows);
const meta = `Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), ${new Date().toISOString().slice(0, 10)}, load average ${loadavg()[0]!.toFixed(1)} at the end (other jobs share the cores).`;
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/sqlite.json', import.meta.url), `${JSON.stringify({ at: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`);
writeReadmeTable('sqlite', rows, meta);
