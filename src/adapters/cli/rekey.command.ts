import type { Command } from 'commander';
import type { Action, CommandContext } from './command-context.js';

// `c360 rekey-claims`: after an upgrade that changes identifier normalization, re-key the tenant's
// claims made under the older version so existing customers still match. Safe to run again.

export const registerRekey = (program: Command, action: Action): void => {
  program
    .command('rekey-claims')
    .description('re-key identifier claims made under an older normalization version, so existing customers still match')
    .action(action((ctx) => rekey(ctx)));
};

const rekey = async (ctx: CommandContext): Promise<number> => {
  const { tenant, out } = ctx;
  const session = await ctx.session();
  const report = await session.core.rekeyClaims.run(tenant);
  out.result({ tenant, ...report });
  out.line(
    `re-keyed ${report.rekeyed} of ${report.scanned} linked identifiers of tenant "${tenant}" to normalization v${report.normalizationVersion}` +
      (report.collisions ? `; ${report.collisions} left as they were: their new key is another customer's (merge them by hand if they are one)` : '') +
      (report.invalid ? `; ${report.invalid} stored values are invalid today and were left alone` : ''),
  );
  return 0;
};
