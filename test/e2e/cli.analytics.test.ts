import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatRows, writeChunks } from '../../src/adapters/cli/analytics.command.js';
import { main } from '../../src/infrastructure/cli.js';

// `c360 analytics` and `c360 quality` through the bin's own composition on the embedded store: the
// lake is caught up from the log under the data dir, then queried or checked.

let dir: string;
const writer = () => {
  let text = '';
  return { write: (s: string) => ((text += s), true), text: () => text };
};
const c360 = async (argv: string[], env: Record<string, string> = {}) => {
  const stdout = writer();
  const stderr = writer();
  const code = await main(argv, { C360_DATA_DIR: dir, C360_TENANT: 'shop', ...env }, { stdout, stderr, debug: false, progressIntervalMs: 0 });
  return { code, out: stdout.text(), err: stderr.text() };
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'c360-analytics-'));
  const seeded = await c360(['seed', '--customers', '12', '--products', '5', '--orders', '40', '--events', '60']);
  expect(seeded.code, seeded.err).toBe(0);
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('c360 analytics', () => {
  it('prints a query as a table, CSV or JSON, with parameters', async () => {
    const table = await c360(['analytics', 'monthly-revenue']);
    expect(table.code, table.err).toBe(0);
    expect(table.out.split('\n')[0]).toMatch(/^year\s+month\s+revenue_minor\s+orders\s+customers\s+growth_pct$/);
    expect(existsSync(join(dir, 'lake', 'fact_order', 'tenant=shop'))).toBe(true);
    const csv = await c360(['analytics', 'rfm-segmentation', '--format', 'csv', '--param', 'now=2026-06-30']);
    expect(csv.code, csv.err).toBe(0);
    const lines = csv.out.trim().split('\n');
    expect(lines[0]).toBe('customer_id,orders,revenue_minor,days_since_last_order,recency,frequency,monetary,segment');
    expect(lines.length).toBe(13); // one row per seeded person
    const json = await c360(['analytics', 'churn-risk', '--format', 'json']);
    const rows = JSON.parse(json.out) as { churn_risk: number }[];
    expect(rows.length).toBe(12);
    for (const r of rows) expect(r.churn_risk).toBeGreaterThanOrEqual(0);
  });

  it('counts the configured currency by default, as the 360 view does (C360_SCORE_CURRENCY)', async () => {
    const revenue = (out: string) => (JSON.parse(out) as { revenue_minor: number }[]).reduce((n, r) => n + Number(r.revenue_minor), 0);
    // the seed's orders are in USD: a deployment scoring in EUR counts none of them unless asked
    const usd = await c360(['analytics', 'monthly-revenue', '--format', 'json']);
    expect(usd.code, usd.err).toBe(0);
    expect(revenue(usd.out)).toBeGreaterThan(0);
    const eur = await c360(['analytics', 'monthly-revenue', '--format', 'json'], { C360_SCORE_CURRENCY: 'EUR' });
    expect(eur.code, eur.err).toBe(0);
    expect(revenue(eur.out)).toBe(0);
    const asked = await c360(['analytics', 'monthly-revenue', '--format', 'json', '--param', 'currency=USD'], { C360_SCORE_CURRENCY: 'EUR' });
    expect(revenue(asked.out)).toBe(revenue(usd.out));
  });

  it('writes every row of a large answer chunk by chunk, as the same CSV and JSON a whole answer gives', async () => {
    const chunks = async function* () {
      yield [{ a: 1, b: 'x,"y"' }];
      yield [];
      yield [
        { a: 2, b: null },
        { a: 3, b: 'z' },
      ];
    };
    const whole = [
      { a: 1, b: 'x,"y"' },
      { a: 2, b: null },
      { a: 3, b: 'z' },
    ];
    for (const format of ['csv', 'json'] as const) {
      let text = '';
      expect(await writeChunks(chunks(), format, (s) => (text += s))).toBe(3);
      expect(text).toBe(formatRows(whole, format));
      let none = '';
      await writeChunks((async function* () {})(), format, (s) => (none += s));
      expect(none).toBe(formatRows([], format));
    }
    const params = ['--param', 'level=product', '--param', 'from_date=2020-01-01', '--param', 'to_date=2025-12-31'];
    const json = await c360(['analytics', 'demand-forecast-base', '--format', 'json', ...params]);
    expect(json.code, json.err).toBe(0);
    const rows = JSON.parse(json.out) as { item: string; date_key: string }[];
    expect(json.out).toBe(`${JSON.stringify(rows, null, 2)}\n`);
    expect(rows.length).toBeGreaterThan(1_000);
    expect(json.err).toBe(`${rows.length.toLocaleString('en-US')} rows\n`);
    const csv = await c360(['analytics', 'demand-forecast-base', '--format', 'csv', ...params]);
    const lines = csv.out.split('\n');
    expect(lines[0]).toBe('item,date_key,units,revenue_minor,units_ma7,units_ma28');
    expect(lines.slice(1, -1).map((l) => l.split(',').slice(0, 2).join(','))).toEqual(rows.map((r) => `${r.item},${r.date_key}`));
    expect(lines.at(-1)).toBe('');
  });

  it('pages rfm-segmentation and the other queries with --param limit and cursor (every row without them)', async () => {
    const csv = async (...params: string[]) => {
      const r = await c360(['analytics', 'rfm-segmentation', '--format', 'csv', ...params.flatMap((p) => ['--param', p])]);
      expect(r.code, r.err).toBe(0);
      return {
        ids: r.out
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => l.split(',')[0]!),
        err: r.err,
      };
    };
    const all = await csv();
    expect(all.ids).toHaveLength(12);
    const first = await csv('limit=5');
    expect(first.ids).toEqual(all.ids.slice(0, 5));
    expect(first.err).toBe(`5 rows; the next page: --limit 5 --after ${all.ids[4]}\n`);
    const second = await csv('limit=5', `cursor=${all.ids[4]}`);
    expect(second.ids).toEqual(all.ids.slice(5, 10));
    const last = await csv('limit=5', `cursor=${all.ids[9]}`);
    expect(last.ids).toEqual(all.ids.slice(10));
    expect(last.err).toBe('2 rows\n');
    const bad = await c360(['analytics', 'rfm-segmentation', '--param', 'limit=0']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/limit=0: must be an integer between 1 and 1000/);
    // every query pages: churn-risk by position in its order, its cursor the rows printed before
    const lines = async (...params: string[]) => {
      const r = await c360(['analytics', 'churn-risk', '--format', 'csv', ...params.flatMap((p) => ['--param', p])]);
      expect(r.code, r.err).toBe(0);
      return { rows: r.out.trim().split('\n').slice(1), err: r.err };
    };
    const churn = await lines();
    expect(churn.rows).toHaveLength(12);
    const page1 = await lines('limit=5');
    expect(page1.rows).toEqual(churn.rows.slice(0, 5));
    expect(page1.err).toBe('5 rows; the next page: --limit 5 --after 5\n');
    const page3 = await lines('limit=5', 'cursor=10');
    expect(page3.rows).toEqual(churn.rows.slice(10));
    expect(page3.err).toBe('2 rows\n');
    const badCursor = await c360(['analytics', 'churn-risk', '--param', 'cursor=user-1']);
    expect(badCursor.code).toBe(2);
    expect(badCursor.err).toMatch(/analytics parameter cursor: must be the number of rows of the pages before/);
    const other = await c360(['analytics', 'churn-risk', '--param', 'limit=5', '--param', 'colour=red']);
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/unknown analytics parameter "colour" for churn-risk/);
  });

  it('pages with --limit and --after (or --cursor), as with --param limit and cursor, and says so in its help', async () => {
    const run = async (...args: string[]) => {
      const r = await c360(['analytics', 'rfm-segmentation', '--format', 'csv', ...args]);
      expect(r.code, r.err).toBe(0);
      return { out: r.out, err: r.err };
    };
    const all = (await run()).out.trim().split('\n').slice(1);
    expect(all).toHaveLength(12);
    const first = await run('--limit', '5');
    expect(first).toEqual(await run('--param', 'limit=5'));
    expect(first.out.trim().split('\n').slice(1)).toEqual(all.slice(0, 5));
    const after = all[4]!.split(',')[0]!;
    expect(first.err).toBe(`5 rows; the next page: --limit 5 --after ${after}\n`);
    // the next page as printed, as the HTTP API names it, and as a --param
    const second = await run('--limit', '5', '--after', after);
    expect(second.out.trim().split('\n').slice(1)).toEqual(all.slice(5, 10));
    expect(await run('--limit', '5', '--cursor', after)).toEqual(second);
    expect(await run('--param', 'limit=5', '--param', `cursor=${after}`)).toEqual(second);
    // a cursor alone: a page of the default size, the rest here
    expect((await run('--after', after)).out.trim().split('\n').slice(1)).toEqual(all.slice(5));
    // the position of a query paged by position is the rows printed before
    const churn = await c360(['analytics', 'churn-risk', '--format', 'csv', '--limit', '4', '--after', '8']);
    expect(churn.code, churn.err).toBe(0);
    expect(churn.out.trim().split('\n')).toHaveLength(5);
    expect(churn.err).toBe('4 rows\n');

    for (const [args, message] of [
      [['--limit', '0'], /option '--limit <n>' argument '0' is invalid\. must be from 1 to 1000/],
      [['--limit', '1001'], /must be from 1 to 1000/],
      [['--limit', 'ten'], /must be a whole number from 1 to 1000/],
      [['--limit', '5', '--param', 'limit=6'], /--limit and --param limit: give it once/],
      [['--after', after, '--param', `cursor=${after}`], /--after and --param cursor: give it once/],
      [['--after', after, '--cursor', after], /option '--cursor <cursor>' cannot be used with option '--after <cursor>'/],
    ] as const) {
      const r = await c360(['analytics', 'rfm-segmentation', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(message);
    }
    const help = await c360(['help', 'analytics']);
    expect(help.out).toMatch(/--limit <n> +a page of at most n rows \(1 to 1000\)/);
    expect(help.out).toMatch(/--after <cursor> +the page after this cursor/);
  });

  it('names a bad parameter and an unknown query, exiting 2 (a usage error)', async () => {
    const bad = await c360(['analytics', 'churn-risk', '--param', 'churn_high=lots']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/churn_high/);
    const unknown = await c360(['analytics', 'revenue-by-moon-phase']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/no analytics query "revenue-by-moon-phase"/);
  });

  it('names now and its range for a now no date can be written for, and a parameter given twice', async () => {
    const far = await c360(['analytics', 'churn-risk', '--param', 'now=8640000000000001']);
    expect(far.code).toBe(2);
    expect(far.err).toMatch(
      /VALIDATION_FAILED at now: analytics parameter now: must be between 0 and 253402300799999 \(1970-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z\)/,
    );
    expect(far.err).not.toMatch(/Invalid time value/);
    const twice = await c360(['analytics', 'churn-risk', '--param', 'now=2026-01-01', '--param', 'now=2026-02-01']);
    expect(twice.code).not.toBe(0);
    expect(twice.err).toMatch(/--param now: given more than once; give it once/);
  });
});

describe('c360 quality', () => {
  it('passes on a lake written from the log, and exits 1 naming the check that fails', async () => {
    const good = await c360(['quality']);
    expect(good.code, good.out + good.err).toBe(0);
    expect(good.out).toMatch(/all \d+ checks passed/);
    // the product dimension lost: order lines now name products the lake does not know
    rmSync(join(dir, 'lake', 'dim_product'), { recursive: true, force: true });
    const bad = await c360(['quality']);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/FAIL\s+referential\s+fact_order_line\s+product_id is in dim_product.product_id/);
    const rebuilt = await c360(['lake-rebuild']);
    expect(rebuilt.code, rebuilt.err).toBe(0);
    expect((await c360(['quality'])).code).toBe(0);
  });
});
