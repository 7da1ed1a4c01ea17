import type { Core } from '../../application/core.js';
import type { IngestSource } from '../../application/ingest/ingest.use-case.js';
import type { AnalyticsQueries } from '../../application/ports/lake.port.js';

// What the `c360` program needs from the outside, so tests run it in-process on an in-memory core
// with captured output, and the bin (src/infrastructure/cli.ts) wires the real thing.

export type CliWriter = { write(text: string): unknown; readonly isTTY?: boolean | undefined; readonly columns?: number | undefined };

export type CliIo = {
  readonly stdout: CliWriter;
  /** progress and errors; a TTY gets a live bar, anything else a line every few seconds */
  readonly stderr: CliWriter;
  /** C360_DEBUG=1: errors print their stack */
  readonly debug: boolean;
  /** how often progress is logged when stderr is not a TTY; default 5 s */
  readonly progressIntervalMs?: number | undefined;
};

/** The running core, as the commands use it (an App from the composition root fits). */
export type CliSession = {
  readonly core: Pick<Core, 'ingest' | 'rebuild' | 'quarantine' | 'gdpr' | 'export' | 'rekeyClaims' | 'matching' | 'identity'>;
  readonly sourceOf: (tenant: string, name: string) => IngestSource;
  /** waits until background projection has caught up, so a finished job is visible to readers */
  drainBackground(): Promise<void>;
};

export type SeedRequest = { readonly customers: number; readonly products: number; readonly orders: number; readonly events: number; readonly seed: number };
export type SeedData = (request: SeedRequest) => {
  readonly stats: { readonly calls: number };
  readonly people: Iterable<readonly { readonly source: string; readonly call: unknown }[]>;
};

/** `c360 migrate`: where to move the tenant (the source is the configured store). */
export type MigrateRequest = {
  readonly tenant: string;
  readonly to: 'sqlite' | 'dynamodb';
  /** --to sqlite: the target file */
  readonly file?: string | undefined;
  readonly resume: boolean;
  /** who runs it, for the audit log (cli:<user>) */
  readonly actor: string;
  readonly onProgress?: ((kind: string, copied: number) => void) | undefined;
};
export type MigrateResult = {
  readonly counts: Readonly<Record<string, number>>;
  readonly rebuild: { readonly events: number; readonly docs: number };
  /** the settings to start on the target with, e.g. C360_STORE=dynamodb */
  readonly env: Readonly<Record<string, string>>;
};

/** The analytics lake as `c360 analytics` and `c360 quality` use it. */
export type CliLake = {
  readonly analytics: AnalyticsQueries;
  /** brings the tenant's lake up to the end of the log; undefined when a running server writes it */
  catchUp(tenant: string): Promise<{ readonly events: number } | undefined>;
  rebuild(tenant: string): Promise<{ readonly events: number } | undefined>;
  quality(
    tenant: string,
    options: { readonly now: number; readonly maxAgeHours: number },
  ): Promise<{
    readonly ok: boolean;
    readonly checks: readonly { readonly check: string; readonly table: string; readonly rule: string; readonly ok: boolean; readonly value: number }[];
  }>;
};

export type CliDeps = {
  readonly defaultTenant: string;
  /** the package's version, printed by `c360 --version` (absent: no such option) */
  readonly version?: string | undefined;
  /**
   * builds (once) the core the commands run on; not called for --help or a usage error. It refuses
   * a claim secret the store does not record, unless `viewsOnly` (a command that reads the views
   * and nothing else: a claim secret it does not use is left unchecked until it writes)
   */
  readonly open: (options?: { readonly viewsOnly?: boolean | undefined }) => Promise<CliSession>;
  /** runs the HTTP server until the process is asked to stop */
  readonly serve: (options: { readonly tenant: string }) => Promise<void>;
  readonly seedData: SeedData;
  readonly io: CliIo;
  /**
   * Calls `stop` on the first Ctrl-C (SIGINT) so a long job can end cleanly and say what it did,
   * then writes on stderr that it is stopping: `stop` stops the job's progress bar first
   * (Progress.interrupt), or the bar would write over that line. Returns the unsubscribe. Absent
   * in tests that do not interrupt.
   */
  readonly onInterrupt?: ((stop: () => void) => () => void) | undefined;
  /** the write key a job sends to a running server with (`seed --url`) when none is given */
  readonly writeKey?: (() => string | undefined) | undefined;
  /** the admin token a seed sends with to a running server (`seed --url`), each call as its own source, when none is given */
  readonly adminToken?: (() => string | undefined) | undefined;
  /** moves the tenant to another store; absent where the program runs on an in-memory core */
  readonly migrate?: ((request: MigrateRequest) => Promise<MigrateResult>) | undefined;
  /** the analytics lake under the data dir; absent where the program runs on an in-memory core */
  readonly lake?: (() => Promise<CliLake>) | undefined;
};
