import type { CliDeps, CliIo, CliSession } from '../adapters/cli/cli.deps.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from '../adapters/cli/cli-error.js';
import { quietWhenClosed } from '../adapters/cli/output.js';
import { runCli } from '../adapters/cli/program.js';
import { loadConfig, unknownSettings, type Config } from './config.js';
import { REPEAT_MS } from './signals.js';
import { generateSeed } from './demo/dataset.js';
import type { App } from './app.js';

// The `c360` bin's composition: the environment's config, the embedded default's secrets and
// DynamoDB Local when it needs them, one App for the command, closed at the end. The heavy parts
// are imported on first use, so --help and usage errors answer at once.

/**
 * A job's results are readable when it exits. On the embedded store the log follower projects them
 * a page at a time as the job goes (one view write per customer per page, not per call) and catches
 * up before exit; elsewhere the job projects inline.
 */
const jobProjection = (config: Config): Config['projection'] => (config.store === 'sqlite' ? 'log' : 'inline');

/** The config the bin runs with: the environment's, and for jobs a projection that is done at exit. */
export const cliConfig = (env: NodeJS.ProcessEnv, use: 'job' | 'server'): Config => {
  const config = loadConfig(env);
  return {
    ...config,
    // a running server's projector (Streams poller, log follower) skips what the job projected
    projection: use === 'job' && !env.C360_PROJECTION ? jobProjection(config) : config.projection,
  };
};

/** A job runs in its own process: an in-memory store would be filled, then dropped at exit. */
export const MEMORY_REFUSED =
  "C360_STORE=memory: this command runs in its own process, so an in-memory store would be filled and dropped when it ends (and a server's in-memory store cannot be reached from here). Unset C360_STORE to use the embedded SQLite store (a running `npm start` sees what the command writes), use C360_STORE=dynamodb, or send to a running server: c360 seed --url http://127.0.0.1:3000";

/** A credential `npm start` generated into the data dir's secrets.json, if there is one (nothing is created). */
const localSecret = (env: NodeJS.ProcessEnv, name: 'writeKey' | 'adminToken'): string | undefined => {
  try {
    const secrets = JSON.parse(readFileSync(join(loadConfig(env).dataDir, 'secrets.json'), 'utf8')) as Record<string, unknown>;
    return typeof secrets[name] === 'string' ? secrets[name] : undefined;
  } catch {
    return undefined;
  }
};

const tenantOf = (env: NodeJS.ProcessEnv): string => {
  try {
    return loadConfig(env).tenant;
  } catch {
    return env.C360_TENANT ?? 'demo'; // the error is reported when a command needs the config
  }
};

const untilStopped = (): Promise<string> =>
  new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

/**
 * Ctrl-C during a job: the first asks it to stop cleanly (it says what it did and how to resume)
 * and says so on stderr once `stop` has stopped the job's progress bar; a second one, a moment
 * later, ends the process at once. The copies of the first that npm and the terminal deliver
 * within REPEAT_MS are that same Ctrl-C (they cut the clean stop short).
 */
export const onInterrupt =
  (io: Pick<CliIo, 'stderr'>, now: () => number = Date.now) =>
  (stop: () => void): (() => void) => {
    let askedAt: number | undefined;
    const handler = () => {
      if (askedAt !== undefined) {
        if (now() - askedAt < REPEAT_MS) return;
        io.stderr.write('interrupted again: exiting now\n');
        process.exit(130);
      }
      askedAt = now();
      // the job first stops what it draws (its progress bar ends its line), then this line follows it
      stop();
      io.stderr.write('interrupted: finishing the calls in flight (Ctrl-C again to exit now)\n');
    };
    process.on('SIGINT', handler);
    return () => process.off('SIGINT', handler);
  };

/** The package's version: package.json sits two folders up from src/infrastructure and from lib/infrastructure alike. */
const packageVersion = (): string | undefined => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
};

