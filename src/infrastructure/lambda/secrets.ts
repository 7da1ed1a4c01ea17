import { z } from 'zod';
import { RotatingAuthenticator } from '../../adapters/config/rotating-authenticator.js';
import type { SecretSource } from '../../adapters/config/secrets-manager.source.js';
import type { Authenticator } from '../../application/ports/access.port.js';
import { buildApp, type App } from '../app.js';
import { ConfigError, loadConfig, PARSE_ONCE, type Config } from '../config.js';
import { loadCredentials, parseCredentials } from '../credentials.js';
import type { Env } from './function-start.js';

// On AWS the functions' secrets come from Secrets Manager, never from their environment, which
// holds only the secrets' ids:
//   C360_SECRET_ID              {"claimSecret", "masterKey"?, "previousMasterKeys"?, "consoleSessionKey"?}
//   C360_CREDENTIALS_SECRET_ID  the credentials file's document: {"credentials": [...]}
// Both are read at each cold start. The credentials are read again after
// C360_SECRETS_MAX_AGE_SECONDS (default 300) while the function runs, so a rotated write key or
// token works without a redeploy. The claim secret and the master key are read once per cold
// start: claim keys are HMACs under the claim secret (changing it is `c360 rekey`, not a rotation),
// and on AWS data keys are wrapped by KMS (C360_KMS_KEY_ID, rotated by KMS itself).

const CoreSecrets = z.object({
  claimSecret: z.string().min(32, 'must hold at least 32 characters'),
  masterKey: z.string().optional(),
  previousMasterKeys: z.array(z.string()).optional(),
  /** the console's session-signing key, handed on as C360_CONSOLE_SESSION_KEY (in memory only) */
  consoleSessionKey: z.string().min(32, 'must hold at least 32 characters').optional(),
});

const SecretsEnv = z.object({
  C360_SECRET_ID: z.string().min(1).optional(),
  C360_CREDENTIALS_SECRET_ID: z.string().min(1).optional(),
  C360_SECRETS_MAX_AGE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
});

export type FunctionStart = {
  readonly config: Config;
  /** the rotating credentials when they come from Secrets Manager */
  readonly authenticator?: Authenticator | undefined;
};

const json = async (source: SecretSource, variable: string, id: string): Promise<unknown> => {
  let text: string;
  try {
    text = await source.get(id);
  } catch (e) {
    throw new ConfigError(`${variable}: cannot read secret ${id} (${(e as Error).name}: ${(e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigError(`${variable}: secret ${id} is not JSON`);
  }
};

const parseSecretsEnv = (env: Env) => {
  const parsed = SecretsEnv.safeParse(env, PARSE_ONCE);
  if (!parsed.success) throw new ConfigError(`${String(parsed.error.issues[0]!.path[0])}: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
};

const refusePlainSecrets = (env: Env): void => {
  for (const plain of ['C360_CLAIM_SECRET', 'C360_MASTER_KEY', 'C360_WRITE_KEY', 'C360_ADMIN_TOKEN', 'C360_CREDENTIALS_FILE'])
    if (env[plain] !== undefined) throw new ConfigError(`${plain}: set beside a Secrets Manager secret; keep it in the secret, not in the environment`);
};

// the SDK and Powertools stay out of the bundles' start unless a secret is configured
const sourceFor = async (maxAgeSeconds: number): Promise<SecretSource> =>
  (await import('../../adapters/config/secrets-manager.source.js')).secretsManagerSource({ maxAgeSeconds });

/** env with what C360_SECRET_ID holds in its variables (a copy in memory; nothing is exported to children) */
const fillCoreSecrets = async (env: Env, from: SecretSource, secretId: string): Promise<Env> => {
  const core = CoreSecrets.safeParse(await json(from, 'C360_SECRET_ID', secretId), PARSE_ONCE);
  if (!core.success) throw new ConfigError(`C360_SECRET_ID: ${core.error.issues[0]!.path.join('.')}: ${core.error.issues[0]!.message}`);
  const withSecrets: Env = { ...env, C360_CLAIM_SECRET: core.data.claimSecret };
  if (core.data.masterKey) withSecrets.C360_MASTER_KEY = core.data.masterKey;
  if (core.data.previousMasterKeys) withSecrets.C360_MASTER_KEYS_PREVIOUS = core.data.previousMasterKeys.join(',');
  if (core.data.consoleSessionKey) withSecrets.C360_CONSOLE_SESSION_KEY = core.data.consoleSessionKey;
  return withSecrets;
};

/**
 * The environment a long job (the ECS task running the CLI) starts with: as a function's, the
 * claim secret and master keys come from C360_SECRET_ID, never from the task's environment.
 * Without C360_SECRET_ID the environment is used as it is.
 */
export const jobEnv = async (env: Env, source?: SecretSource): Promise<Env> => {
  const { C360_SECRET_ID: secretId, C360_SECRETS_MAX_AGE_SECONDS: maxAge } = parseSecretsEnv(env);
  if (!secretId) return env;
  refusePlainSecrets(env);
  return fillCoreSecrets(env, source ?? (await sourceFor(maxAge)), secretId);
};

/** The config a function starts with: the environment, plus what its Secrets Manager secrets hold. */
export const functionStart = async (env: Env, source?: SecretSource): Promise<FunctionStart> => {
  const { C360_SECRET_ID: secretId, C360_CREDENTIALS_SECRET_ID: credentialsId, C360_SECRETS_MAX_AGE_SECONDS: maxAge } = parseSecretsEnv(env);
  if (!secretId && !credentialsId) return { config: loadConfig(env) };
  refusePlainSecrets(env);
  const from = source ?? (await sourceFor(maxAge));
  const withSecrets = secretId ? await fillCoreSecrets(env, from, secretId) : env;
  const config = loadConfig(withSecrets);
  if (!credentialsId) return { config };
  const read = async () => parseCredentials(await json(from, 'C360_CREDENTIALS_SECRET_ID', credentialsId), config, 'C360_CREDENTIALS_SECRET_ID');
  const authenticator = new RotatingAuthenticator([...(await read()), ...loadCredentials(config)], {
    reload: read,
    maxAgeMs: maxAge * 1000,
    onError: (e) =>
      console.warn(JSON.stringify({ level: 'WARN', message: 'credentials secret: reload failed; the last list stays in use', error: (e as Error).name })),
  });
  return { config, authenticator };
};

/** Builds a function's App from its environment and secrets: what every entry point does at its cold start. */
export const functionApp = async (env: Env = process.env, source?: SecretSource): Promise<App> => {
  const { config, authenticator } = await functionStart(env, source);
  return buildApp(config, { authenticator });
};
