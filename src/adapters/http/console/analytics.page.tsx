import type { Hono } from 'hono';
import type { Child } from 'hono/jsx';
import {
  ANALYTICS_PAGE,
  ANALYTICS_QUERIES,
  analyticsPageLimit,
  type AnalyticsQueryName,
  oneValueEach,
  unknownAnalyticsParams,
  unknownParamsMessage,
} from '../../../application/lake/analytics.params.js';
import { fromMinorUnits, minorDigits } from '../../../domain/shared/bounds.js';
import { DomainError } from '../../../domain/shared/errors.js';
import { analyticsCursor, encodeAnalyticsCursor } from '../cursor.js';
import type { AnalyticsRow } from '../../../application/ports/lake.port.js';
import { BarChart, Funnel, HBarChart, Heatmap, LineChart, type Bar } from './charts.js';
import type { ConsoleDeps, ConsoleEnv, Needs } from './console.deps.js';
import { consoleBase, Layout, render, useBase } from './layout.js';

// The ten analytics queries as charts: the same queries GET /v1/analytics/{query} runs, over the
// signed-in credential's tenant only, with the same query-string parameters (limit and cursor too:
// the page shows one page of rows, of at most 1,000 without limit, and links the next). Each chart is SVG
// drawn here with a title and a label, and the numbers it draws are in the table under it.

const TITLES: Readonly<Record<AnalyticsQueryName, { readonly title: string; readonly about: string }>> = {
  'customer-lifetime-value': { title: 'Customer lifetime value', about: 'revenue per customer, and the customers and revenue of each value segment' },
  'monthly-revenue': { title: 'Monthly revenue', about: 'revenue per month, with orders, customers and month-over-month growth' },
  'cohort-retention': { title: 'Cohort retention', about: 'the share of each first-order month’s customers who ordered N months later' },
  'product-performance': { title: 'Product performance', about: 'units, revenue, buyers and views per product' },
  'churn-risk': { title: 'Churn risk', about: 'each customer’s churn risk, and the customers in each risk band' },
  'channel-funnel': {
    title: 'Channel funnel',
    about:
      'sessions, product views, cart adds and orders per channel; each step is counted on its own, so orders placed without a cart add (a reorder, an order from another system) make a step larger than the one before, and its rate above 100%',
  },
  'rfm-segmentation': { title: 'RFM segmentation', about: 'recency, frequency and monetary scores, and the customers in each segment' },
  'product-affinity': { title: 'Product affinity', about: 'products bought together: support, confidence and lift of each pair' },
  'geographic-revenue': { title: 'Geographic revenue', about: 'revenue, orders and customers per country, region and city' },
  'demand-forecast-base': { title: 'Demand forecast base', about: 'daily units per category with 7- and 28-day moving averages' },
};

/** at most this many rows in a page's table (the API gives them all) */
const TABLE_ROWS = 200;

const num = (v: AnalyticsRow[string] | undefined): number => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : 0);
const str = (v: AnalyticsRow[string] | undefined): string => (v === null || v === undefined ? '' : String(v));
/** sums `value` per `key`, in first-seen order (or the order given), to `digits` decimals */
const totals = (rows: readonly AnalyticsRow[], key: string, value: (r: AnalyticsRow) => number, order?: readonly string[], digits = 2): Bar[] => {
  const sums = new Map<string, number>(order?.map((k) => [k, 0]));
  for (const r of rows) sums.set(str(r[key]), (sums.get(str(r[key])) ?? 0) + value(r));
  const scale = 10 ** digits;
  return [...sums].map(([label, v]) => ({ label, value: Math.round(v * scale) / scale }));
};

const Card = (p: { title: string; children?: Child }) => (
  <section class="card">
    <h2>{p.title}</h2>
    {p.children}
  </section>
);

const Empty = () => <p class="muted">No rows: the lake holds nothing this query counts yet.</p>;

