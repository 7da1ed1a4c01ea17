import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadAccounts } from '../../src/infrastructure/cdk/accounts.js';
import { buildCdkApp } from '../../src/infrastructure/cdk/app.js';

// The CDK app as `npm run synth` builds it, with each function's asset a one-line stand-in for its
// bundle (the templates do not depend on the bundle's content; building the real bundles takes a
// minute and is covered by the bundle tests).

const made: string[] = [];

/** Removes the folders tempDir made (a test file's afterAll). */
export const removeTempDirs = (): void => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
};

/** A temporary folder, removed by removeTempDirs. */
export const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
};

export const stubAssets = (): string => {
  const dir = tempDir('c360-cdk-assets-');
  for (const name of ['api', 'kinesis', 'streams', 'outbox', 'lake']) {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, `${name}.mjs`), 'export const handler = async () => ({});\n');
  }
  return dir;
};

export const synthApp = () => {
  process.env.CDK_DISABLE_CLI_TELEMETRY = 'true';
  const built = buildCdkApp({ accounts: loadAccounts(), assetsDir: stubAssets(), outdir: tempDir('c360-cdk-out-') });
  const assembly = built.app.synth();
  return { ...built, assembly };
};

export const templateOf = (stack: Stack) => Template.fromStack(stack);

/** Every resource of a type in a template, as [logical id, properties]. */
export const resources = (template: Template, type: string): [string, Record<string, unknown>][] =>
  Object.entries(template.findResources(type)).map(([id, r]) => [id, (r as { Properties?: Record<string, unknown> }).Properties ?? {}]);
