#!/usr/bin/env node
// The `c360` command. The sources are TypeScript, run through tsx's loader (no build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/infrastructure/cli.ts');
process.exitCode = await main(process.argv.slice(2));