/** The chart (or charts) that fit a query's rows. */
const Charts = (p: { query: AnalyticsQueryName; rows: readonly AnalyticsRow[]; currency: string }) => {
  const { rows, currency } = p;
  // minor units as major: the currency's ISO 4217 digits (100 JPY is 100, 150 USD 1.5)
  const code = currency.toUpperCase();
  const digits = minorDigits(code);
  const major = (minor: number): number => fromMinorUnits(Math.round(minor), code);
  if (!rows.length) return <Empty />;
  switch (p.query) {
    case 'customer-lifetime-value': {
      const order = ['High', 'Medium', 'Low', 'Prospect'];
      return (
        <div class="grid">
          <Card title="Customers per segment">
            <HBarChart title="customers per CLV segment" bars={totals(rows, 'segment', () => 1, order)} />
          </Card>
          <Card title={`Revenue per segment (${currency})`}>
            <HBarChart
              title={`revenue per CLV segment in ${currency}`}
              unit={currency}
              bars={totals(rows, 'segment', (r) => major(num(r.clv_minor)), order, digits)}
            />
          </Card>
          <Card title={`Top customers by CLV (${currency})`}>
            <HBarChart
              title={`the ten customers of highest lifetime value, in ${currency}`}
              unit={currency}
              bars={rows.slice(0, 10).map((r) => ({ label: str(r.customer_id), value: major(num(r.clv_minor)) }))}
            />
          </Card>
        </div>
      );
    }
    case 'monthly-revenue':
      return (
        <div class="grid">
          <Card title={`Revenue per month (${currency})`}>
            <BarChart
              title={`revenue per month in ${currency}`}
              bars={rows.map((r) => ({ label: `${str(r.year)}-${str(r.month).padStart(2, '0')}`, value: major(num(r.revenue_minor)) }))}
            />
          </Card>
          <Card title="Orders per month">
            <BarChart title="orders per month" bars={rows.map((r) => ({ label: `${str(r.year)}-${str(r.month).padStart(2, '0')}`, value: num(r.orders) }))} />
          </Card>
        </div>
      );
    case 'cohort-retention': {
      const cohort = (r: AnalyticsRow) => `${str(r.cohort_year)}-${str(r.cohort_month).padStart(2, '0')}`;
      const cohorts = [...new Set(rows.map(cohort))];
      const months = [...new Set(rows.map((r) => num(r.months_after)))].sort((a, b) => a - b).map(String);
      return (
        <Card title="Retention by first-order month (rows) and months after (columns)">
          <Heatmap
            title="cohort retention: the share of each cohort ordering N months after its first order"
            rows={cohorts}
            columns={months}
            cells={rows.map((r) => ({
              row: cohort(r),
              column: str(r.months_after),
              value: num(r.retention),
              note: `${str(r.active_customers)} of ${str(r.cohort_customers)}`,
            }))}
            format={(v) => `${Math.round(v * 100)}%`}
          />
        </Card>
      );
    }
    case 'product-performance':
      return (
        <div class="grid">
          <Card title={`Revenue per product, top 15 (${currency})`}>
            <HBarChart
              title={`revenue per product in ${currency}, the fifteen highest`}
              unit={currency}
              bars={rows.slice(0, 15).map((r) => ({ label: str(r.product_id), value: major(num(r.revenue_minor)) }))}
            />
          </Card>
          <Card title={`Revenue per category (${currency})`}>
            <HBarChart
              title={`revenue per category in ${currency}`}
              unit={currency}
              bars={totals(rows, 'category', (r) => major(num(r.revenue_minor)), undefined, digits)}
            />
          </Card>
        </div>
      );
    case 'churn-risk':
      return (
        <div class="grid">
          <Card title="Customers per risk band">
            <HBarChart title="customers per churn risk band" bars={totals(rows, 'risk_band', () => 1, ['high', 'medium', 'low'])} />
          </Card>
          <Card title="Customers per churn risk (tenths)">
            <BarChart
              title="customers per churn risk, in tenths from 0 to 1"
              every={1}
              bars={Array.from({ length: 10 }, (_, i) => ({
                label: `${i / 10}`,
                value: rows.filter((r) => Math.min(9, Math.floor(num(r.churn_risk) * 10)) === i).length,
              }))}
            />
          </Card>
        </div>
      );
    case 'channel-funnel':
      return (
        <div class="grid">
          {rows.map((r) => (
            <Card title={`Funnel: ${str(r.channel)}`}>
              <Funnel
                title={`conversion funnel of channel ${str(r.channel)}`}
                steps={[
                  { label: 'sessions', value: num(r.sessions) },
                  { label: 'product views', value: num(r.product_views) },
                  { label: 'cart adds', value: num(r.cart_adds) },
                  { label: 'orders', value: num(r.orders) },
                ]}
              />
            </Card>
          ))}
        </div>
      );
    case 'rfm-segmentation':
      return (
        <div class="grid">
          <Card title="Customers per RFM segment">
            <HBarChart title="customers per RFM segment" bars={totals(rows, 'segment', () => 1).sort((a, b) => b.value - a.value)} />
          </Card>
          <Card title="Customers per recency score">
            <BarChart
              title="customers per recency score, 1 to 5"
              every={1}
              bars={[1, 2, 3, 4, 5].map((s) => ({ label: `R${s}`, value: rows.filter((r) => num(r.recency) === s).length }))}
            />
          </Card>
        </div>
      );
    case 'product-affinity':
      return (
        <Card title="Lift of the pairs bought together, top 15">
          <HBarChart
            title="lift of product pairs bought in the same order, the fifteen highest"
            bars={rows.slice(0, 15).map((r) => ({ label: `${str(r.product_a)} + ${str(r.product_b)}`, value: num(r.lift) }))}
          />
        </Card>
      );
    case 'geographic-revenue': {
      const countries = rows.filter((r) => r.level === 'country');
      const cities = rows.filter((r) => r.level === 'city').sort((a, b) => num(b.revenue_minor) - num(a.revenue_minor));
      return (
        <div class="grid">
          <Card title={`Revenue per country (${currency})`}>
            <HBarChart
              title={`revenue per country in ${currency}`}
              unit={currency}
              bars={countries.map((r) => ({ label: str(r.country), value: major(num(r.revenue_minor)) }))}
            />
          </Card>
          <Card title={`Revenue per city, top 15 (${currency})`}>
            <HBarChart
              title={`revenue per city in ${currency}, the fifteen highest`}
              unit={currency}
              bars={cities.slice(0, 15).map((r) => ({ label: `${str(r.city)}, ${str(r.country)}`, value: major(num(r.revenue_minor)) }))}
            />
          </Card>
        </div>
      );
    }
    case 'demand-forecast-base': {
      const items = [...new Set(rows.map((r) => str(r.item)))];
      const units = new Map(items.map((i) => [i, rows.filter((r) => str(r.item) === i).reduce((s, r) => s + num(r.units), 0)]));
      const top = [...items].sort((a, b) => units.get(b)! - units.get(a)!).slice(0, 5);
      // the last 90 days at most: a chart of years of days is a smear
      const days = [...new Set(rows.map((r) => str(r.date_key)))].sort().slice(-90);
      const at = new Map(rows.map((r) => [`${str(r.item)}|${str(r.date_key)}`, r]));
      return (
        <Card title={`Units per day, 28-day moving average (the ${top.length} busiest, last ${days.length} days)`}>
          <LineChart
            title="units sold per day, 28-day moving average"
            labels={days.map((d) => d.slice(5))}
            series={top.map((i) => ({ name: i, points: days.map((d) => num(at.get(`${i}|${d}`)?.units_ma28)) }))}
          />
        </Card>
      );
    }
  }
};

