import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ACCOUNTS_FILE, loadAccounts, placeholdersIn } from './accounts.js';
import { acknowledgedFindings, buildCdkApp } from './app.js';

// npm run synth: builds the Lambda bundles (scripts/build-lambda.ts, local esbuild, no Docker),
// lays each function's files out as its own asset, and synthesizes every stage into cdk.out.
// Offline: no context lookups (every account and region comes from accounts.json).

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** <assetsDir>/<name>/ holds <name>.mjs and its chunk folder, copied from the bundles. */
export const layOutAssets = (bundlesDir: string, assetsDir: string, names: readonly string[]): void => {
  rmSync(assetsDir, { recursive: true, force: true });
  for (const name of names) {
    mkdirSync(join(assetsDir, name), { recursive: true });
    cpSync(join(bundlesDir, `${name}.mjs`), join(assetsDir, name, `${name}.mjs`));
    if (existsSync(join(bundlesDir, name))) cpSync(join(bundlesDir, name), join(assetsDir, name, name), { recursive: true });
  }
};

/** The line `npm run synth` prints about the cdk-nag gate. */
export const nagSummary = (runs: readonly { readonly templates: number; readonly violations: number }[], acknowledged: number): string => {
  const templates = runs.reduce((n, r) => n + r.templates, 0);
  const violations = runs.reduce((n, r) => n + r.violations, 0);
  if (runs.length === 0) return 'cdk-nag AwsSolutions gate: did NOT run (no validation plugin was called); do not deploy this cloud assembly';
  return `cdk-nag AwsSolutions gate: ${templates} templates checked (every stage), ${violations} unacknowledged findings, ${acknowledged} acknowledged with their reasons (Validations.acknowledge in src/infrastructure/cdk)`;
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.env.CDK_DISABLE_CLI_TELEMETRY = 'true';
  const { buildLambdas, FUNCTIONS } = await import('../../../scripts/build-lambda.js');
  const bundles = join(ROOT, 'dist/lambda');
  await buildLambdas({ outDir: bundles });
  const assetsDir = join(ROOT, 'dist/lambda-assets');
  layOutAssets(
    bundles,
    assetsDir,
    FUNCTIONS.map((f) => f.name),
  );
  const accounts = loadAccounts();
  const { app, nag } = buildCdkApp({ accounts, assetsDir, outdir: join(ROOT, 'cdk.out') });
  const assembly = app.synth();
  console.log(`synthesized ${assembly.stacks.length} top-level stacks and ${assembly.nestedAssemblies.length} stages into ${assembly.directory}`);
  // a synth the gate failed has thrown with its findings by now: this one passed
  console.log(nagSummary(nag.runs, acknowledgedFindings(app)));
  const placeholders = placeholdersIn(accounts);
  if (placeholders.length > 0)
    console.warn(
      [
        `WARNING: ${fileURLToPath(ACCOUNTS_FILE)} still holds the checked-in placeholders; do not deploy this cloud assembly (the pipeline would build from a repository that is not yours, through a connection that does not exist, into accounts nobody owns):`,
        ...placeholders.map((p) => `  ${p}`),
      ].join('\n'),
    );
}
