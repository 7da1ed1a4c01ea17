import type { Command } from 'commander';
import { cliActor } from './actor.js';
import { plural } from './output.js';
import type { Action, CommandContext } from './command-context.js';
import { startProgress } from './progress.js';

// `c360 rebuild`: replay the tenant's whole log into a fresh generation of read models, then
// switch over at once (readers see the old views until then).

export const registerRebuild = (program: Command, action: Action): void => {
  program
    .command('rebuild')
    .description("replay the tenant's event log into fresh read models and switch over when done")
    .action(action((ctx) => rebuild(ctx)));
};

const rebuild = async (ctx: CommandContext): Promise<number> => {
  const { tenant, out } = ctx;
  const session = await ctx.session();
  const started = Date.now();
  const progress = startProgress(ctx.deps.io, { label: 'rebuild' });
  let last = { events: 0, docs: 0 };
  const detail = () => `${plural(last.events, 'event')} folded into ${plural(last.docs, 'document')}`;
  try {
    const result = await session.core.rebuild.rebuild(tenant, (p) => progress.update((last = p).events, detail), { actor: cliActor() });
    progress.stop(detail());
    const elapsedMs = Date.now() - started;
    out.result({ tenant, events: result.events, docs: result.docs, elapsedMs });
    out.line(
      `rebuilt tenant "${tenant}": ${plural(result.events, 'event')} replayed into ${plural(result.docs, 'read model document')} in ${(elapsedMs / 1000).toFixed(1)} s`,
    );
    return 0;
  } catch (e) {
    progress.stop(detail(), true);
    throw e;
  }
};
