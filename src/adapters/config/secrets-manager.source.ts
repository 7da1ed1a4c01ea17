import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';

// Secrets Manager through Powertools' SecretsProvider: each secret is fetched once and kept for
// maxAge, after which the next read fetches the current version (AWSCURRENT) again, so a rotation
// reaches a running function without a redeploy. Values never pass through the environment.

export type SecretSource = {
  /** the secret's string value; a fetch failure rejects (the caller decides what a stale value is worth) */
  get(secretId: string): Promise<string>;
};

export type SecretsManagerSourceOptions = {
  /** seconds a value is reused before it is fetched again */
  readonly maxAgeSeconds: number;
  /** a local emulator; by default the SDK's own resolution (AWS_ENDPOINT_URL_SECRETS_MANAGER, then AWS) */
  readonly endpoint?: string | undefined;
};

export const secretsManagerSource = (options: SecretsManagerSourceOptions): SecretSource => {
  const client = new SecretsManagerClient(options.endpoint ? { endpoint: options.endpoint } : {});
  const provider = new SecretsProvider({ awsSdkV3Client: client });
  return {
    async get(secretId) {
      const value = await provider.get(secretId, { maxAge: options.maxAgeSeconds });
      if (typeof value !== 'string') throw new Error(`secret ${secretId} holds no string value (a binary secret?)`);
      return value;
    },
  };
};
