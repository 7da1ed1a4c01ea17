import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Config } from '../config.js';

// The embedded default needs no setup: secrets that the environment does not give are generated
// once into <data dir>/secrets.json (mode 0600) and reused, so data written by one run stays
// readable (claim keys, wrapped data keys) and the printed credentials keep working.

const Secrets = z.object({
  claimSecret: z.string().min(32),
  masterKey: z.string().min(43),
  writeKey: z.string().min(16),
  adminToken: z.string().min(24),
});
export type LocalSecrets = z.infer<typeof Secrets>;

const fresh = (): LocalSecrets => ({
  claimSecret: randomBytes(32).toString('base64url'),
  masterKey: randomBytes(32).toString('base64'),
  writeKey: `wk_${randomBytes(18).toString('base64url')}`,
  adminToken: `adm_${randomBytes(24).toString('base64url')}`,
});

export const localSecrets = (dataDir: string): LocalSecrets => {
  const file = join(dataDir, 'secrets.json');
  if (existsSync(file)) {
    const parsed = Secrets.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success)
      throw new Error(
        `${file} is damaged (${parsed.error.issues[0]?.message}); move it away to start afresh (the data under ${dataDir} will then be unreadable)`,
      );
    return parsed.data;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secrets = fresh();
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return secrets;
};

export type WithSecrets = { readonly config: Config; readonly generated: { readonly writeKey?: string; readonly adminToken?: string } };

/** Fill what the environment left open; report generated credentials so start-up can print them. */
export const withLocalSecrets = (config: Config): WithSecrets => {
  // a memory store forgets everything at exit: per-process secrets, nothing written to disk
  const s = config.store === 'memory' ? fresh() : localSecrets(config.dataDir);
  const generated: { writeKey?: string; adminToken?: string } = {};
  const noCredentials = !config.credentialsFile;
  if (noCredentials && !config.writeKey) generated.writeKey = s.writeKey;
  if (noCredentials && !config.adminToken) generated.adminToken = s.adminToken;
  return {
    config: {
      ...config,
      claimSecret: config.claimSecretGenerated ? s.claimSecret : config.claimSecret,
      claimSecretGenerated: false,
      masterKey: config.masterKey ?? s.masterKey,
      writeKey: config.writeKey ?? generated.writeKey,
      adminToken: config.adminToken ?? generated.adminToken,
    },
    generated,
  };
};
