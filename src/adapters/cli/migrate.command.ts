import { Option, type Command } from 'commander';
import type { Action, CommandContext } from './command-context.js';
import { cliActor } from './actor.js';
import { usageError } from './cli-error.js';
import { plural } from './output.js';
import { startProgress } from './progress.js';

// `c360 migrate --to dynamodb|sqlite`: copies the tenant's log, claims, idempotency records, data
// keys (with the tombstones of erased customers), quarantine, erasure ledger, audit log and outbox
// from the configured store to another one, then rebuilds the views there.

type MigrateOptions = { to: 'sqlite' | 'dynamodb'; file?: string; resume?: boolean };

export const registerMigrate = (program: Command, action: Action): void => {
  program
    .command('migrate')
    .description("move the tenant's data from the configured store (C360_STORE) to another store, then rebuild its views there")
    .addOption(
      new Option('--to <store>', 'the target store: dynamodb (tables and endpoint from C360_*_TABLE, AWS_ENDPOINT_URL_DYNAMODB) or sqlite')
        .choices(['dynamodb', 'sqlite'])
        .makeOptionMandatory(),
    )
    .option('--file <path>', 'with --to sqlite: the target SQLite file')
    .option('--resume', 'write into a target that already holds the tenant (finish an interrupted migration); nothing is copied twice')
    .action(action((ctx, options: MigrateOptions) => migrate(ctx, options)));
};

const migrate = async (ctx: CommandContext, options: MigrateOptions): Promise<number> => {
  const { tenant, out, deps } = ctx;
  if (!deps.migrate) throw usageError('migrate is not available here');
  if (options.to === 'sqlite' && !options.file) throw usageError('migrate --to sqlite needs --file <path> (the target file)');
  const progress = startProgress(deps.io, { label: 'migrate' });
  let last = '';
  try {
    const onProgress = (kind: string, n: number) => {
      last = `${kind}: ${n.toLocaleString('en-US')} copied`;
      progress.update(n, () => last);
    };
    const result = await deps.migrate({ tenant, to: options.to, file: options.file, resume: options.resume === true, actor: cliActor(), onProgress });
    progress.stop(last);
    const start = Object.entries(result.env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    out.result({ tenant, to: options.to, counts: result.counts, rebuild: result.rebuild, env: result.env });
    out.line(`migrated tenant "${tenant}" to ${options.to}:`);
    for (const [kind, n] of Object.entries(result.counts)) out.line(`  ${kind.padEnd(12)} ${n.toLocaleString('en-US')}`);
    out.line(`rebuilt the views there: ${plural(result.rebuild.events, 'event')} replayed into ${plural(result.rebuild.docs, 'read model document')}`);
    out.line(`now start on it with ${start} npm start (same C360_MASTER_KEY and C360_CLAIM_SECRET)`);
    // a job without them would write to the store migrated from, which the server no longer reads
    out.line('  and run c360 jobs with the same settings (export them in the shell): without them a job uses the store migrated from');
    return 0;
  } catch (e) {
    progress.stop(last, true);
    throw e;
  }
};
