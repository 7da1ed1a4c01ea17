import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SCOPES } from '../application/ports/access.port.js';
import { CredentialListSchema, type CredentialSpec } from '../adapters/config/static-credentials.js';
import { ConfigError, PARSE_ONCE, type Config } from './config.js';

// Who may call: a multi-tenant credentials file (C360_CREDENTIALS_FILE), plus the single-tenant
// shortcuts C360_WRITE_KEY (ingest) and C360_ADMIN_TOKEN (every scope) for the configured tenant.

export const CredentialsFile = z.object({ credentials: CredentialListSchema.min(1) });

/** A credentials document (the file's, or a Secrets Manager secret's) as specs; `label` names its origin in errors. */
export const parseCredentials = (raw: unknown, config: Pick<Config, 'rateLimitPerSecond'>, label: string): CredentialSpec[] => {
  const parsed = CredentialsFile.safeParse(raw, PARSE_ONCE);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${label}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data.credentials.map((c) => ({ ...c, rateLimitPerSecond: c.rateLimitPerSecond ?? config.rateLimitPerSecond }));
};

export const loadCredentials = (config: Config): CredentialSpec[] => {
  const specs: CredentialSpec[] = [];
  if (config.credentialsFile) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(config.credentialsFile, 'utf8'));
    } catch (e) {
      throw new ConfigError(`C360_CREDENTIALS_FILE: cannot read ${config.credentialsFile} as JSON (${(e as Error).message})`);
    }
    specs.push(...parseCredentials(raw, config, 'C360_CREDENTIALS_FILE'));
  }
  if (config.writeKey)
    specs.push({
      id: 'env-write-key',
      tenant: config.tenant,
      kind: 'writeKey',
      secret: config.writeKey,
      scopes: ['ingest'],
      rateLimitPerSecond: config.rateLimitPerSecond,
    });
  if (config.adminToken)
    specs.push({
      id: 'env-admin-token',
      tenant: config.tenant,
      kind: 'token',
      secret: config.adminToken,
      scopes: [...SCOPES],
      rateLimitPerSecond: config.rateLimitPerSecond,
    });
  return specs;
};