const Table = (p: { rows: readonly AnalyticsRow[]; caption: string }) => {
  const columns = Object.keys(p.rows[0] ?? {});
  const shown = p.rows.slice(0, TABLE_ROWS);
  return (
    <table>
      <caption class="muted">{p.caption}</caption>
      <thead>
        <tr>
          {columns.map((c) => (
            <th scope="col">{c}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {shown.map((r) => (
          <tr>
            {columns.map((c) => (
              <td class={typeof r[c] === 'number' ? 'num' : undefined}>{str(r[c])}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
};

const QueryList = (p: { current?: string }) => {
  const base = useBase();
  return (
    <nav aria-label="Analytics queries" class="tabs wrap">
      {ANALYTICS_QUERIES.map((q) => (
        <a href={`${base}/analytics/${q}`} aria-current={q === p.current ? 'page' : undefined}>
          {TITLES[q].title}
        </a>
      ))}
    </nav>
  );
};

const NoLake = () => (
  <p class="notice" role="status">
    No analytics lake is written here, so there is nothing to chart. The server writes it beside a persistent store (<code>npm start</code>), unless{' '}
    <code>C360_LAKE=off</code> or the store is in memory; on AWS it is queried through Athena.
  </p>
);

export const registerAnalyticsPages = (app: Hono<ConsoleEnv>, deps: ConsoleDeps, needs: Needs): void => {
  app.get('/analytics', needs('read'), (c) => {
    const base = consoleBase(c);
    return render(
      c,
      <Layout title="Analytics" viewer={c.var.viewer} csrf={c.var.session.csrf}>
        <h1>Analytics</h1>
        {deps.analytics ? (
          <>
            <p class="muted">
              The ten queries over the analytics lake of tenant {c.get('principal').tenant}, as <code>GET /v1/analytics/&#123;query&#125;</code> answers them. A
              page takes the API's parameters in its query string (for example <code>?now=2026-06-30</code>).
            </p>
            <ul class="queries">
              {ANALYTICS_QUERIES.map((q) => (
                <li>
                  <a href={`${base}/analytics/${q}`}>{TITLES[q].title}</a>: {TITLES[q].about}
                </li>
              ))}
            </ul>
          </>
        ) : (
          <NoLake />
        )}
      </Layout>,
    );
  });

  app.get('/analytics/:query', needs('read'), async (c) => {
    const query = c.req.param('query');
    if (!(ANALYTICS_QUERIES as readonly string[]).includes(query))
      return render(
        c,
        <Layout title="Analytics" viewer={c.var.viewer} csrf={c.var.session.csrf}>
          <h1>Analytics</h1>
          <p class="error" role="alert">
            No analytics query "{query}"; the queries are listed below.
          </p>
          <QueryList />
        </Layout>,
        404,
      );
    const name = query as AnalyticsQueryName;
    const { title, about } = TITLES[name];
    if (!deps.analytics)
      return render(
        c,
        <Layout title={title} viewer={c.var.viewer} csrf={c.var.session.csrf}>
          <h1>{title}</h1>
          <NoLake />
        </Layout>,
        404,
      );
    const { tenant } = c.get('principal');
    // a bad, unknown or repeated parameter is a DomainError: the console's error page, 400, names it
    const raw = oneValueEach(c.req.queries());
    const unknown = unknownAnalyticsParams(name, raw, true);
    if (unknown.length > 0) throw new DomainError('VALIDATION_FAILED', unknownParamsMessage(name, unknown, true), [unknown[0]!]);
    const { limit: rawLimit, cursor, ...params } = raw;
    // a page as the API answers it; without limit the largest, so the charts draw as many rows as a page holds
    const limit = rawLimit === undefined ? ANALYTICS_PAGE.maxLimit : analyticsPageLimit(rawLimit);
    const after = cursor === undefined ? undefined : analyticsCursor(name, cursor);
    const page = await deps.analytics.page(tenant, name, params, { limit, after });
    const rows = page.rows;
    const nextHref =
      page.next === undefined ? undefined : `${consoleBase(c)}/analytics/${name}?${new URLSearchParams({ ...raw, cursor: encodeAnalyticsCursor(page.next) })}`;
    const currency = params.currency ?? deps.analytics.currency ?? 'USD';
    return render(
      c,
      <Layout title={title} viewer={c.var.viewer} csrf={c.var.session.csrf}>
        <QueryList current={name} />
        <h1>{title}</h1>
        <p class="muted">
          Tenant {tenant}: {about}. {rows.length} rows.
        </p>
        <Charts query={name} rows={rows} currency={currency} />
        {rows.length ? (
          <Table
            rows={rows}
            caption={
              rows.length > TABLE_ROWS
                ? `The first ${TABLE_ROWS} of the page's ${rows.length} rows (the API gives them all, a page at a time)`
                : `All ${rows.length} rows`
            }
          />
        ) : null}
        {nextHref === undefined ? null : (
          <p>
            <a href={nextHref} rel="next">
              The next page
            </a>
          </p>
        )}
      </Layout>,
    );
  });
};
