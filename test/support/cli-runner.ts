import { afterEach, beforeEach } from 'vitest';
import type { CliDeps } from '../../src/adapters/cli/cli.deps.js';
import { runCli } from '../../src/adapters/cli/program.js';
import { buildApp, type App } from '../../src/infrastructure/app.js';
import { cliConfig } from '../../src/infrastructure/cli.js';
import { withLocalSecrets } from '../../src/infrastructure/local/secrets.js';
import { generateSeed } from '../../src/infrastructure/demo/dataset.js';

// The `c360` program in-process with captured output, on an App the test provides.

const writer = () => {
  let text = '';
  return { write: (s: string) => ((text += s), true), text: () => text };
};

export const runCliInProcess = async (
  argv: readonly string[],
  options: { readonly tenant: string; readonly open: () => Promise<App>; readonly debug?: boolean; readonly onInterrupt?: CliDeps['onInterrupt'] },
) => {
  const stdout = writer();
  const stderr = writer();
  const deps: CliDeps = {
    defaultTenant: options.tenant,
    open: options.open,
    serve: async () => {
      throw new Error('not in these tests');
    },
    seedData: generateSeed,
    io: { stdout, stderr, debug: options.debug ?? false, progressIntervalMs: 0 },
    onInterrupt: options.onInterrupt,
  };
  const code = await runCli([...argv], deps);
  return { code, out: stdout.text(), err: stderr.text(), json: () => JSON.parse(stdout.text()) as Record<string, any> };
};

/**
 * A fresh in-memory App per test, configured as the bin configures a job (local secrets), and the
 * program run against it: `rig.app` is the current test's App.
 */
export const memoryCliRig = (tenant: string, options: { readonly debug?: boolean } = {}) => {
  let current: App | undefined;
  beforeEach(async () => {
    current = await buildApp(withLocalSecrets(cliConfig({ C360_STORE: 'memory', C360_TENANT: tenant }, 'job')).config);
  });
  afterEach(async () => {
    await current?.close();
  });
  const rig = {
    get app(): App {
      if (!current) throw new Error('the App exists only inside a test');
      return current;
    },
    c360: (...argv: string[]) => runCliInProcess(argv, { tenant, debug: options.debug, open: async () => rig.app }),
  };
  return rig;
};
