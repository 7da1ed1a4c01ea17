import { DEFAULT_IDEMPOTENCY_TTL_MS } from '../application/ports/rules.port.js';
import { DEFAULT_RATE_LIMIT_PER_SECOND } from '../adapters/config/static-credentials.js';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { IdentityRules } from '../domain/identity/rules.js';
import { DEFAULT_SCORE_CONFIG } from '../domain/projection/scores.js';
import { currencyCode } from '../domain/shared/bounds.js';
import { CHANNELS } from '../domain/customer/customer.events.js';
import { closestName } from '../domain/shared/names.js';
import type { PhoneRegion } from '../domain/identity/identifier.js';
import type { Offer } from '../domain/engagement/offer.js';
import { loadOffers, OffersError } from './offers/offers.loader.js';
import { DEFAULT_SOURCES } from '../application/ingest/sources.js';

// One zod schema over the environment, parsed once at start-up; errors name the variable.

const Source = z.object({ priority: z.number().int(), channel: z.enum(CHANNELS) });

const boolish = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
// shared building blocks: one definition of each rule that several variables follow
const text = z.string().min(1);
const tableName = z.string().min(3);
const optionalText = z.string().optional();
const optionalUrl = z.url().optional();
const positive = z.coerce.number().positive();
const snsTopicArn = z
  .string()
  .regex(/^arn:[^:]+:sns:[^:]*:[^:]*:.+$/, 'an SNS topic ARN')
  .optional();

