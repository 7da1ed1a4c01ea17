import type { Command } from 'commander';
import { DomainError } from '../../domain/shared/errors.js';
import { cliActor } from './actor.js';
import type { Action, CommandContext } from './command-context.js';

// `c360 merge|unmerge`: the manual identity operations of POST /v1/customers/{id}/merge and
// /unmerge from the command line (the actor recorded is `cli:<os user>`). A reason is free text,
// so personal data: kept encrypted with the survivor's history and erased with it, as the API's.

export const registerIdentity = (program: Command, action: Action): void => {
  program
    .command('merge')
    .description('merge two customers by hand (refused past the identity rules unless --force, and then recorded as forced)')
    .argument('<customerId>', 'one customer')
    .argument('<otherId>', 'the other; the one first observed survives')
    .option('--reason <text>', "why (kept encrypted in the customer's identity history, erased with it)")
    .option('--force', "merge past the identity rules' limits and do-not-link marks (recorded as forced)")
    .option('--operation-id <id>', 'an id of your own: the same merge sent again with it is answered again, not done twice')
    .action(action((ctx, id: string, other: string, o: { reason?: string; force?: boolean; operationId?: string }) => merge(ctx, id, other, o)));
  program
    .command('unmerge')
    .description('undo a merge by its id: the absorbed customer is separate again, with what reached the survivor since and is its own')
    .argument('<customerId>', 'the survivor that holds the merge')
    .argument('<mergeId>', 'the merge to undo (c360 merge prints it; explain lists them); put -- before it: a merge id may begin with a dash')
    .option('--reason <text>', "why (kept encrypted in the customer's identity history, erased with it)")
    .option('--operation-id <id>', 'an id of your own: the same unmerge sent again with it is answered again')
    .action(action((ctx, id: string, mergeId: string, o: { reason?: string; operationId?: string }) => unmerge(ctx, id, mergeId, o)));
};

const merge = async (ctx: CommandContext, id: string, other: string, o: { reason?: string; force?: boolean; operationId?: string }): Promise<number> => {
  const { core } = await ctx.session();
  const r = await core.identity
    .merge(ctx.tenant, id, other, { actor: cliActor(), reason: o.reason, force: o.force === true, operationId: o.operationId })
    .catch((e: unknown) => {
      // past an identity rule: the core's advice names the API's field; here the option is --force
      if (e instanceof DomainError && e.path[0] === 'force' && typeof e.details.detail === 'string')
        throw new DomainError(e.code, `${e.details.detail}; run it again with --force to merge anyway (recorded as forced)`, e.path, e.details);
      throw e;
    });
  ctx.out.result({ tenant: ctx.tenant, ...r });
  ctx.out.line(
    `${r.duplicate ? 'already done: ' : ''}merged ${r.absorbedId} into ${r.survivorId} (merge ${r.mergeId}${r.forced ? ', forced' : ''}); c360 unmerge ${r.survivorId} -- ${r.mergeId} undoes it`,
  );
  return 0;
};

const unmerge = async (ctx: CommandContext, id: string, mergeId: string, o: { reason?: string; operationId?: string }): Promise<number> => {
  const { core } = await ctx.session();
  const r = await core.identity.unmerge(ctx.tenant, id, mergeId, { actor: cliActor(), reason: o.reason, operationId: o.operationId });
  ctx.out.result({ tenant: ctx.tenant, ...r });
  ctx.out.line(
    `${r.duplicate ? 'already done: ' : ''}merge ${r.mergeId} undone: ${r.restoredId} is separate from ${r.survivorId} again (${r.reassignedEvents} events and ${r.transferredIdentifiers} identifiers went back with it); the two are marked do-not-link`,
  );
  return 0;
};