export const main = async (
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  io: CliIo = { stdout: quietWhenClosed(process.stdout), stderr: quietWhenClosed(process.stderr), debug: env.C360_DEBUG === '1' },
): Promise<number> => {
  for (const warning of unknownSettings(env)) io.stderr.write(`warning: ${warning}\n`);
  const closers: (() => Promise<void>)[] = [];
  let opened: App | undefined;
  const deps: CliDeps = {
    defaultTenant: tenantOf(env),
    version: packageVersion(),
    io,
    seedData: generateSeed,
    onInterrupt: onInterrupt(io),
    writeKey: () => env.C360_WRITE_KEY || localSecret(env, 'writeKey'),
    adminToken: () => env.C360_ADMIN_TOKEN || localSecret(env, 'adminToken'),
    open: async (options = {}): Promise<CliSession> => {
      const [{ buildApp }, { startEmbeddedDynamoDb }, { withLocalSecrets }] = await Promise.all([
        import('./app.js'),
        import('./local/embedded.js'),
        import('./local/secrets.js'),
      ]);
      const config = cliConfig(env, 'job');
      if (config.store === 'memory') throw new CliError(MEMORY_REFUSED);
      const { config: withSecrets } = withLocalSecrets(config);
      const embedded = await startEmbeddedDynamoDb(withSecrets, (line) => io.stderr.write(`${line}\n`));
      closers.push(() => embedded.stop());
      // a warning, not a refusal: `c360 erase` must still erase customers whose master key is lost
      const app = await buildApp(embedded.config, {
        checkMasterKeys: { warn: (message) => io.stderr.write(`warning: ${message}\n`) },
        // a refusal: claim keys under another secret would start a second customer for each person
        checkClaimSecret: options.viewsOnly ? undefined : 'compare',
      });
      // what the job wrote is projected before it exits, whatever the command
      closers.unshift(async () => {
        await app.drainBackground();
        await app.close();
      });
      await app.startBackground();
      opened = app;
      return app;
    },
    lake: async () => {
      const config = cliConfig(env, 'job');
      if (config.store === 'memory') throw new CliError(MEMORY_REFUSED);
      if (!opened) await deps.open();
      const store = opened!.core.ports.store;
      const local = await (await import('./lake.js')).openLocalLake(config);
      closers.unshift(() => local.close());
      return {
        analytics: local.lake.analytics,
        catchUp: (tenant) => local.catchUp(store, tenant, opened!.core.ports.ledger),
        rebuild: (tenant) => local.rebuild(store, tenant),
        quality: (tenant, options) => local.quality(tenant, options),
      };
    },
    migrate: async (request) => {
      const [{ migrateFromEnv }, { startEmbeddedDynamoDb }, { withLocalSecrets }] = await Promise.all([
        import('./migrate.js'),
        import('./local/embedded.js'),
        import('./local/secrets.js'),
      ]);
      const source = withLocalSecrets(cliConfig(env, 'job')).config;
      // a source on the target's store is refused as the same store (migrateFromEnv), as before
      if (source.store === request.to) return migrateFromEnv(source, env, request);
      // the source as every job opens it: C360_STORE=dynamodb without an endpoint is the data dir's
      // DynamoDB Local (a running server's, or one of the job's own), never DynamoDB on AWS
      const embedded = await startEmbeddedDynamoDb(source, (line) => io.stderr.write(`${line}\n`));
      closers.push(() => embedded.stop());
      return migrateFromEnv(embedded.config, env, request);
    },
    serve: async ({ tenant }) => {
      const { serve } = await import('./server.js');
      const running = await serve({ ...cliConfig(env, 'server'), tenant }, (line) => io.stdout.write(`${line}\n`));
      const signal = await untilStopped();
      io.stderr.write(`${signal}: stopping\n`);
      await running.close();
    },
  };
  try {
    return await runCli(argv, deps);
  } finally {
    for (const close of closers.splice(0)) {
      await close().catch((e: unknown) => io.stderr.write(`warning: while shutting down: ${(e as Error).message}\n`));
    }
  }
};