const Env = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  C360_HOST: text.default('127.0.0.1'),
  C360_STORE: z.enum(['sqlite', 'memory', 'dynamodb', 'eventstoredb']).default('sqlite'),
  /** the embedded store's file; default <C360_DATA_DIR>/c360.sqlite */
  C360_SQLITE_FILE: text.optional(),
  C360_DATA_DIR: text.default('./.c360'),
  C360_WRITE_KEY: z.string().min(16, 'must hold at least 16 characters').optional(),
  C360_ADMIN_TOKEN: z.string().min(24, 'must hold at least 24 characters').optional(),
  C360_CREDENTIALS_FILE: optionalText,
  C360_RATE_LIMIT_PER_SECOND: positive.default(DEFAULT_RATE_LIMIT_PER_SECOND),
  C360_ANONYMOUS_RATE_LIMIT_PER_SECOND: positive.default(10),
  C360_BACKUP_RETENTION_DAYS: z.coerce.number().int().min(0).max(3_650).optional(),
  C360_MASTER_KEY: z
    .string()
    .regex(/^[A-Za-z0-9+/_-]{43}=?$/, 'a 32-byte key in base64')
    .optional(),
  /** comma-separated older master keys, still accepted for unwrapping during a rotation */
  C360_MASTER_KEYS_PREVIOUS: optionalText,
  /** seals the web console's session cookie; the embedded default generates one into secrets.json */
  C360_CONSOLE_SESSION_KEY: z.string().min(32, 'must hold at least 32 characters').optional(),
  C360_EVENTS_TABLE: tableName.default('c360-events'),
  C360_VIEWS_TABLE: tableName.default('c360-views'),
  C360_KEYS_TABLE: tableName.default('c360-keys'),
  C360_QUARANTINE_TABLE: tableName.default('c360-quarantine'),
  C360_AUDIT_TABLE: tableName.default('c360-audit'),
  C360_LEDGER_TABLE: tableName.default('c360-erasures'),
  /** default: the events table's name + "-outbox" (the relay confirms entries against that log) */
  C360_OUTBOX_TABLE: tableName.optional(),
  /** the offer catalogue (JSON); default: the sample in src/infrastructure/offers */
  C360_OFFERS_FILE: text.optional(),
  /** off: no engagement decisions at all */
  C360_ENGAGEMENT: z.enum(['on', 'off']).default('on'),
  /** the SNS topic engagement notifications go to; unset: kept in memory (the embedded default) */
  C360_SNS_TOPIC_ARN: snsTopicArn,
  /** an SNS topic for the identity change feed (merges, unmerges, erasures; no personal data) */
  C360_IDENTITY_TOPIC_ARN: snsTopicArn,
  /** a KMS key (ARN or alias) that wraps data keys instead of C360_MASTER_KEY */
  C360_KMS_KEY_ID: text.optional(),
  AWS_ENDPOINT_URL_SNS: optionalUrl,
  C360_CREATE_TABLES: boolish.optional(),
  C360_QUARANTINE_RETENTION_DAYS: positive.default(30),
  /** inline: project in the writing process; streams: DynamoDB Streams (poller or Lambda) does it */
  C360_PROJECTION: z.enum(['inline', 'streams', 'log']).optional(),
  C360_GROUP_COMMIT: z.enum(['on', 'off']).default('on'),
  /** the analytics lake (Parquet under C360_LAKE_DIR), written by the server beside a persistent store */
  C360_LAKE: z.enum(['on', 'off']).default('on'),
  /** default <C360_DATA_DIR>/lake */
  C360_LAKE_DIR: text.optional(),
  /** how often the server's lake projection follows the log */
  C360_LAKE_FOLLOW_SECONDS: z.coerce.number().positive().max(3_600).default(30),
  /** the lake is written elsewhere by a schedule of this many minutes (AWS: the lake function); erasure receipts then give its bound */
  C360_LAKE_SCHEDULE_MINUTES: z.coerce.number().int().positive().max(1_440).optional(),
  /** the tenants that schedule writes a lake for, comma-separated (default: every tenant); others' receipts give no bound */
  C360_LAKE_SCHEDULE_TENANTS: optionalText,
  /**
   * C360_STORE=dynamodb: how long after its stamp a commit may still appear in the log's index; the
   * lake follows the log only this far behind (positions show up out of order on DynamoDB)
   */
  C360_LOG_SETTLE_SECONDS: z.coerce.number().min(0).max(3_600).default(60),
  C360_INGEST_MODE: z.enum(['sync', 'async']).default('sync'),
  C360_KINESIS_STREAM: text.optional(),
  ESDB_CONNECTION_STRING: z.string().startsWith('esdb', 'an esdb:// or esdb+discover:// connection string').optional(),
  AWS_ENDPOINT_URL_DYNAMODB: optionalUrl,
  AWS_ENDPOINT_URL_KINESIS: optionalUrl,
  C360_TENANT: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes')
    .default('demo'),
  C360_CLAIM_SECRET: z.string().min(32, 'must hold at least 32 characters').optional(),
  C360_PHONE_REGION: z
    .string()
    .regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 region such as US or ZA')
    .default('US'),
  C360_IDEMPOTENCY_TTL_DAYS: positive.optional(),
  C360_AUTO_MERGE_TENANTS: z
    .string()
    .regex(/^\s*([a-z0-9][a-z0-9-]{0,62}\s*(,\s*|$))*$/, 'a comma-separated list of tenants (lower-case letters, digits and dashes)')
    .optional(),
  // a code of the ISO 4217 table (any case, upper-cased as ingest does): XYZ would count every order as another currency's
  C360_SCORE_CURRENCY: z
    .string()
    .default('USD')
    .transform((v, ctx) => currencyCode(v) ?? (ctx.addIssue({ code: 'custom', message: 'an ISO 4217 currency code such as USD' }), z.NEVER)),
  C360_IDENTITY_RULES_FILE: optionalText,
  /** JSON: {"crm": {"priority": 50, "channel": "crm"}, ...} */
  C360_SOURCES: optionalText,
  /** the api function: a custom domain's base path mapping (`/api`) in front of every route */
  C360_BASE_PATH: z
    .string()
    .regex(/^(\/[A-Za-z0-9._~-]+)+$/, 'a path such as /api (a leading slash, no trailing one)')
    .optional(),
});

