import { Command, CommanderError, type HelpContext, Option } from 'commander';
import { registerAnalytics } from './analytics.command.js';
import type { CliDeps, CliSession } from './cli.deps.js';
import { describeError, EXIT, exitCodeOf } from './cli-error.js';
import type { Action, CommandContext } from './command-context.js';
import { registerGdpr } from './gdpr.command.js';
import { registerIdentity } from './identity.command.js';
import { registerImport } from './import.command.js';
import { registerLaws } from './laws.command.js';
import { registerMigrate } from './migrate.command.js';
import { tenantName } from './options.js';
import { makeOutput } from './output.js';
import { registerQuarantine } from './quarantine.command.js';
import { registerMatch } from './match.command.js';
import { registerRebuild } from './rebuild.command.js';
import { registerRekey } from './rekey.command.js';
import { registerSeed } from './seed.command.js';

// The `c360` program: commander parses, each command is a function of a context. Built per run
// from its dependencies, so tests drive it in-process with captured output.

/**
 * Asking for help is not a usage error. Commander prints `c360 help [command]` to stdout but ends
 * it with its 'commander.help' code, and answers `c360` alone (or `c360 quarantine`, a command that
 * needs a subcommand, given none) with the help on stderr and exit 1. Here every one of those is
 * the help, on stdout, exit 0, as `--help` is; `c360 help <unknown>` stays an unknown command.
 */
class C360Command extends Command {
  override createCommand(name?: string): Command {
    return new C360Command(name);
  }

  override help(context?: HelpContext | ((text: string) => string)): never {
    // commander asks for the help as an error for `help <name>` when no command has that name
    const [first, named] = this.args;
    if (typeof context === 'object' && context.error && first === 'help' && named !== undefined) {
      this.error(`error: unknown command '${named}'`, { code: 'commander.unknownCommand', exitCode: EXIT.usage });
    }
    return typeof context === 'function' ? super.help(context) : super.help();
  }
}

export const buildProgram = (deps: CliDeps, setExit: (code: number) => void): Command => {
  let session: Promise<CliSession> | undefined;
  const action: Action =
    (body) =>
    async (...args) => {
      const command = args.at(-1) as Command;
      const globals = command.optsWithGlobals<{ tenant?: string; json?: boolean }>();
      const ctx: CommandContext = {
        deps,
        tenant: globals.tenant ?? deps.defaultTenant,
        out: makeOutput(deps.io, globals.json === true),
        session: (options) => (session ??= deps.open(options)),
      };
      setExit((await body(ctx, ...(args.slice(0, -1) as never))) ?? EXIT.ok);
    };

  const program = new C360Command('c360')
    .description('Customer 360 core: serve the API, seed demo data, import Segment calls, rebuild views, work the quarantine, erase and export customers')
    .addOption(new Option('--tenant <tenant>', `tenant to work on (default: C360_TENANT, now "${deps.defaultTenant}")`).argParser(tenantName))
    .option('--json', 'print the result as one JSON document (for scripts)')
    .showHelpAfterError('(run c360 --help for usage)')
    .configureOutput({ writeOut: (s) => deps.io.stdout.write(s), writeErr: (s) => deps.io.stderr.write(s) })
    .exitOverride();
  if (deps.version !== undefined) program.version(deps.version, '-V, --version', 'print the version');

  program
    .command('serve')
    .description('run the HTTP API (on the embedded SQLite store unless C360_STORE says otherwise) until stopped')
    .action(action(async (ctx) => deps.serve({ tenant: ctx.tenant })));
  registerSeed(program, action);
  registerImport(program, action);
  registerRebuild(program, action);
  registerQuarantine(program, action);
  registerGdpr(program, action);
  registerMigrate(program, action);
  registerRekey(program, action);
  registerMatch(program, action);
  registerIdentity(program, action);
  registerAnalytics(program, action);
  registerLaws(program, action);
  return program;
};

const COMMANDER_OK = new Set(['commander.help', 'commander.helpDisplayed', 'commander.version']);

/** Runs one command line (without node and script); resolves to the exit code, never throws. */
export const runCli = async (argv: readonly string[], deps: CliDeps): Promise<number> => {
  let code: number = EXIT.ok;
  const program = buildProgram(deps, (c) => (code = c));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (e) {
    // commander has already printed its one-line message
    if (e instanceof CommanderError) return COMMANDER_OK.has(e.code) ? EXIT.ok : EXIT.usage;
    deps.io.stderr.write(`error: ${describeError(e)}\n`);
    if (deps.io.debug && e instanceof Error && e.stack) deps.io.stderr.write(`${e.stack}\n`);
    return exitCodeOf(e);
  }
};
