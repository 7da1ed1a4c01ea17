import { runSqliteBench } from './sqlite.bench.js';

// `npm run bench:sqlite`: only the embedded-store rows of `npm run bench`, printed as a table.
console.table(await runSqliteBench());
