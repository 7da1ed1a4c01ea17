import { DEFAULT_SCORE_CONFIG, type ScoreConfig } from '../../domain/projection/scores.js';
import { currencyCode, isCalendarDateTime, isoTimeMs } from '../../domain/shared/bounds.js';
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

/** What a parameter may be: its kind, bounds and default (the OpenAPI document is written from these). */
export type AnalyticsParamSpec = Spec;
type Spec =
  | {
      readonly kind: 'number';
      readonly min: number;
      /** the value must exceed `min` (rather than reach it) */
      readonly above?: boolean;
      readonly max: number;
      readonly integer?: boolean;
      readonly default: number;
    }
  | { readonly kind: 'text'; readonly pattern: RegExp; readonly hint: string; readonly default?: string }
  | { readonly kind: 'date'; readonly default?: string }
  /** a code of the ISO 4217 table, in any case: upper-cased, as ingest takes it */
  | { readonly kind: 'currency'; readonly default: string }
  | { readonly kind: 'instant' };

// DuckDB binds a whole number as a BIGINT: no bound may exceed the safe integers
const num = (d: number, min: number, max: number, more: { above?: boolean } = {}): Spec => ({ kind: 'number', min, max, default: d, ...more });
/** a number of days: at most 100,000 (some 270 years) */
const days = (d: number, more: { above?: boolean } = {}): Spec => num(d, 0, 100_000, more);
const int = (d: number, min = 0, max = Number.MAX_SAFE_INTEGER): Spec => ({ kind: 'number', min, max, integer: true, default: d });
/** a day as YYYY-MM-DD (it must also exist) */
export const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** The range `now` may take: a time whose date has four digits (1970-01-01 to 9999-12-31). */
export const NOW_RANGE = { min: 0, max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) } as const;

/** every parameter a query may take, with its default (the score thresholds are the view's) */
export const paramSpecs = (score: ScoreConfig = DEFAULT_SCORE_CONFIG): Readonly<Record<string, Spec>> => ({
  now: { kind: 'instant' },
  currency: { kind: 'currency', default: score.currency },
  ...Object.fromEntries(score.recencyDays.map((d, i) => [`recency_days_${i + 1}`, days(d)])),
  ...Object.fromEntries(score.frequencyOrders.map((d, i) => [`frequency_orders_${i + 1}`, int(d)])),
  ...Object.fromEntries(score.monetaryMinor.map((d, i) => [`monetary_minor_${i + 1}`, int(d)])),
  churn_inactive_days: days(score.churnInactiveDays, { above: true }),
  churn_high: num(0.7, 0, 1),
  churn_medium: num(0.4, 0, 1),
  clv_high_minor: int(100_000),
  clv_medium_minor: int(20_000),
  months: int(12, 0, 120),
  min_orders: int(2, 1),
  level: { kind: 'text', pattern: /^(category|product)$/, hint: 'category or product', default: 'category' },
  from_date: { kind: 'date', default: '1970-01-01' },
  to_date: { kind: 'date' },
});

/**
 * The parameters each query takes besides `now` (a name ending in `_*` stands for each of its
 * numbered thresholds). Each SQL file uses these and no others (a test holds them together).
 */
const OWN_PARAMS: Readonly<Record<AnalyticsQueryName, readonly string[]>> = {
  'customer-lifetime-value': ['currency', 'clv_high_minor', 'clv_medium_minor'],
  'monthly-revenue': ['currency'],
  'cohort-retention': ['months'],
  'product-performance': ['currency'],
  'churn-risk': ['churn_inactive_days', 'churn_high', 'churn_medium'],
  'channel-funnel': [],
  'rfm-segmentation': ['currency', 'recency_days_*', 'frequency_orders_*', 'monetary_minor_*'],
  'product-affinity': ['min_orders'],
  'geographic-revenue': ['currency'],
  'demand-forecast-base': ['currency', 'level', 'from_date', 'to_date'],
};

/** The parameters query `name` takes (not `limit` and `cursor`, which are its caller's). */
export const queryParamNames = (name: AnalyticsQueryName, score?: ScoreConfig): readonly string[] => {
  const all = Object.keys(paramSpecs(score));
  return [
    'now',
    ...OWN_PARAMS[name].flatMap((p) => (p.endsWith('_*') ? all.filter((k) => k.startsWith(p.slice(0, -1)) && /^\d+$/.test(k.slice(p.length - 1))) : [p])),
  ];
};

const bad = (field: string, why: string): DomainError => new DomainError('VALIDATION_FAILED', `analytics parameter ${field}: ${why}`, [field]);

const NOW_RANGE_TEXT = `between ${NOW_RANGE.min} and ${NOW_RANGE.max} (${new Date(NOW_RANGE.min).toISOString()} to ${new Date(NOW_RANGE.max).toISOString()})`;

