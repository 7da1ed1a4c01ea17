import { type Command, Option } from 'commander';
import { ANALYTICS_PAGE, type AnalyticsQueryName, PAGED_ANALYTICS, pageAnalyticsRows } from '../../application/lake/analytics.params.js';
import type { AnalyticsRow } from '../../application/ports/lake.port.js';
import { DomainError } from '../../domain/shared/errors.js';
import { CliError, describeError, EXIT } from './cli-error.js';
import type { CliLake } from './cli.deps.js';
import type { Action, CommandContext } from './command-context.js';
import { plural } from './output.js';

// `c360 analytics <query>`: one of the ten lake queries for the tenant, as a table, CSV or JSON;
// `c360 quality`: the lake's data-quality report, exiting 1 when a check fails (for a schedule);
// `c360 lake rebuild`: the tenant's lake written again from the log. Each first brings the lake
// up to the end of the log, unless a running server writes it (then its files are read as they are).

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export const registerAnalytics = (program: Command, action: Action): void => {
  program
    .command('analytics <query>')
    .description(
      'run an analytics query over the lake: customer-lifetime-value, monthly-revenue, cohort-retention, product-performance, churn-risk, channel-funnel, rfm-segmentation, product-affinity, geographic-revenue, demand-forecast-base',
    )
    .addOption(new Option('--format <format>', 'table, csv or json').choices(['table', 'csv', 'json']).default('table'))
    .option(
      '--param <name=value>',
      'a query parameter, e.g. now=2025-06-30 or churn_inactive_days=60 (repeatable); rfm-segmentation also takes limit and cursor (a page; every row without them)',
      collect,
      [],
    )
    .action(action((ctx, query: string, options: { format: 'table' | 'csv' | 'json'; param: string[] }) => analytics(ctx, query, options)));
  program
    .command('quality')
    .description("check the tenant's lake: schema, nulls, duplicates, ranges, freshness, referential integrity; exits 1 when a check fails")
    .option('--max-age-hours <hours>', 'freshness: the lake must have been written within this many hours', '24')
    .action(action((ctx, options: { maxAgeHours: string }) => quality(ctx, Number(options.maxAgeHours))));
  program
    .command('lake-rebuild')
    .description("write the tenant's lake again from its whole log")
    .action(action((ctx) => rebuildLake(ctx)));
};

const openLake = async (ctx: CommandContext): Promise<CliLake> => {
  if (!ctx.deps.lake) throw new CliError('no analytics lake here: it is kept under the data dir of a persistent store');
  return ctx.deps.lake();
};

const parseParams = (pairs: readonly string[]): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const at = p.indexOf('=');
    if (at <= 0) throw new CliError(`--param ${p}: expected name=value`, EXIT.usage);
    const name = p.slice(0, at);
    if (Object.hasOwn(out, name)) throw new CliError(`--param ${name}: given more than once; give it once`, EXIT.usage);
    out[name] = p.slice(at + 1);
  }
  return out;
};

const cell = (v: AnalyticsRow[string]): string => (v === null ? '' : String(v));
const csvCell = (v: AnalyticsRow[string]): string => {
  const s = cell(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

export const formatRows = (rows: readonly AnalyticsRow[], format: 'table' | 'csv' | 'json'): string => {
  if (format === 'json') return `${JSON.stringify(rows, null, 2)}\n`;
  const columns = Object.keys(rows[0] ?? {});
  if (format === 'csv') return `${[columns.join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c] ?? null)).join(','))].join('\n')}\n`;
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c] ?? null).length)));
  const line = (xs: readonly string[]) =>
    xs
      .map((x, i) => x.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return `${[line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(columns.map((c) => cell(r[c] ?? null))))].join('\n')}\n`;
};

/** limit and cursor of a paged query (--param limit=100 --param cursor=<the last customer id printed>): every row without them */
const pageOf = (query: string, params: Record<string, string>): { key: string; limit: number; after?: string | undefined } | undefined => {
  const key = PAGED_ANALYTICS[query as AnalyticsQueryName];
  if (key === undefined || (params.limit === undefined && params.cursor === undefined)) return undefined;
  const { limit: raw = String(ANALYTICS_PAGE.defaultLimit), cursor } = params;
  delete params.limit;
  delete params.cursor;
  const limit = /^\d{1,7}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(limit >= 1 && limit <= ANALYTICS_PAGE.maxLimit))
    throw new CliError(`--param limit=${raw}: must be an integer between 1 and ${ANALYTICS_PAGE.maxLimit}`, EXIT.usage);
  return { key, limit, after: cursor };
};

const analytics = async (ctx: CommandContext, query: string, options: { format: 'table' | 'csv' | 'json'; param: string[] }): Promise<number> => {
  const params = parseParams(options.param);
  const page = pageOf(query, params);
  const lake = await openLake(ctx);
  await lake.catchUp(ctx.tenant);
  const all = await lake.analytics.run(ctx.tenant, query, params).catch((e: unknown) => {
    // an unknown query or a bad --param: the command line was wrong, as for --param limit
    throw e instanceof DomainError && e.code === 'VALIDATION_FAILED' ? new CliError(describeError(e), EXIT.usage) : e;
  });
  const { rows, last } = page ? pageAnalyticsRows(all, page.key, page.limit, page.after) : { rows: all, last: undefined };
  ctx.deps.io.stdout.write(formatRows(rows, ctx.out.json ? 'json' : options.format));
  ctx.deps.io.stderr.write(`${plural(rows.length, 'row')}${last === undefined ? '' : `; the next page: --param cursor=${last}`}\n`);
  return EXIT.ok;
};

const quality = async (ctx: CommandContext, maxAgeHours: number): Promise<number> => {
  if (!(maxAgeHours > 0)) throw new CliError('--max-age-hours: must be a positive number of hours', EXIT.usage);
  const lake = await openLake(ctx);
  await lake.catchUp(ctx.tenant);
  const report = await lake.quality(ctx.tenant, { now: Date.now(), maxAgeHours });
  ctx.out.result({ tenant: ctx.tenant, ...report });
  if (!ctx.out.json) {
    const rows = report.checks.map((c) => ({ status: c.ok ? 'ok' : 'FAIL', check: c.check, table: c.table, rule: c.rule, value: c.value }));
    ctx.deps.io.stdout.write(formatRows(rows, 'table'));
    const failed = report.checks.filter((c) => !c.ok).length;
    ctx.out.line(failed === 0 ? `all ${report.checks.length} checks passed` : `${plural(failed, 'check')} of ${report.checks.length} failed`);
  }
  return report.ok ? EXIT.ok : EXIT.failure;
};

const rebuildLake = async (ctx: CommandContext): Promise<number> => {
  const lake = await openLake(ctx);
  const started = Date.now();
  const done = await lake.rebuild(ctx.tenant);
  if (!done) throw new CliError('a running server writes the lake: stop it first, or let it rebuild (it follows the log)');
  const elapsedMs = Date.now() - started;
  ctx.out.result({ tenant: ctx.tenant, events: done.events, elapsedMs });
  ctx.out.line(`lake of tenant "${ctx.tenant}" rebuilt from ${plural(done.events, 'event')} in ${(elapsedMs / 1000).toFixed(1)} s`);
  return EXIT.ok;
};
