import type { CliDeps } from '../../src/adapters/cli/cli.deps.js';
import { runCli } from '../../src/adapters/cli/program.js';
import type { App } from '../../src/infrastructure/app.js';
import { generateSeed } from '../../src/infrastructure/demo/dataset.js';

// The `c360` program in-process with captured output, on an App the test provides.

const writer = () => {
  let text = '';
  return { write: (s: string) => ((text += s), true), text: () => text };
};

export const runCliInProcess = async (
  argv: readonly string[],
  options: { readonly tenant: string; readonly open: () => Promise<App>; readonly debug?: boolean },
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
  };
  const code = await runCli([...argv], deps);
  return { code, out: stdout.text(), err: stderr.text(), json: () => JSON.parse(stdout.text()) as Record<string, any> };
};