/** Source priorities unless C360_SOURCES says otherwise (src/application/ingest/sources.ts). */
export { DEFAULT_SOURCES };

export type Config = {
  readonly port: number;
  readonly host: string;
  readonly store: 'sqlite' | 'memory' | 'dynamodb' | 'eventstoredb';
  readonly dataDir: string;
  /** the embedded store's file (C360_STORE=sqlite, and the side stores of eventstoredb) */
  readonly sqliteFile: string;
  /** whether the server writes the analytics lake (never on the memory store or in Lambda) */
  readonly lake: 'on' | 'off';
  readonly lakeDir: string;
  /** the server's lake projection follows the log this often (default 30 s) */
  readonly lakeFollowMs: number;
  /** C360_STORE=dynamodb: the log's settle horizon (default 60 s), see C360_LOG_SETTLE_SECONDS */
  readonly logSettleMs?: number | undefined;
  /** another process writes the lake every so many minutes (the lake function): an erasure's receipt says by when it is clean */
  readonly lakeScheduleMinutes?: number | undefined;
  /** the tenants the scheduled lake covers; undefined: every tenant */
  readonly lakeScheduleTenants?: readonly string[] | undefined;
  readonly writeKey?: string | undefined;
  readonly adminToken?: string | undefined;
  readonly credentialsFile?: string | undefined;
  readonly rateLimitPerSecond: number;
  /** requests without a valid credential, per client address and second; 429 beyond */
  readonly anonymousRateLimitPerSecond: number;
  /** how long the deployment's backups keep deleted items (erasure receipts say when they are clean); 0: none */
  readonly backupRetentionDays: number;
  readonly masterKey?: string | undefined;
  readonly previousMasterKeys: readonly string[];
  /** the web console's session-sealing key; without it there is no console */
  readonly consoleSessionKey?: string | undefined;
  readonly tables: {
    readonly events: string;
    readonly views: string;
    readonly keys: string;
    readonly quarantine: string;
    readonly audit: string;
    readonly ledger: string;
    readonly outbox?: string | undefined;
  };
  /** the offer catalogue; undefined: engagement is off */
  /**
   * The offer catalogue (undefined: engagement off). A C360_OFFERS_FILE is read and checked at
   * start-up, so a bad one fails the start; the sample shipped inside the bundle is parsed on first
   * use, so that a cold start builds no offer schema it may not need.
   */
  readonly offers?: (() => readonly Offer[]) | undefined;
  readonly snsTopicArn?: string | undefined;
  readonly identityTopicArn?: string | undefined;
  readonly kmsKeyId?: string | undefined;
  readonly snsEndpoint?: string | undefined;
  /** undefined: create them when talking to a local DynamoDB, never against AWS itself */
  readonly createTables?: boolean | undefined;
  readonly quarantineRetentionMs: number;
  /**
   * inline: in the writing call (read-your-writes); streams: DynamoDB Streams; log: the SQLite log
   * follower alone, a page at a time (CLI jobs on the embedded store: fewer view writes)
   */
  readonly projection: 'inline' | 'streams' | 'log';
  /** commits that arrive together share one transaction (the embedded store); off: one each */
  readonly groupCommit: boolean;
  readonly ingestMode: 'sync' | 'async';
  readonly kinesisStream?: string | undefined;
  readonly esdbConnectionString?: string | undefined;
  readonly dynamoEndpoint?: string | undefined;
  readonly kinesisEndpoint?: string | undefined;
  readonly tenant: string;
  readonly claimSecret: string;
  readonly claimSecretGenerated: boolean;
  readonly phoneRegion: PhoneRegion;
  readonly idempotencyTtlMs: number;
  /** tenants whose probable duplicates at or above the auto-merge threshold merge on their own (C360_AUTO_MERGE_TENANTS) */
  readonly autoMergeTenants?: readonly string[] | undefined;
  readonly scoreCurrency: string;
  readonly identityRules?: IdentityRules | undefined;
  readonly sources: Readonly<Record<string, z.infer<typeof Source>>>;
  /** the api function strips it from request paths (C360_BASE_PATH) */
  readonly basePath: string | undefined;
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const fail = (variable: string, message: string): never => {
  throw new ConfigError(`${variable}: ${message}`);
};

const parseJson = <T>(variable: string, text: string, schema: z.ZodType<T>): T => {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return fail(variable, `not valid JSON (${(e as Error).message})`);
  }
  const parsed = schema.safeParse(raw, PARSE_ONCE);
  if (!parsed.success) return fail(variable, parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  return parsed.data;
};

/**
 * Every C360_ variable something of ours reads: the config, the Lambda secrets loader, the jobs'
 * container entry, the bin (a test keeps the list equal to what src/ reads); and the two the
 * repository's own test harness reads.
 */
export const KNOWN_SETTINGS: ReadonlySet<string> = new Set(
  [
    ...['ADMIN_TOKEN', 'ANONYMOUS_RATE_LIMIT_PER_SECOND', 'AUDIT_TABLE', 'AUTO_MERGE_TENANTS', 'BACKUP_RETENTION_DAYS', 'BASE_PATH', 'CLAIM_SECRET'],
    ...['CONSOLE_SESSION_KEY', 'CREATE_TABLES', 'CREDENTIALS_FILE', 'CREDENTIALS_SECRET_ID', 'DATA_DIR', 'DEBUG', 'ENGAGEMENT', 'EVENTS_TABLE'],
    ...['GROUP_COMMIT', 'HOST', 'IDEMPOTENCY_TTL_DAYS', 'IDENTITY_RULES_FILE', 'IDENTITY_TOPIC_ARN', 'INGEST_MODE', 'JOB_SOURCE', 'KEYS_TABLE'],
    ...['KINESIS_STREAM', 'KMS_KEY_ID', 'LAKE', 'LAKE_BUCKET', 'LAKE_DIR', 'LAKE_FLUSH_EVENTS', 'LAKE_FOLLOW_SECONDS', 'LAKE_PREFIX'],
    ...['LAKE_SCHEDULE_MINUTES', 'LAKE_SCHEDULE_TENANTS', 'LAKE_TENANTS', 'LAKE_VERSIONED', 'LEDGER_TABLE', 'LOG_SETTLE_SECONDS', 'MASTER_KEY'],
    ...['MASTER_KEYS_PREVIOUS'],
    ...['OFFERS_FILE', 'OUTBOX_TABLE', 'PHONE_REGION', 'PROJECTION', 'QUARANTINE_RETENTION_DAYS', 'QUARANTINE_TABLE', 'RATE_LIMIT_PER_SECOND'],
    ...['SCORE_CURRENCY', 'SECRETS_MAX_AGE_SECONDS', 'SECRET_ID', 'SNS_TOPIC_ARN', 'SOURCES', 'SQLITE_FILE', 'STORE', 'TENANT', 'VIEWS_TABLE'],
    ...['WRITE_KEY'],
    // the test harness: another Chromium for the console tests, a kept quick-start clone
    ...['CHROMIUM', 'KEEP_CLONE'],
  ].map((name) => `C360_${name}`),
);

/** settings without the prefix that a prefixed typo may mean */
const UNPREFIXED = ['PORT', 'ESDB_CONNECTION_STRING'];

/**
 * The C360_ variables of `env` that nothing reads, each with what it may have meant: a typo
 * (the prefix on PORT, a letter short of STORE) would otherwise be ignored in silence. Said as warnings at
 * start, not refused: a variable of another tool that shares the prefix must not stop a server.
 */
export const unknownSettings = (env: NodeJS.ProcessEnv): string[] =>
  Object.keys(env)
    .filter((name) => name.startsWith('C360_') && !KNOWN_SETTINGS.has(name))
    .sort()
    .map((name) => {
      const meant = UNPREFIXED.includes(name.slice('C360_'.length)) ? name.slice('C360_'.length) : closestName(name, [...KNOWN_SETTINGS]);
      return `${name} is not a setting and is ignored${meant ? `; did you mean ${meant}?` : ''}`;
    });

// The environment is parsed once per process: without zod's compiled fast path (jitless), which
// costs more to generate than a single parse saves (measured: the first loadConfig 7 ms -> 3 ms,
// on every Lambda cold start).
export const PARSE_ONCE = { jitless: true } as const;

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  const parsed = Env.safeParse(env, PARSE_ONCE);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return fail(String(issue.path[0]), issue.message);
  }
  const e = parsed.data;
  let identityRules: IdentityRules | undefined;
  if (e.C360_IDENTITY_RULES_FILE) {
    let text = '';
    try {
      text = readFileSync(e.C360_IDENTITY_RULES_FILE, 'utf8');
    } catch (err) {
      fail('C360_IDENTITY_RULES_FILE', `cannot read ${e.C360_IDENTITY_RULES_FILE} (${(err as Error).message})`);
    }
    identityRules = parseJson('C360_IDENTITY_RULES_FILE', text, IdentityRules);
  }
  // the single-tenant shortcuts would bind to C360_TENANT beside the file's tenants, unseen: refuse
  if (e.C360_CREDENTIALS_FILE !== undefined) {
    for (const variable of ['C360_WRITE_KEY', 'C360_ADMIN_TOKEN'] as const)
      if (e[variable] !== undefined)
        fail(
          variable,
          `set together with C360_CREDENTIALS_FILE: it would be a credential of tenant "${e.C360_TENANT}" (C360_TENANT) that the file does not list. ` +
            `Put it in the file with its tenant and scopes, or unset C360_CREDENTIALS_FILE to run single-tenant`,
        );
  }
  if (e.C360_STORE === 'eventstoredb' && !e.ESDB_CONNECTION_STRING) fail('ESDB_CONNECTION_STRING', 'required when C360_STORE=eventstoredb');
  if (e.C360_INGEST_MODE === 'async' && !e.C360_KINESIS_STREAM) fail('C360_KINESIS_STREAM', 'required when C360_INGEST_MODE=async');
  const projection = e.C360_PROJECTION ?? (e.C360_STORE === 'dynamodb' ? 'streams' : 'inline');
  if (projection === 'streams' && e.C360_STORE !== 'dynamodb') fail('C360_PROJECTION', 'streams projection needs C360_STORE=dynamodb');
  if (projection === 'log' && e.C360_STORE !== 'sqlite') fail('C360_PROJECTION', 'log projection needs C360_STORE=sqlite');
  return {
    port: e.PORT,
    host: e.C360_HOST,
    store: e.C360_STORE,
    dataDir: e.C360_DATA_DIR,
    sqliteFile: e.C360_SQLITE_FILE ?? join(e.C360_DATA_DIR, 'c360.sqlite'),
    lake: e.C360_LAKE,
    lakeDir: e.C360_LAKE_DIR ?? join(e.C360_DATA_DIR, 'lake'),
    lakeFollowMs: e.C360_LAKE_FOLLOW_SECONDS * 1_000,
    logSettleMs: e.C360_LOG_SETTLE_SECONDS * 1_000,
    lakeScheduleMinutes: e.C360_LAKE_SCHEDULE_MINUTES,
    lakeScheduleTenants: e.C360_LAKE_SCHEDULE_TENANTS?.split(',')
      .map((t) => t.trim())
      .filter(Boolean),
    writeKey: e.C360_WRITE_KEY,
    adminToken: e.C360_ADMIN_TOKEN,
    credentialsFile: e.C360_CREDENTIALS_FILE,
    rateLimitPerSecond: e.C360_RATE_LIMIT_PER_SECOND,
    anonymousRateLimitPerSecond: e.C360_ANONYMOUS_RATE_LIMIT_PER_SECOND,
    // the CDK app sets it to the tables' point-in-time recovery window (35 days)
    backupRetentionDays: e.C360_BACKUP_RETENTION_DAYS ?? 0,
    masterKey: e.C360_MASTER_KEY,
    consoleSessionKey: e.C360_CONSOLE_SESSION_KEY,
    previousMasterKeys: (e.C360_MASTER_KEYS_PREVIOUS ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean),
    tables: {
      events: e.C360_EVENTS_TABLE,
      views: e.C360_VIEWS_TABLE,
      keys: e.C360_KEYS_TABLE,
      quarantine: e.C360_QUARANTINE_TABLE,
      audit: e.C360_AUDIT_TABLE,
      ledger: e.C360_LEDGER_TABLE,
      outbox: e.C360_OUTBOX_TABLE ?? `${e.C360_EVENTS_TABLE}-outbox`,
    },
    offers: e.C360_ENGAGEMENT === 'on' ? offersFrom(e.C360_OFFERS_FILE) : undefined,
    snsTopicArn: e.C360_SNS_TOPIC_ARN,
    identityTopicArn: e.C360_IDENTITY_TOPIC_ARN,
    kmsKeyId: e.C360_KMS_KEY_ID,
    snsEndpoint: e.AWS_ENDPOINT_URL_SNS,
    createTables: e.C360_CREATE_TABLES,
    quarantineRetentionMs: e.C360_QUARANTINE_RETENTION_DAYS * 86_400_000,
    projection,
    ingestMode: e.C360_INGEST_MODE,
    kinesisStream: e.C360_KINESIS_STREAM,
    esdbConnectionString: e.ESDB_CONNECTION_STRING,
    dynamoEndpoint: e.AWS_ENDPOINT_URL_DYNAMODB,
    kinesisEndpoint: e.AWS_ENDPOINT_URL_KINESIS,
    groupCommit: e.C360_GROUP_COMMIT === 'on',
    tenant: e.C360_TENANT,
    // a per-process secret is only safe for the in-memory store; persistent stores get one from
    // the environment or from the embedded default's secrets file (see local/secrets.ts)
    claimSecret: e.C360_CLAIM_SECRET ?? randomBytes(32).toString('base64url'),
    claimSecretGenerated: e.C360_CLAIM_SECRET === undefined,
    phoneRegion: e.C360_PHONE_REGION as PhoneRegion,
    idempotencyTtlMs: e.C360_IDEMPOTENCY_TTL_DAYS === undefined ? DEFAULT_IDEMPOTENCY_TTL_MS : e.C360_IDEMPOTENCY_TTL_DAYS * 86_400_000,
    autoMergeTenants: (e.C360_AUTO_MERGE_TENANTS ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== ''),
    scoreCurrency: e.C360_SCORE_CURRENCY,
    identityRules,
    sources: { ...DEFAULT_SOURCES, ...(e.C360_SOURCES ? parseJson('C360_SOURCES', e.C360_SOURCES, z.record(z.string(), Source)) : {}) },
    basePath: e.C360_BASE_PATH,
  };
};

const offersFrom = (file: string | undefined): (() => readonly Offer[]) => {
  if (file === undefined) {
    let sample: readonly Offer[] | undefined;
    return () => (sample ??= loadOffers(undefined));
  }
  try {
    const offers = loadOffers(file);
    return () => offers;
  } catch (e) {
    return fail('C360_OFFERS_FILE', e instanceof OffersError ? e.message : `the offer catalogue is invalid: ${(e as Error).message}`);
  }
};

export const scoreConfigFor = (config: Pick<Config, 'scoreCurrency'>) => ({ ...DEFAULT_SCORE_CONFIG, currency: config.scoreCurrency });
