import { DEFAULT_SCORE_CONFIG, type ScoreConfig } from '../../domain/projection/scores.js';
import { DomainError } from '../../domain/shared/errors.js';

// The ten analytics queries and their parameters. "Now" and every threshold is a parameter (the
// score thresholds default to the 360 view's), so a query given the view's now and thresholds
// answers what the view answers, and no score depends on another customer.

export const ANALYTICS_QUERIES = [
  'customer-lifetime-value',
  'monthly-revenue',
  'cohort-retention',
  'product-performance',
  'churn-risk',
  'channel-funnel',
  'rfm-segmentation',
  'product-affinity',
  'geographic-revenue',
  'demand-forecast-base',
] as const;
export type AnalyticsQueryName = (typeof ANALYTICS_QUERIES)[number];

type Spec =
  | { readonly kind: 'number'; readonly min: number; readonly max?: number; readonly integer?: boolean; readonly default: number }
  | { readonly kind: 'text'; readonly pattern: RegExp; readonly hint: string; readonly default?: string }
  | { readonly kind: 'instant' };

const num = (d: number, min = 0, more: { max?: number; integer?: boolean } = {}): Spec => ({ kind: 'number', min, default: d, ...more });
const int = (d: number, min = 0, max?: number): Spec => num(d, min, { integer: true, ...(max === undefined ? {} : { max }) });
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** every parameter a query may take, with its default (the score thresholds are the view's) */
export const paramSpecs = (score: ScoreConfig = DEFAULT_SCORE_CONFIG): Readonly<Record<string, Spec>> => ({
  now: { kind: 'instant' },
  currency: { kind: 'text', pattern: /^[A-Z]{3}$/, hint: 'an ISO currency code such as USD', default: score.currency },
  ...Object.fromEntries(score.recencyDays.map((d, i) => [`recency_days_${i + 1}`, num(d)])),
  ...Object.fromEntries(score.frequencyOrders.map((d, i) => [`frequency_orders_${i + 1}`, int(d)])),
  ...Object.fromEntries(score.monetaryMinor.map((d, i) => [`monetary_minor_${i + 1}`, int(d)])),
  churn_inactive_days: num(score.churnInactiveDays, Number.MIN_VALUE),
  churn_high: num(0.7, 0, { max: 1 }),
  churn_medium: num(0.4, 0, { max: 1 }),
  clv_high_minor: int(100_000),
  clv_medium_minor: int(20_000),
  months: int(12, 0, 120),
  min_orders: int(2, 1),
  level: { kind: 'text', pattern: /^(category|product)$/, hint: 'category or product', default: 'category' },
  from_date: { kind: 'text', pattern: DATE, hint: 'a date as YYYY-MM-DD', default: '1970-01-01' },
  to_date: { kind: 'text', pattern: DATE, hint: 'a date as YYYY-MM-DD' },
});

const bad = (field: string, why: string): DomainError => new DomainError('VALIDATION_FAILED', `analytics parameter ${field}: ${why}`, [field]);

const parseInstant = (field: string, raw: string): number => {
  const ms = /^\d+$/.test(raw) ? Number(raw) : DATE.test(raw) || /^\d{4}-\d{2}-\d{2}T/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (!Number.isFinite(ms)) throw bad(field, 'must be epoch milliseconds or an ISO date or time');
  return ms;
};

const parseOne = (field: string, spec: Spec, raw: string): string | number => {
  switch (spec.kind) {
    case 'instant':
      return parseInstant(field, raw);
    case 'text':
      if (!spec.pattern.test(raw)) throw bad(field, `must be ${spec.hint}`);
      return raw;
    case 'number': {
      const n = raw.trim() === '' ? Number.NaN : Number(raw);
      if (!Number.isFinite(n) || (spec.integer && !Number.isInteger(n))) throw bad(field, `must be ${spec.integer ? 'an integer' : 'a number'}`);
      if (n < spec.min || (spec.max !== undefined && n > spec.max)) throw bad(field, `must be between ${spec.min} and ${spec.max ?? 'any'}`);
      return n;
    }
  }
};

export type AnalyticsParams = Readonly<Record<string, string | number>>;

/**
 * The queries answered a page at a time where a caller pages them (the HTTP route, the CLI): the
 * column their rows are ordered by, one row per value. `limit` and `cursor` are the caller's, not
 * the query's: the query answers every row, the caller keeps the page after the cursor.
 */
export const PAGED_ANALYTICS: Readonly<Partial<Record<AnalyticsQueryName, string>>> = { 'rfm-segmentation': 'customer_id' };
export const ANALYTICS_PAGE = { defaultLimit: 100, maxLimit: 1_000 } as const;
export const PAGE_PARAMS = ['limit', 'cursor'] as const;

/** The query-string names a query takes: its parameters, and where the caller pages it, `limit` and `cursor`. */
export const analyticsParamNames = (name: string, paged: boolean, score?: ScoreConfig): readonly string[] => [
  ...Object.keys(paramSpecs(score)),
  ...(paged && name in PAGED_ANALYTICS ? PAGE_PARAMS : []),
];

/** The names among `raw` that the query does not take, in the order given. */
export const unknownAnalyticsParams = (name: string, raw: Readonly<Record<string, string | undefined>>, paged: boolean, score?: ScoreConfig): string[] => {
  const known = new Set(analyticsParamNames(name, paged, score));
  return Object.keys(raw).filter((k) => raw[k] !== undefined && !known.has(k));
};

/** The refusal of unknown parameters: each named first, then what the query takes. */
export const unknownParamsMessage = (name: string, unknown: readonly string[], paged: boolean, score?: ScoreConfig): string =>
  `unknown analytics parameter${unknown.length === 1 ? '' : 's'} ${unknown.map((u) => `"${u}"`).join(', ')} for ${name}; the parameters it accepts are ${analyticsParamNames(name, paged, score).join(', ')}`;

/** The page of a paged query's rows after `after` (a value of its ordering column), and that column's value on the last row when more follow. */
export const pageAnalyticsRows = <R extends Readonly<Record<string, unknown>>>(
  rows: readonly R[],
  key: string,
  limit: number,
  after: string | undefined,
): { readonly rows: R[]; readonly last?: string } => {
  const rest = after === undefined ? rows : rows.filter((r) => String(r[key]) > after);
  const page = rest.slice(0, limit);
  return rest.length > limit && page.length > 0 ? { rows: page, last: String(page.at(-1)![key]) } : { rows: page };
};

/** The query's parameters from raw strings; a bad or unknown one is a 400 naming it. */
export const parseAnalyticsParams = (
  name: string,
  raw: Readonly<Record<string, string | undefined>>,
  now: number,
  score?: ScoreConfig,
): { readonly query: AnalyticsQueryName; readonly params: AnalyticsParams } => {
  if (!(ANALYTICS_QUERIES as readonly string[]).includes(name))
    throw new DomainError('VALIDATION_FAILED', `no analytics query "${name}"; the queries are ${ANALYTICS_QUERIES.join(', ')}`, ['query']);
  const specs = paramSpecs(score);
  const unknown = unknownAnalyticsParams(name, raw, false, score);
  if (unknown.length > 0) throw new DomainError('VALIDATION_FAILED', unknownParamsMessage(name, unknown, false, score), [unknown[0]!], { unknown });
  const params: Record<string, string | number> = {};
  for (const [field, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    params[field] = parseOne(field, specs[field]!, value);
  }
  for (const [field, spec] of Object.entries(specs))
    if (params[field] === undefined && 'default' in spec && spec.default !== undefined) params[field] = spec.default;
  const nowMs = typeof params.now === 'number' ? params.now : now;
  delete params.now;
  params.now_ms = nowMs;
  params.to_date ??= new Date(nowMs).toISOString().slice(0, 10);
  return { query: name as AnalyticsQueryName, params };
};
