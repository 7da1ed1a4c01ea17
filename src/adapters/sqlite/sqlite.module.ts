// node:sqlite prints an ExperimentalWarning when first loaded on Node 22. That one warning is
// dropped, nothing else: every other warning, experimental or not, still reaches the user.

type SqliteModule = typeof import('node:sqlite');

const SQLITE_WARNING = /^SQLite is an experimental feature/;

let loaded: SqliteModule | undefined;

export const loadSqlite = (): SqliteModule => {
  if (loaded) return loaded;
  const emit = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]): void {
    const message = typeof warning === 'string' ? warning : warning.message;
    const type = typeof warning === 'string' ? (typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type) : warning.name;
    if (type === 'ExperimentalWarning' && SQLITE_WARNING.test(message)) return;
    (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  let found: SqliteModule | undefined;
  try {
    found = (process.getBuiltinModule as ((id: string) => unknown) | undefined)?.('node:sqlite') as SqliteModule | undefined;
  } finally {
    process.emitWarning = emit;
  }
  if (!found?.DatabaseSync) throw new Error(nodeTooOld(process.version, fromSource(import.meta.url)));
  return (loaded = found);
};

/** The oldest Node the package runs on: package.json's engines (node:sqlite from 22.13, the lake's zstd from 22.15). */
export const MIN_NODE = '22.15';

/** Whether this module runs from the repository's TypeScript sources (npm start, npm run c360), not from an installed or bundled build. */
export const fromSource = (moduleUrl: string): boolean => /\/src\/adapters\/sqlite\/sqlite\.module\.ts$/.test(moduleUrl);

/**
 * What to do on a Node without node:sqlite: in the repository, run through npm, whose lockfile pins
 * a Node 22; in a project of one's own (whose lockfile pins nothing of the kind), run that project
 * on a newer Node.
 */
export const nodeTooOld = (version: string, inRepository: boolean): string =>
  `the embedded store needs node:sqlite, which Node ${version} does not have: customer360-core needs Node ${MIN_NODE} or newer (its package.json engines). ` +
  (inRepository
    ? "In this repository, run through npm (npm start, npm run c360 -- ...): its lockfile pins a Node 22 (npm's node package) that the scripts run on. Or choose another store with C360_STORE"
    : `Run your project on Node ${MIN_NODE} or newer (your own setup decides which Node runs it, e.g. nvm install 22). Or use another store: C360_STORE for the c360 command, another adapter (memory, DynamoDB) in your own code`);
