import { cliActor } from './actor.js';
import { InvalidArgumentError, type Command } from 'commander';
import type { Action, CommandContext } from './command-context.js';
import { integer } from './options.js';
import { plural } from './output.js';
import { writePrivateFile } from './private-file.js';

// `c360 erase|export|erasures`: GDPR from the command line. The actor recorded in the audit log
// is `cli:<os user>`. An export holds personal data: with --out it goes to a file only the user
// can read (an existing file is replaced by one only the user can read); otherwise to stdout, whatever --json says (JSON is its format).

const gdprCore = async (ctx: CommandContext) => (await ctx.session()).core;

const reasonCode = (raw: string): string => {
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(raw))
    throw new InvalidArgumentError(
      'a reason code (letters, digits, _ . : -, at most 64), e.g. art17-request; never free text, it is kept where personal data is not',
    );
  return raw;
};

export const registerGdpr = (program: Command, action: Action): void => {
  program
    .command('erase')
    .description("erase a customer's whole identity cluster (crypto-shredding); running it again prints the same receipt")
    .argument('<customerId>', "any id of the cluster (a merged-away id erases its survivor's cluster)")
    .option('--reason <code>', 'a reason code for the audit log, e.g. art17-request', reasonCode)
    .action(action((ctx, id: string, o: { reason?: string }) => erase(ctx, id, o.reason)));
  program
    .command('export')
    .description("export everything held about a customer's identity cluster as one JSON document (access request)")
    .argument('<customerId>', 'any id of the cluster')
    .option('--out <file>', 'write the document to this file (created readable by you only) instead of stdout')
    .action(action((ctx, id: string, o: { out?: string }) => exportCustomer(ctx, id, o.out)));
  const erasures = program.command('erasures').description('the erasure ledger: list it, or re-apply it after a restore from backup');
  erasures
    .command('list')
    .description('list erasure receipts, oldest first')
    .option('--limit <n>', 'receipts per page', integer(1, 500), 50)
    .option('--after <cursor>', 'continue after this cursor (printed at the end of a page)')
    .action(action((ctx, o: { limit: number; after?: string }) => list(ctx, o)));
  erasures
    .command('reapply')
    .description('make every recorded erasure hold again (after restoring the stores from a backup)')
    .action(action((ctx) => reapply(ctx)));
};

/**
 * The line for quarantined payloads an erasure (or its re-application) could match by their
 * recorded keys only: their quarantine key is wrapped by a master key this keyring lacks.
 */
const unsearchedLine = (n: number | undefined): string | undefined =>
  n
    ? `${plural(n, 'quarantined payload')} could not be searched (${n === 1 ? 'its' : 'their'} quarantine key is wrapped by a master key this keyring lacks; matched by ${n === 1 ? 'its' : 'their'} recorded identifier keys only): run c360 erasures reapply once that master key is back in the keyring (e.g. in C360_MASTER_KEYS_PREVIOUS)`
    : undefined;

const erase = async (ctx: CommandContext, id: string, reason: string | undefined): Promise<number> => {
  const core = await gdprCore(ctx);
  const receipt = await core.gdpr.erase(ctx.tenant, id, { actor: cliActor(), reason });
  ctx.out.result(receipt);
  const r = receipt.removed;
  ctx.out.line(`erased ${plural(receipt.customers.length, 'customer')} (${receipt.customers.join(', ')}) of tenant "${ctx.tenant}" at ${receipt.erasedAt}`);
  ctx.out.line(
    `erasure ${receipt.erasureId}: ${plural(r.dataKeys, 'data key')} destroyed, ${plural(r.claims, 'identifier claim')} released, ${plural(r.views, 'view')} and ${plural(r.quarantined, 'quarantined payload')} removed`,
  );
  const cut = cutLine(r);
  if (cut) ctx.out.line(cut);
  const unsearched = unsearchedLine(receipt.quarantineUnsearched);
  if (unsearched) ctx.out.line(unsearched);
  return 0;
};

/** the line saying what was taken out of quarantine entries kept for other people's calls (none: undefined) */
const cutLine = (r: { readonly quarantineRewritten?: number | undefined; readonly quarantineCallsRemoved?: number | undefined }): string | undefined =>
  r.quarantineRewritten
    ? `${plural(r.quarantineCallsRemoved ?? 0, 'call')} taken out of ${plural(r.quarantineRewritten, 'quarantine entry', 'quarantine entries')} kept for other people's calls`
    : undefined;

const exportCustomer = async (ctx: CommandContext, id: string, out: string | undefined): Promise<number> => {
  const core = await gdprCore(ctx);
  const doc = await core.export.export(ctx.tenant, id, { actor: cliActor() });
  const text = `${JSON.stringify(doc, null, 2)}\n`;
  if (out === undefined) {
    ctx.deps.io.stdout.write(text);
    return 0;
  }
  // 0600 even when the file exists already (writeFile's mode applies only to a file it creates)
  await writePrivateFile(out, text);
  const { counts, customerId } = doc.metadata;
  ctx.out.result({ tenant: ctx.tenant, customerId, file: out, events: counts.events, customers: counts.streams });
  ctx.out.line(`exported ${plural(counts.events, 'event')} of ${plural(counts.streams, 'customer')} (survivor ${customerId}) to ${out}`);
  return 0;
};

const list = async (ctx: CommandContext, o: { limit: number; after?: string }): Promise<number> => {
  const core = await gdprCore(ctx);
  const page = await core.gdpr.receipts(ctx.tenant, { limit: o.limit, after: o.after });
  ctx.out.result({ tenant: ctx.tenant, entries: page.entries, next: page.next ?? null });
  if (!page.entries.length) ctx.out.line(`no erasures recorded for tenant "${ctx.tenant}"`);
  for (const r of page.entries) ctx.out.line(`${r.erasureId}  ${r.erasedAt}  ${r.actor}  ${plural(r.customers.length, 'customer')}: ${r.customers.join(', ')}`);
  if (page.next) ctx.out.line(`more: c360 erasures list --after ${page.next}`);
  return 0;
};

const reapply = async (ctx: CommandContext): Promise<number> => {
  const core = await gdprCore(ctx);
  const report = await core.gdpr.reapply(ctx.tenant, { actor: cliActor() });
  ctx.out.result({ tenant: ctx.tenant, ...report });
  ctx.out.line(
    `re-applied ${plural(report.erasures, 'erasure')} of tenant "${ctx.tenant}": ${plural(report.tombstoned, 'stream')} tombstoned, ${plural(report.dataKeys, 'data key')} destroyed, ${plural(report.views, 'view')}, ${plural(report.snapshots, 'snapshot')} and ${plural(report.quarantined, 'quarantined payload')} removed`,
  );
  const cut = cutLine(report);
  if (cut) ctx.out.line(cut);
  const unsearched = unsearchedLine(report.quarantineUnsearched);
  if (unsearched) ctx.out.line(unsearched);
  return 0;
};