const parseInstant = (field: string, raw: string): number => {
  const ms = /^\d+$/.test(raw) ? Number(raw) : isCalendarDateTime(raw) ? isoTimeMs(raw) : Number.NaN;
  if (Number.isNaN(ms)) throw bad(field, 'must be epoch milliseconds or an ISO 8601 date or time of a day that exists (such as 2026-06-30)');
  if (!(ms >= NOW_RANGE.min && ms <= NOW_RANGE.max)) throw bad(field, `must be ${NOW_RANGE_TEXT}`);
  return ms;
};

const rangeText = (spec: Extract<Spec, { kind: 'number' }>): string => {
  const what = spec.integer ? 'an integer' : 'a number';
  if (spec.above) return `${what} greater than ${spec.min} and at most ${spec.max}`;
  return `${what} from ${spec.min} to ${spec.max}`;
};

const parseOne = (field: string, spec: Spec, raw: string): string | number => {
  switch (spec.kind) {
    case 'instant':
      return parseInstant(field, raw);
    case 'text':
      if (!spec.pattern.test(raw)) throw bad(field, `must be ${spec.hint}`);
      return raw;
    case 'currency': {
      const code = /^[A-Za-z]{3}$/.test(raw) ? currencyCode(raw) : undefined;
      if (code === undefined) throw bad(field, 'must be an ISO 4217 currency code such as USD');
      return code;
    }
    case 'date':
      if (!DATE_PATTERN.test(raw) || !isCalendarDateTime(raw)) throw bad(field, 'must be a date that exists, as YYYY-MM-DD');
      return raw;
    case 'number': {
      // plain decimal digits only: Number() also reads 0x10, 0b10000, 1.6e1 and 1e2 (and blanks)
      if (!/^-?\d{1,20}(\.\d{1,20})?$/.test(raw)) throw bad(field, `must be ${rangeText(spec)}, in plain decimal digits`);
      const n = Number(raw);
      const inRange = Number.isFinite(n) && (!spec.integer || Number.isInteger(n)) && (spec.above ? n > spec.min : n >= spec.min) && n <= spec.max;
      if (!inRange) throw bad(field, `must be ${rangeText(spec)}`);
      return n;
    }
  }
};

const isQuery = (name: string): name is AnalyticsQueryName => (ANALYTICS_QUERIES as readonly string[]).includes(name);

export type AnalyticsParams = Readonly<Record<string, string | number>>;

/**
 * Every query is answered a page at a time (the HTTP route, the console, the CLI given a limit), so
 * one request's rows, and the memory and time to send them, are bounded whatever the lake holds.
 * rfm-segmentation pages by its ordering column (one row per value: a page starts after the last
 * value of the one before); the others by position in the query's own order (a page starts after
 * the rows of the pages before). `limit` and `cursor` are the caller's, not the query's.
 */
export const KEYED_ANALYTICS: Readonly<Partial<Record<AnalyticsQueryName, string>>> = { 'rfm-segmentation': 'customer_id' };
export const ANALYTICS_PAGE = { defaultLimit: 100, maxLimit: 1_000 } as const;
export const PAGE_PARAMS = ['limit', 'cursor'] as const;

/** where a page starts: after the row whose ordering column holds `key`, or after `offset` rows */
export type AnalyticsPosition = { readonly key: string } | { readonly offset: number };
export type AnalyticsPageRequest = { readonly limit: number; readonly after?: AnalyticsPosition | undefined };

/** The position of a page's start as the CLI writes it: the last key printed, or the rows printed before. */
export const positionText = (p: AnalyticsPosition): string => ('key' in p ? p.key : String(p.offset));

/** A cursor as the CLI takes it (`--after`, `--cursor` or `--param cursor=`): a key for a keyed query, a count of rows for the others. */
export const parsePositionText = (name: string, raw: string): AnalyticsPosition => {
  if (isQuery(name) && KEYED_ANALYTICS[name] !== undefined) return { key: raw };
  if (!/^\d{1,15}$/.test(raw)) throw bad('cursor', 'must be the number of rows of the pages before (as printed with the page)');
  return { offset: Number(raw) };
};

/** The query-string names a query takes: its parameters, and where the caller pages it (`paged`), `limit` and `cursor`. */
export const analyticsParamNames = (name: string, paged: boolean, score?: ScoreConfig): readonly string[] => [
  ...(isQuery(name) ? queryParamNames(name, score) : []),
  ...(paged && isQuery(name) ? PAGE_PARAMS : []),
];

/** The names among `raw` that the query does not take, in the order given. */
export const unknownAnalyticsParams = (name: string, raw: Readonly<Record<string, string | undefined>>, paged: boolean, score?: ScoreConfig): string[] => {
  const known = new Set(analyticsParamNames(name, paged, score));
  return Object.keys(raw).filter((k) => raw[k] !== undefined && !known.has(k));
};

