#!/usr/bin/env node
// The `c360` command. In the repository it runs the TypeScript sources through tsx's loader (no
// build step); an installed package ships no sources and runs its build (lib/, `npm run build`).
import { existsSync } from 'node:fs';

const source = new URL('../src/infrastructure/cli.ts', import.meta.url);
let cli;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(source.href);
} else {
  cli = await import('../lib/infrastructure/cli.js');
}
process.exitCode = await cli.main(process.argv.slice(2));
