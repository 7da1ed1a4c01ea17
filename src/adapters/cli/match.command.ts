import type { Command } from 'commander';
import { DomainError } from '../../domain/shared/errors.js';
import { cliActor } from './actor.js';
import type { Action, CommandContext } from './command-context.js';
import { integer } from './options.js';
import { plural } from './output.js';

// `c360 match`: list the probable duplicates the tenant's stored match book suggests, best first,
// with each field's weight: the pairs `GET /v1/customers/{id}/matches` answers and accept takes.
// Read-only: nothing is merged, and the model is not fitted here (the book fits it; `c360 rebuild`
// fits it again). `c360 match reject|accept` decide one pair the book suggests (the actor recorded
// is `cli:<os user>`).

export const registerMatch = (program: Command, action: Action): void => {
  const cmd = program
    .command('match')
    .description("list the probable duplicates the tenant's stored match book suggests (read-only), with their scores")
    .option('--limit <n>', 'list at most this many suggestions', integer(1), 50)
    .action(action((ctx, opts: { limit: number }) => match(ctx, opts)));
  cmd
    .command('reject')
    .description('record that a suggested pair is two people: the pair is never suggested again')
    .argument('<customerId>', 'one customer of the suggested pair')
    .argument('<otherId>', 'the other customer of the pair')
    .action(action((ctx, id: string, other: string) => decide(ctx, 'reject', id, other)));
  cmd
    .command('accept')
    .description('merge a suggested pair through the manual merge, with the score as evidence (unmerge undoes it)')
    .argument('<customerId>', 'one customer of the suggested pair')
    .argument('<otherId>', 'the other customer of the pair')
    .option('--force', "merge past the identity rules' limits (recorded as forced)")
    .action(action((ctx, id: string, other: string, opts: { force?: boolean }) => decide(ctx, 'accept', id, other, opts.force === true)));
};

const decide = async (ctx: CommandContext, how: 'reject' | 'accept', id: string, other: string, force = false): Promise<number> => {
  const { core } = await ctx.session();
  if (how === 'reject') {
    const r = await core.matching.reject(ctx.tenant, id, other, { actor: cliActor() });
    ctx.out.result({ tenant: ctx.tenant, rejected: [r.customerId, r.otherId] });
    ctx.out.line(`rejected: ${r.customerId} and ${r.otherId} are two people; the pair is not suggested again`);
    return 0;
  }
  const r = await core.matching.accept(ctx.tenant, id, other, { actor: cliActor(), force }).catch((e: unknown) => {
    // past an identity limit: the core's advice names the API's field; here the option is --force
    if (e instanceof DomainError && e.path[0] === 'force' && typeof e.details.detail === 'string')
      throw new DomainError(e.code, `${e.details.detail}; run it again with --force to merge anyway (recorded as forced)`, e.path, e.details);
    throw e;
  });
  ctx.out.result({ tenant: ctx.tenant, mergeId: r.mergeId, survivorId: r.survivorId, absorbedId: r.absorbedId, probability: r.score.probability });
  ctx.out.line(
    `merged ${r.absorbedId} into ${r.survivorId} (merge ${r.mergeId}, p=${r.score.probability.toFixed(4)}); c360 unmerge ${r.survivorId} -- ${r.mergeId} undoes it`,
  );
  return 0;
};

const match = async (ctx: CommandContext, opts: { limit: number }): Promise<number> => {
  // the listing reads the views only (the jobs' match task may read nothing else)
  const session = await ctx.session({ viewsOnly: true });
  const r = await session.core.matching.scan(ctx.tenant);
  const shown = r.suggestions.slice(0, opts.limit);
  ctx.out.result({
    tenant: ctx.tenant,
    customers: r.customers,
    candidatePairs: r.candidatePairs,
    ...(r.model ? { modelVersion: r.model.version } : {}),
    ...(r.refitDue.length > 0 ? { modelRefitDue: r.refitDue } : {}),
    suggestions: r.suggestions.length,
    shown: shown.map((s) => ({
      customerIds: s.customerIds,
      verdict: s.verdict,
      probability: s.score.probability,
      weight: s.score.weight,
      fields: s.score.fields,
      ...(s.score.notScored?.length ? { notScored: s.score.notScored } : {}),
    })),
  });
  ctx.out.line(
    `tenant "${ctx.tenant}": ${plural(r.customers, 'customer')}, ${plural(r.candidatePairs, 'candidate pair')} after blocking, ${plural(r.suggestions.length, 'suggestion')} ${r.model ? `(match book, model ${r.model.version})` : '(no match book yet: c360 rebuild builds it, as does the first call giving a customer a name, birthday, email, phone or address)'}`,
  );
  if (r.refitDue.length > 0) ctx.out.line(`a refit of the model is due for ${r.refitDue.join(', ')}: c360 rebuild fits it`);
  for (const s of shown) {
    const fields = s.score.fields
      .map((f) => `${f.field} ${f.level} ${f.weight >= 0 ? '+' : ''}${f.weight.toFixed(1)}${f.holders !== undefined ? ` (${f.holders} records hold it)` : ''}`)
      .join(', ');
    const notScored = s.score.notScored?.length ? `  not scored: ${s.score.notScored.join(', ')} (not in model)` : '';
    ctx.out.line(`${s.customerIds.join(' ~ ')}  p=${s.score.probability.toFixed(4)}  ${s.verdict}  [${fields}]${notScored}`);
  }
  return 0;
};
