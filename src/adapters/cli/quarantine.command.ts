import { Option, type Command } from 'commander';
import type { QuarantineEntry } from '../../application/ports/quarantine.port.js';
import { BATCH_CALLS_REFUSED } from '../../application/ingest/refused-batch.js';
import { NOT_REPLAYABLE } from '../../application/quarantine/quarantine.use-cases.js';
import { usageError } from './cli-error.js';
import { integer } from './options.js';
import { cliActor } from './actor.js';
import { plural } from './output.js';
import type { Action, CommandContext } from './command-context.js';
import { startProgress } from './progress.js';

// `c360 quarantine list|replay`: what was refused and why (ids, times, codes, field paths; never
// the payload, which may hold personal data), and replaying it after a fix through the same ingest.

type ListOptions = { status?: 'pending' | 'replayed'; limit: number; after?: string };

const summary = (e: QuarantineEntry) => ({
  id: e.id,
  receivedAt: new Date(e.receivedAt).toISOString(),
  source: e.source,
  status: e.status,
  ...(e.replayedAt !== undefined ? { replayedAt: new Date(e.replayedAt).toISOString() } : {}),
  code: e.reason.code,
  message: e.reason.message,
  fields: e.reason.issues.map((i) => i.path),
});

export const registerQuarantine = (program: Command, action: Action): void => {
  const quarantine = program.command('quarantine').description('list and replay refused calls');
  quarantine
    .command('list')
    .description('list quarantined calls: id, time, source, reason code and field paths')
    .addOption(new Option('--status <status>', 'only entries with this status').choices(['pending', 'replayed']))
    .option('--limit <n>', 'entries per page', integer(1, 500), 50)
    .option('--after <cursor>', 'continue after this cursor (the id printed at the end of a page)')
    .action(action((ctx, options: ListOptions) => list(ctx, options)));
  quarantine
    .command('replay')
    .description('ingest quarantined calls again (after fixing rules, mapping or the client); entries refused again stay pending')
    .argument('[id]', 'the entry to replay')
    .option('--all', 'replay every pending entry')
    .action(action((ctx, id: string | undefined, options: { all?: boolean }) => replay(ctx, id, options.all === true)));
};

const list = async (ctx: CommandContext, o: ListOptions): Promise<number> => {
  const { core } = await ctx.session();
  // a cursor is the id of the last entry of the page before: another would page from wherever it
  // sorts (after every id, for most words: an empty page that says the quarantine is empty), so it
  // is refused, as the API refuses a cursor it did not hand out
  if (o.after !== undefined && !(await core.quarantine.has(ctx.tenant, o.after))) {
    throw usageError(
      `option '--after <cursor>' argument '${o.after}' is invalid. It is not the id of an entry in the quarantine of tenant "${ctx.tenant}": give the cursor printed after "more:" at the end of a page (an entry that has since expired or was erased is gone), or leave --after out to start at the first page`,
    );
  }
  const page = await core.quarantine.list(ctx.tenant, { status: o.status, limit: o.limit, after: o.after });
  const items = page.entries.map(summary);
  // `items`, as the API's GET /v1/quarantine names its list
  ctx.out.result({ tenant: ctx.tenant, items, next: page.next ?? null });
  if (!items.length) ctx.out.line(`no ${o.status ?? ''}${o.status ? ' ' : ''}entries in the quarantine of tenant "${ctx.tenant}"`);
  const rows = items.map((e) => [e.id, e.receivedAt, e.status, e.source, e.code, e.fields.join(', ') || '-']);
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...[['ID', 'RECEIVED', 'STATUS', 'SOURCE', 'CODE'], ...rows].map((r) => r[i]!.length)));
  if (rows.length)
    for (const r of [['ID', 'RECEIVED', 'STATUS', 'SOURCE', 'CODE', 'FIELDS'], ...rows])
      ctx.out.line(
        r
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd(),
      );
  if (page.next) ctx.out.line(`more: c360 quarantine list --after ${page.next}${o.status ? ` --status ${o.status}` : ''}`);
  return 0;
};

