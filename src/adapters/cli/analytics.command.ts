import { type Command, Option } from 'commander';
import { ANALYTICS_PAGE, type AnalyticsPageRequest, parsePositionText, positionText } from '../../application/lake/analytics.params.js';
import type { AnalyticsRow } from '../../application/ports/lake.port.js';
import { DomainError } from '../../domain/shared/errors.js';
import { CliError, describeError, EXIT } from './cli-error.js';
import type { CliLake } from './cli.deps.js';
import type { Action, CommandContext } from './command-context.js';
import { integer } from './options.js';
import { plural } from './output.js';

// `c360 analytics <query>`: one of the ten lake queries for the tenant, as a table, CSV or JSON;
// `c360 quality`: the lake's data-quality report, exiting 1 when a check fails (for a schedule);
// `c360 lake rebuild`: the tenant's lake written again from the log. Each first brings the lake
// up to the end of the log, unless a running server writes it (then its files are read as they are).

const collect = (value: string, previous: string[]): string[] => [...previous, value];

type AnalyticsOptions = {
  readonly format: 'table' | 'csv' | 'json';
  readonly limit?: number;
  readonly after?: string;
  readonly cursor?: string;
  readonly param: string[];
};

export const registerAnalytics = (program: Command, action: Action): void => {
  program
    .command('analytics <query>')
    .description(
      'run an analytics query over the lake: customer-lifetime-value, monthly-revenue, cohort-retention, product-performance, churn-risk, channel-funnel, rfm-segmentation, product-affinity, geographic-revenue, demand-forecast-base',
    )
    .addOption(new Option('--format <format>', 'table, csv or json').choices(['table', 'csv', 'json']).default('table'))
    .option(
      '--limit <n>',
      `a page of at most n rows (1 to ${ANALYTICS_PAGE.maxLimit}), the cursor of the next printed on stderr; every row without it`,
      integer(1, ANALYTICS_PAGE.maxLimit),
    )
    .option(
      '--after <cursor>',
      `the page after this cursor, as printed with the page before (${ANALYTICS_PAGE.defaultLimit} rows unless --limit says; also --cursor)`,
    )
    // the HTTP API's name for it
    .addOption(new Option('--cursor <cursor>').hideHelp().conflicts('after'))
    .option(
      '--param <name=value>',
      'a query parameter, e.g. now=2025-06-30 or churn_inactive_days=60 (repeatable); limit and cursor may also be given so',
      collect,
      [],
    )
    .action(action((ctx, query: string, options: AnalyticsOptions) => analytics(ctx, query, options)));
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

/** limit and cursor (--limit 100 --after <as printed with the page before>, or as --param): a page; without either, every row */
const pageOf = (query: string, params: Record<string, string>): AnalyticsPageRequest | undefined => {
  if (params.limit === undefined && params.cursor === undefined) return undefined;
  const { limit: raw = String(ANALYTICS_PAGE.defaultLimit), cursor } = params;
  delete params.limit;
  delete params.cursor;
  const limit = /^\d{1,7}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(limit >= 1 && limit <= ANALYTICS_PAGE.maxLimit))
    throw new CliError(`--param limit=${raw}: must be an integer between 1 and ${ANALYTICS_PAGE.maxLimit}`, EXIT.usage);
  return { limit, after: cursor === undefined ? undefined : parsePositionText(query, cursor) };
};

/** every row, written a chunk at a time as CSV or JSON (the same text formatRows gives): never every row in memory */
export const writeChunks = async (chunks: AsyncIterable<readonly AnalyticsRow[]>, format: 'csv' | 'json', write: (s: string) => void): Promise<number> => {
  let count = 0;
  let columns: string[] | undefined;
  for await (const rows of chunks) {
    if (rows.length === 0) continue;
    if (format === 'json') write(`${count === 0 ? '[\n' : ',\n'}${rows.map((r) => `  ${JSON.stringify(r, null, 2).replaceAll('\n', '\n  ')}`).join(',\n')}`);
    else {
      if (columns === undefined) {
        columns = Object.keys(rows[0]!);
        write(`${columns.join(',')}\n`);
      }
      const cols = columns;
      write(`${rows.map((r) => cols.map((c) => csvCell(r[c] ?? null)).join(',')).join('\n')}\n`);
    }
    count += rows.length;
  }
  if (format === 'json') write(count === 0 ? '[]\n' : '\n]\n');
  else if (count === 0) write('\n');
  return count;
};

const asUsage = (e: unknown): unknown =>
  // an unknown query or a bad --param: the command line was wrong, as for --param limit
  e instanceof DomainError && e.code === 'VALIDATION_FAILED' ? new CliError(describeError(e), EXIT.usage) : e;

/** --limit and --after (or --cursor) as the parameters they stand for: each given once, as a flag or as a --param */
const withPageFlags = (params: Record<string, string>, options: AnalyticsOptions): Record<string, string> => {
  const cursorFlag = options.after !== undefined ? '--after' : '--cursor';
  const given: [name: 'limit' | 'cursor', flag: string, value: string | undefined][] = [
    ['limit', '--limit', options.limit === undefined ? undefined : String(options.limit)],
    ['cursor', cursorFlag, options.after ?? options.cursor],
  ];
  for (const [name, flag, value] of given) {
    if (value === undefined) continue;
    if (Object.hasOwn(params, name)) throw new CliError(`${flag} and --param ${name}: give it once`, EXIT.usage);
    params[name] = value;
  }
  return params;
};

const analytics = async (ctx: CommandContext, query: string, options: AnalyticsOptions): Promise<number> => {
  const params = withPageFlags(parseParams(options.param), options);
  const format = ctx.out.json ? 'json' : options.format;
  const out = (s: string) => ctx.deps.io.stdout.write(s);
  const page = (() => {
    try {
      return pageOf(query, params);
    } catch (e) {
      throw asUsage(e);
    }
  })();
  const lake = await openLake(ctx);
  await lake.catchUp(ctx.tenant);
  if (page !== undefined) {
    const { rows, next } = await lake.analytics.page(ctx.tenant, query, params, page).catch((e: unknown) => {
      throw asUsage(e);
    });
    out(formatRows(rows, format));
    ctx.deps.io.stderr.write(
      `${plural(rows.length, 'row')}${next === undefined ? '' : `; the next page: --limit ${page.limit} --after ${positionText(next)}`}\n`,
    );
    return EXIT.ok;
  }
  const chunks = lake.analytics.chunks(ctx.tenant, query, params);
  let count: number;
  try {
    if (format === 'table') {
      // a table's columns are as wide as their widest cell: this format holds every row (csv and json stream)
      const rows: AnalyticsRow[] = [];
      for await (const chunk of chunks) rows.push(...chunk);
      out(formatRows(rows, 'table'));
      count = rows.length;
    } else count = await writeChunks(chunks, format, out);
  } catch (e) {
    throw asUsage(e);
  }
  ctx.deps.io.stderr.write(`${plural(count, 'row')}\n`);
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
