import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Config } from '../config.js';

// The embedded default needs no setup: secrets that the environment does not give are generated
// once into <data dir>/secrets.json (mode 0600) and reused, so data written by one run stays
// readable (claim keys, wrapped data keys) and the printed credentials keep working. A write key or
// admin token is generated only when it will be used: never with C360_CREDENTIALS_FILE (the file
// names every credential), never when the environment gives it.

const Secrets = z.object({
  claimSecret: z.string().min(32),
  masterKey: z.string().min(43),
  writeKey: z.string().min(16).optional(),
  adminToken: z.string().min(24).optional(),
  /** seals the console's session cookie; files written before the console get one added */
  sessionKey: z.string().min(32).optional(),
});
export type LocalSecrets = z.infer<typeof Secrets>;

/** Which generated credentials the process will use. */
export type Needs = { readonly writeKey: boolean; readonly adminToken: boolean };

const generate = {
  writeKey: () => `wk_${randomBytes(18).toString('base64url')}`,
  adminToken: () => `adm_${randomBytes(24).toString('base64url')}`,
};

const fresh = (needs: Needs): LocalSecrets => ({
  claimSecret: randomBytes(32).toString('base64url'),
  masterKey: randomBytes(32).toString('base64'),
  sessionKey: randomBytes(32).toString('base64url'),
  ...(needs.writeKey ? { writeKey: generate.writeKey() } : {}),
  ...(needs.adminToken ? { adminToken: generate.adminToken() } : {}),
});

const save = (file: string, secrets: LocalSecrets): void => {
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
};

export const localSecrets = (dataDir: string, needs: Needs): LocalSecrets => {
  const file = join(dataDir, 'secrets.json');
  if (existsSync(file)) {
    const parsed = Secrets.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success)
      throw new Error(
        `${file} is damaged (${parsed.error.issues[0]?.message}); move it away to start afresh (the data under ${dataDir} will then be unreadable)`,
      );
    // a credential needed now and not before (C360_CREDENTIALS_FILE or C360_WRITE_KEY unset since): made once, kept
    const missing = (['writeKey', 'adminToken'] as const).filter((k) => needs[k] && parsed.data[k] === undefined);
    if (missing.length === 0 && parsed.data.sessionKey !== undefined) return parsed.data;
    const completed: LocalSecrets = { sessionKey: randomBytes(32).toString('base64url'), ...parsed.data };
    for (const k of missing) completed[k] = generate[k]();
    save(file, completed);
    return completed;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secrets = fresh(needs);
  save(file, secrets);
  return secrets;
};

export type WithSecrets = { readonly config: Config; readonly generated: { readonly writeKey?: string; readonly adminToken?: string } };

/** Fill what the environment left open; report generated credentials so start-up can print them. */
export const withLocalSecrets = (config: Config): WithSecrets => {
  const noCredentials = !config.credentialsFile;
  const needs: Needs = { writeKey: noCredentials && !config.writeKey, adminToken: noCredentials && !config.adminToken };
  // a memory store forgets everything at exit: per-process secrets, nothing written to disk
  const s = config.store === 'memory' ? fresh(needs) : localSecrets(config.dataDir, needs);
  const generated: { writeKey?: string; adminToken?: string } = {};
  if (needs.writeKey) generated.writeKey = s.writeKey;
  if (needs.adminToken) generated.adminToken = s.adminToken;
  return {
    config: {
      ...config,
      claimSecret: config.claimSecretGenerated ? s.claimSecret : config.claimSecret,
      claimSecretGenerated: false,
      masterKey: config.masterKey ?? s.masterKey,
      consoleSessionKey: config.consoleSessionKey ?? s.sessionKey,
      writeKey: config.writeKey ?? generated.writeKey,
      adminToken: config.adminToken ?? generated.adminToken,
    },
    generated,
  };
};
