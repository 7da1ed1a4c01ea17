import { randomBytes, randomUUID } from 'node:crypto';
import { buildApp, type App } from '../../src/infrastructure/app.js';
import { loadConfig } from '../../src/infrastructure/config.js';

// Apps for the Lambda tests, built the way the entry points build them: buildApp(loadConfig(env)).

export type LambdaTestEnv = Record<string, string>;

export const credentials = () => ({ writeKey: `wk-${randomUUID()}`, adminToken: `admin-${randomUUID()}-${randomUUID()}` });

/** The in-memory store with a write key and an admin token for one tenant. */
export const memoryEnv = (tenant: string, creds = credentials(), extra: LambdaTestEnv = {}): LambdaTestEnv => ({
  C360_STORE: 'memory',
  C360_TENANT: tenant,
  C360_WRITE_KEY: creds.writeKey,
  C360_ADMIN_TOKEN: creds.adminToken,
  POWERTOOLS_LOG_LEVEL: 'WARN',
  ...extra,
});

/** DynamoDB Local with fresh tables, projecting from the stream as production does. */
export const dynamoEnv = (endpoint: string, tenant: string, creds = credentials(), extra: LambdaTestEnv = {}): LambdaTestEnv => {
  const id = randomUUID();
  return {
    ...memoryEnv(tenant, creds),
    C360_STORE: 'dynamodb',
    C360_PROJECTION: 'streams',
    C360_EVENTS_TABLE: `events-${id}`,
    C360_VIEWS_TABLE: `views-${id}`,
    C360_KEYS_TABLE: `keys-${id}`,
    C360_QUARANTINE_TABLE: `quarantine-${id}`,
    C360_CLAIM_SECRET: randomBytes(32).toString('base64url'),
    C360_MASTER_KEY: randomBytes(32).toString('base64'),
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    ...extra,
  };
};

export const appFor = (env: LambdaTestEnv): Promise<App> => buildApp(loadConfig(env));

/**
 * Runs `build` with Powertools silent (no log lines, no EMF documents): Powertools
 * reads its variables from process.env when a logger or metrics object is created.
 */
export const quietly = <T>(build: () => T): T => {
  const saved = { level: process.env.POWERTOOLS_LOG_LEVEL, metrics: process.env.POWERTOOLS_METRICS_DISABLED };
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  try {
    return build();
  } finally {
    for (const [key, value] of [
      ['POWERTOOLS_LOG_LEVEL', saved.level],
      ['POWERTOOLS_METRICS_DISABLED', saved.metrics],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
};