const pendingIds = async (ctx: CommandContext): Promise<string[]> => {
  // collected first: replaying changes what a status-filtered page holds
  const { core } = await ctx.session();
  const ids: string[] = [];
  let after: string | undefined;
  do {
    const page = await core.quarantine.list(ctx.tenant, { status: 'pending', limit: 500, after });
    ids.push(...page.entries.map((e) => e.id));
    after = page.next;
  } while (after);
  return ids;
};

const replay = async (ctx: CommandContext, id: string | undefined, all: boolean): Promise<number> => {
  if (!id === !all) throw usageError(id ? 'give an id or --all, not both' : 'give the id of an entry to replay, or --all');
  const session = await ctx.session();
  const ids = id ? [id] : await pendingIds(ctx);
  const results: {
    id: string;
    status: 'replayed' | 'duplicate' | 'pending';
    code?: string;
    fields?: string[];
    message?: string;
    customerId?: string;
    calls?: number;
  }[] = [];
  const progress = ids.length > 1 ? startProgress(ctx.deps.io, { label: 'replay', total: ids.length }) : undefined;
  try {
    for (const entry of ids) {
      const outcome = await session.core.quarantine.replay(ctx.tenant, entry, { actor: cliActor() });
      if (outcome.status === 'accepted') results.push({ id: entry, status: 'replayed', customerId: outcome.customerId });
      else if (outcome.status === 'duplicate') results.push({ id: entry, status: 'duplicate' });
      else if (outcome.status === 'replayed') results.push({ id: entry, status: 'replayed', calls: outcome.calls.length });
      else if (outcome.error.code === NOT_REPLAYABLE) results.push({ id: entry, status: 'pending', code: NOT_REPLAYABLE, message: outcome.error.message });
      else
        results.push({
          id: entry,
          status: 'pending',
          code: outcome.error.code,
          fields: outcome.error.issues.map((i) => i.path),
          message: outcome.error.message,
        });
      progress?.update(results.length, () => plural(results.length, 'entry', 'entries'));
    }
  } catch (e) {
    progress?.stop(undefined, true);
    throw e;
  }
  progress?.stop();
  await session.drainBackground();
  const failed = results.filter((r) => r.status === 'pending');
  ctx.out.result({ tenant: ctx.tenant, replayed: results.length - failed.length, stillPending: failed.length, results });
  if (!results.length) ctx.out.line(`nothing pending in the quarantine of tenant "${ctx.tenant}"`);
  // one line per entry for a single replay; for --all only the ones refused again (at most 50)
  for (const r of id ? results : failed.slice(0, 50)) {
    if (r.status === 'replayed' && r.calls !== undefined) ctx.out.line(`${r.id}: replayed, all ${plural(r.calls, 'call', 'calls')} of the batch entry`);
    else if (r.status === 'replayed') ctx.out.line(`${r.id}: replayed, now part of customer ${r.customerId}`);
    else if (r.status === 'duplicate') ctx.out.line(`${r.id}: replayed (it had already been ingested)`);
    else if (r.code === NOT_REPLAYABLE) ctx.out.line(`${r.id}: not replayed, still pending: ${NOT_REPLAYABLE}: ${r.message}`);
    else {
      // a batch entry's paths name its calls by their index in the request (batch[<index>]), not by their place in the entry
      const byIndex = r.code === BATCH_CALLS_REFUSED ? ' (each call by its index in the request)' : '';
      ctx.out.line(`${r.id}: refused again, still pending: ${r.code}${r.fields?.length ? ` at ${r.fields.join(', ')}${byIndex}` : ''}`);
    }
  }
  if (results.length > 1)
    ctx.out.line(`${plural(results.length - failed.length, 'entry', 'entries')} replayed, ${failed.length.toLocaleString('en-US')} still pending`);
  return failed.length ? 1 : 0;
};
