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
  if (!found?.DatabaseSync) {
    throw new Error(
      `the embedded store needs node:sqlite, which Node ${process.version} does not have (Node 22.13 or newer does). ` +
        'Run through npm (npm start, npm run c360 -- ...): it uses the Node 22 that the lockfile pins. Or choose another store with C360_STORE',
    );
  }
  return (loaded = found);
};
