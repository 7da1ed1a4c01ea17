import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';

/**
 * The environment of an App on the test setup's DynamoDB Local: the four tables under `prefix`
 * (a run's own), fresh secrets, Streams projection unless `extra` says otherwise.
 */
export const dynamoDbEnv = (prefix: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> => ({
  C360_STORE: 'dynamodb',
  C360_PROJECTION: 'streams',
  AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
  C360_EVENTS_TABLE: `${prefix}events`,
  C360_VIEWS_TABLE: `${prefix}views`,
  C360_KEYS_TABLE: `${prefix}keys`,
  C360_QUARANTINE_TABLE: `${prefix}quarantine`,
  C360_CLAIM_SECRET: randomBytes(32).toString('base64url'),
  C360_MASTER_KEY: randomBytes(32).toString('base64'),
  ...extra,
});