/** The refusal of unknown parameters: each named first, then what the query takes. */
export const unknownParamsMessage = (name: string, unknown: readonly string[], paged: boolean, score?: ScoreConfig): string =>
  `unknown analytics parameter${unknown.length === 1 ? '' : 's'} ${unknown.map((u) => `"${u}"`).join(', ')} for ${name}; the parameters it accepts are ${analyticsParamNames(name, paged, score).join(', ')}`;

/**
 * One value per parameter name, from a query string that may repeat a name (`now=1&now=2`): a
 * repeated one is a 400 naming it, as neither value can be chosen over the other.
 */
export const oneValueEach = (multi: Readonly<Record<string, readonly string[]>>): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [name, values] of Object.entries(multi)) {
    if (values.length > 1) throw bad(name, `given ${values.length} times; give it once`);
    if (values.length === 1) out[name] = values[0]!;
  }
  return out;
};

/** The page size of a query: `limit` (1 to the maximum), or the default without it. */
export const analyticsPageLimit = (raw: string | undefined): number => {
  if (raw === undefined) return ANALYTICS_PAGE.defaultLimit;
  const n = /^\d{1,7}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 1 && n <= ANALYTICS_PAGE.maxLimit)) throw bad('limit', `must be an integer from 1 to ${ANALYTICS_PAGE.maxLimit}`);
  return n;
};

/**
 * The thresholds that must ascend, each below the next: a score's bands (recency days 5, 4, 3, 2 at
 * or below each; orders and revenue 2, 3, 4, 5 at or above each), as the score config requires of
 * the view's, and the medium band's lower bound below the high band's (churn, CLV).
 */
const ORDERED: readonly (readonly string[])[] = [
  ['recency_days_1', 'recency_days_2', 'recency_days_3', 'recency_days_4'],
  ['frequency_orders_1', 'frequency_orders_2', 'frequency_orders_3', 'frequency_orders_4'],
  ['monetary_minor_1', 'monetary_minor_2', 'monetary_minor_3', 'monetary_minor_4'],
  ['churn_medium', 'churn_high'],
  ['clv_medium_minor', 'clv_high_minor'],
];

/** A 400 naming both thresholds of the first pair out of order (the one given first, where only one was given). */
const refuseUnordered = (params: Readonly<Record<string, string | number>>, given: ReadonlySet<string>): void => {
  for (const chain of ORDERED)
    for (let i = 1; i < chain.length; i++) {
      const [a, b] = [chain[i - 1]!, chain[i]!];
      const [x, y] = [params[a], params[b]];
      if (typeof x !== 'number' || typeof y !== 'number' || x < y) continue;
      const shown = (f: string, v: number) => `${f} ${v}${given.has(f) ? '' : ' (its default)'}`;
      throw new DomainError(
        'VALIDATION_FAILED',
        `analytics parameters ${a} and ${b}: ${shown(a, x)} must be below ${shown(b, y)}`,
        [given.has(a) || !given.has(b) ? a : b],
        { fields: [a, b] },
      );
    }
};

/** The query's parameters from raw strings; a bad or unknown one is a 400 naming it. */
export const parseAnalyticsParams = (
  name: string,
  raw: Readonly<Record<string, string | undefined>>,
  now: number,
  score?: ScoreConfig,
): { readonly query: AnalyticsQueryName; readonly params: AnalyticsParams } => {
  if (!isQuery(name)) throw new DomainError('VALIDATION_FAILED', `no analytics query "${name}"; the queries are ${ANALYTICS_QUERIES.join(', ')}`, ['query']);
  const specs = paramSpecs(score);
  const unknown = unknownAnalyticsParams(name, raw, false, score);
  if (unknown.length > 0) throw new DomainError('VALIDATION_FAILED', unknownParamsMessage(name, unknown, false, score), [unknown[0]!], { unknown });
  const params: Record<string, string | number> = {};
  for (const [field, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    params[field] = parseOne(field, specs[field]!, value);
  }
  const names = queryParamNames(name, score);
  for (const field of names) {
    const spec = specs[field]!;
    if (params[field] === undefined && 'default' in spec && spec.default !== undefined) params[field] = spec.default;
  }
  refuseUnordered(params, new Set(Object.keys(raw).filter((k) => raw[k] !== undefined)));
  const nowMs = typeof params.now === 'number' ? params.now : now;
  delete params.now;
  params.now_ms = nowMs;
  if (names.includes('to_date')) {
    const given = params.to_date !== undefined;
    params.to_date ??= new Date(nowMs).toISOString().slice(0, 10);
    if (String(params.from_date) > String(params.to_date))
      throw new DomainError(
        'VALIDATION_FAILED',
        `analytics parameters from_date and to_date: from_date ${params.from_date} is after to_date ${params.to_date}${given ? '' : " (to_date defaults to now's date)"}`,
        ['from_date'],
        { fields: ['from_date', 'to_date'] },
      );
  }
  return { query: name, params };
};
