import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { IdentityRules } from '../domain/identity/rules.js';
import { DEFAULT_SCORE_CONFIG } from '../domain/projection/scores.js';
import { Channel } from '../domain/customer/customer.events.js';
import type { PhoneRegion } from '../domain/identity/identifier.js';

// One zod schema over the environment, parsed once at start-up; errors name the variable.

const Source = z.object({ priority: z.number().int(), channel: Channel });

const Env = z.object({
  C360_STORE: z.enum(['memory']).default('memory'),
  C360_TENANT: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes').default('demo'),
  C360_CLAIM_SECRET: z.string().min(32, 'must hold at least 32 characters').optional(),
  C360_PHONE_REGION: z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 region such as US or ZA').default('US'),
  C360_IDEMPOTENCY_TTL_DAYS: z.coerce.number().positive().default(7),
  C360_SCORE_CURRENCY: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 currency code').default('USD'),
  C360_IDENTITY_RULES_FILE: z.string().optional(),
  /** JSON: {"crm": {"priority": 50, "channel": "crm"}, ...} */
  C360_SOURCES: z.string().optional(),
  C360_DEMO_CUSTOMERS: z.coerce.number().int().positive().max(100_000).default(500),
});

export type Config = {
  readonly store: 'memory';
  readonly tenant: string;
  readonly claimSecret: string;
  readonly claimSecretGenerated: boolean;
  readonly phoneRegion: PhoneRegion;
  readonly idempotencyTtlMs: number;
  readonly scoreCurrency: string;
  readonly identityRules?: IdentityRules | undefined;
  readonly sources: Readonly<Record<string, z.infer<typeof Source>>>;
  readonly demoCustomers: number;
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
  const parsed = schema.safeParse(raw);
  if (!parsed.success) return fail(variable, parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  return parsed.data;
};

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  const parsed = Env.safeParse(env);
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
  return {
    store: e.C360_STORE,
    tenant: e.C360_TENANT,
    // the embedded in-memory store lives as long as the process, so a per-process secret is safe;
    // a persistent store must be given one (claim keys must not change across restarts)
    claimSecret: e.C360_CLAIM_SECRET ?? randomBytes(32).toString('base64url'),
    claimSecretGenerated: e.C360_CLAIM_SECRET === undefined,
    phoneRegion: e.C360_PHONE_REGION as PhoneRegion,
    idempotencyTtlMs: e.C360_IDEMPOTENCY_TTL_DAYS * 86_400_000,
    scoreCurrency: e.C360_SCORE_CURRENCY,
    identityRules,
    sources: e.C360_SOURCES ? parseJson('C360_SOURCES', e.C360_SOURCES, z.record(z.string(), Source)) : {},
    demoCustomers: e.C360_DEMO_CUSTOMERS,
  };
};

export const scoreConfigFor = (config: Config) => ({ ...DEFAULT_SCORE_CONFIG, currency: config.scoreCurrency });
