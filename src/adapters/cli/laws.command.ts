import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import type { LawResult, LawsOptions } from '../../testing/identity-laws.js';
import { CliError, EXIT, usageError } from './cli-error.js';
import type { Action, CommandContext } from './command-context.js';
import { integer } from './options.js';

// `c360 laws --rules my-rules.json`: the identity laws against a rules file, before it goes live.
// Runs in memory, touches no store. A failure prints the seed, the replay path and the shrunk
// history of calls that breaks the law; `--seed` replays it.

const seedOf = (raw: string): number => {
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < -(2 ** 31) || n >= 2 ** 31)
    throw new InvalidArgumentError('must be a whole number from -2147483648 to 2147483647');
  return n;
};

type LawsFlags = { readonly rules: string; readonly runs: number; readonly seed?: number | undefined; readonly law?: string[] | undefined };

export const registerLaws = (program: Command, action: Action): void => {
  program
    .command('laws')
    .description('check an identity rules file against the identity laws (limits, blocked values, cluster guard, unique identifiers, idempotence)')
    .requiredOption('--rules <file>', 'the identity rules file (JSON)')
    .option('--runs <n>', 'generated histories per law', integer(1, 100_000), 100)
    .option('--seed <seed>', 'fast-check seed, to replay a failure', seedOf)
    .option('--law <name...>', 'only these laws')
    .action(action((ctx, flags: LawsFlags) => laws(ctx, flags)));
};

const loadRules = async (file: string): Promise<unknown> => {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw usageError(`--rules: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw usageError(`--rules: ${file} is not JSON (${(e as Error).message})`);
  }
};

/** fast-check is an optional peer dependency of the package: said plainly when it is missing. */
const loadLaws = async () => {
  try {
    return await import('../../testing/identity-laws.js');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && /fast-check/.test(String(e)))
      throw new CliError('c360 laws needs fast-check: npm install --save-dev fast-check', EXIT.failure);
    throw e;
  }
};

const laws = async (ctx: CommandContext, flags: LawsFlags): Promise<number> => {
  const { out } = ctx;
  const rules = await loadRules(flags.rules);
  const { checkIdentityLaws, formatCoverage, formatLawFailure, IDENTITY_LAWS } = await loadLaws();
  const known = IDENTITY_LAWS.map((l) => l.name);
  const unknown = (flags.law ?? []).filter((l) => !(known as string[]).includes(l));
  if (unknown.length > 0) throw usageError(`--law: unknown ${unknown.join(', ')} (laws: ${known.join(', ')})`);
  let results: LawResult[];
  try {
    results = await checkIdentityLaws(rules, { numRuns: flags.runs, seed: flags.seed, laws: flags.law as LawsOptions['laws'] });
  } catch (e) {
    if (e instanceof Error && e.name === 'IdentityRulesError') throw usageError(`--rules: ${flags.rules}: ${e.message}`);
    throw e;
  }
  const failed = results.filter((r) => !r.ok);
  out.result({ rules: flags.rules, ok: failed.length === 0, results });
  for (const r of results) {
    out.line(
      !r.ok
        ? `FAIL  ${r.name}${r.exercised ? '' : ' (not exercised)'}`
        : r.skipped !== undefined
          ? `skip  ${r.name}: ${r.statement}`
          : `ok    ${r.name}: ${r.statement} (${r.numRuns} histories, seed ${r.seed})`,
    );
    // how often the histories met what the law is about, or why it was not checked
    if (r.ok) out.line(`      ${formatCoverage(r)}`);
  }
  for (const r of failed) out.line(`\n${formatLawFailure(r)}`);
  const unexercised = failed.filter((r) => !r.exercised).length;
  const skipped = results.filter((r) => r.skipped !== undefined).length;
  const notChecked = skipped > 0 ? ` (${skipped} not checked: nothing the histories can check under these rules)` : '';
  out.line(
    failed.length === 0
      ? `\n${flags.rules}: every law ${skipped > 0 ? 'checked ' : ''}holds${notChecked}`
      : `\n${flags.rules}: ${failed.length} of ${results.length} laws fail${unexercised > 0 ? ` (${unexercised} not exercised)` : ''}${notChecked}`,
  );
  return failed.length === 0 ? EXIT.ok : EXIT.failure;
};
