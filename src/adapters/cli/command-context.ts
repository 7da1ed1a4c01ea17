import type { CliDeps, CliSession } from './cli.deps.js';
import type { Output } from './output.js';

// What every command body gets: its dependencies, the tenant, where results go, and the core.

export type CommandContext = {
  readonly deps: CliDeps;
  readonly tenant: string;
  readonly out: Output;
  /** the core, built on first use (see CliDeps.open for viewsOnly) */
  session(options?: { readonly viewsOnly?: boolean | undefined }): Promise<CliSession>;
};

/** Wraps a command body: builds its context from the parsed (global) options, keeps its exit code. */
// biome-ignore lint/suspicious/noConfusingVoidType: a command body may end without returning a code (exit 0)
export type Action = <A extends unknown[]>(body: (ctx: CommandContext, ...args: A) => Promise<number | void>) => (...args: unknown[]) => Promise<void>;
