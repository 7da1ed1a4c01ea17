import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/infrastructure/config.js';
import { sourceFor } from '../../src/infrastructure/container.js';
import { withLocalSecrets } from '../../src/infrastructure/local/secrets.js';
import { serve } from '../../src/infrastructure/server.js';
import { MAIN, baseEnv } from '../support/main-process.js';

// Start-up refuses credentials that would silently land in a tenant nobody named: a write key or
// admin token from the environment beside a credentials file. In credentials-file mode nothing
// inert is generated into secrets.json, and the banner names the file's tenants.

let root: string;
let credentialsFile: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'c360-startup-'));
  credentialsFile = join(root, 'credentials.json');
  await writeFile(
    credentialsFile,
    JSON.stringify({
      credentials: [
        { id: 'acme-web', tenant: 'acme', kind: 'writeKey', secret: 'acme-write-key-0123456789', scopes: ['ingest'] },
        { id: 'globex-ops', tenant: 'globex', kind: 'token', secret: 'globex-token-0123456789abcdef', scopes: ['read'] },
        { id: 'acme-ops', tenant: 'acme', kind: 'token', secret: 'acme-token-0123456789abcdefgh', scopes: ['admin'] },
      ],
    }),
  );
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const WRITE_KEY = 'env-write-key-0123456789';
const ADMIN_TOKEN = 'env-admin-token-0123456789abcdef';

describe('conflicting credentials configuration', () => {
  it.each([
    ['C360_WRITE_KEY', WRITE_KEY],
    ['C360_ADMIN_TOKEN', ADMIN_TOKEN],
  ])('%s beside C360_CREDENTIALS_FILE is refused, naming both variables', (variable, value) => {
    const attempt = () => loadConfig({ C360_CREDENTIALS_FILE: credentialsFile, [variable]: value });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(new RegExp(`^${variable}: set together with C360_CREDENTIALS_FILE`));
    expect(attempt).toThrow(/tenant "demo" \(C360_TENANT\)/);
  });

  it('each alone is accepted', () => {
    expect(loadConfig({ C360_CREDENTIALS_FILE: credentialsFile }).credentialsFile).toBe(credentialsFile);
    expect(loadConfig({ C360_WRITE_KEY: WRITE_KEY, C360_ADMIN_TOKEN: ADMIN_TOKEN }).writeKey).toBe(WRITE_KEY);
  });

  it('npm start exits 1 with the message, before opening anything', async () => {
    const dataDir = join(root, 'refused');
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: { ...baseEnv(), C360_DATA_DIR: dataDir, C360_CREDENTIALS_FILE: credentialsFile, C360_WRITE_KEY: WRITE_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^configuration error: C360_WRITE_KEY: set together with C360_CREDENTIALS_FILE/m);
    await expect(readFile(join(dataDir, 'secrets.json'))).rejects.toThrow(/ENOENT/);
  }, 60_000);
});

describe('credentials-file mode', () => {
  it('generates no write key or admin token into secrets.json; single-tenant mode later adds them once', async () => {
    const dataDir = join(root, 'secrets');
    const { config, generated } = withLocalSecrets(loadConfig({ C360_CREDENTIALS_FILE: credentialsFile, C360_DATA_DIR: dataDir }));
    expect(generated).toEqual({});
    expect(config.writeKey).toBeUndefined();
    expect(config.adminToken).toBeUndefined();
    const saved = JSON.parse(await readFile(join(dataDir, 'secrets.json'), 'utf8')) as Record<string, string>;
    expect(Object.keys(saved).sort()).toEqual(['claimSecret', 'masterKey', 'sessionKey']);
    expect(config.consoleSessionKey).toBe(saved.sessionKey);

    // the same data dir without the file: the credentials it now needs are generated, kept, and the data's secrets unchanged
    const single = withLocalSecrets(loadConfig({ C360_DATA_DIR: dataDir }));
    expect(single.generated.writeKey).toMatch(/^wk_/);
    expect(single.generated.adminToken).toMatch(/^adm_/);
    const after = JSON.parse(await readFile(join(dataDir, 'secrets.json'), 'utf8')) as Record<string, string>;
    expect(after).toEqual({ ...saved, writeKey: single.generated.writeKey, adminToken: single.generated.adminToken });
    expect(withLocalSecrets(loadConfig({ C360_DATA_DIR: dataDir })).generated).toEqual(single.generated);
  });

  it('a secrets file from before the console gets a console session key added, the rest kept', async () => {
    const dataDir = join(root, 'pre-console');
    withLocalSecrets(loadConfig({ C360_CREDENTIALS_FILE: credentialsFile, C360_DATA_DIR: dataDir }));
    const file = join(dataDir, 'secrets.json');
    const { sessionKey: _, ...old } = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
    await writeFile(file, JSON.stringify(old));
    const { config } = withLocalSecrets(loadConfig({ C360_CREDENTIALS_FILE: credentialsFile, C360_DATA_DIR: dataDir }));
    const now = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
    expect(now).toEqual({ ...old, sessionKey: expect.stringMatching(/^[\w-]{43}$/) });
    expect(config.consoleSessionKey).toBe(now.sessionKey);
    // the environment's key wins over the file's (on AWS it comes from the secret store)
    const fromEnv = 'e'.repeat(40);
    expect(
      withLocalSecrets(loadConfig({ C360_CREDENTIALS_FILE: credentialsFile, C360_DATA_DIR: dataDir, C360_CONSOLE_SESSION_KEY: fromEnv })).config
        .consoleSessionKey,
    ).toBe(fromEnv);
  });

  it('an environment write key is not generated nor stored; the admin token is', async () => {
    const dataDir = join(root, 'env-key');
    const { generated } = withLocalSecrets(loadConfig({ C360_DATA_DIR: dataDir, C360_WRITE_KEY: WRITE_KEY }));
    expect(generated.writeKey).toBeUndefined();
    const saved = JSON.parse(await readFile(join(dataDir, 'secrets.json'), 'utf8')) as Record<string, string>;
    expect(Object.keys(saved).sort()).toEqual(['adminToken', 'claimSecret', 'masterKey', 'sessionKey']);
    expect(saved.adminToken).toBe(generated.adminToken);
  });

  it("the start-up banner lists the file's tenants and prints no generated credential", async () => {
    const lines: string[] = [];
    const running = await serve(loadConfig({ C360_STORE: 'memory', PORT: '0', C360_CREDENTIALS_FILE: credentialsFile }), (l) => lines.push(l));
    try {
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`(tenants "acme", "globex" from ${credentialsFile}, store memory`);
      expect(lines[0]).not.toContain('tenant "demo"');
      expect(lines[0]).toContain(`; console ${running.url}/console)`);
      // the file's credentials are the ones that work
      const res = await fetch(`${running.url}/v1/customers?identifier=email:nobody@example.com`, {
        headers: { authorization: 'Bearer globex-token-0123456789abcdef' },
      });
      expect(res.status).toBe(404);
    } finally {
      await running.close();
    }
  });
});

describe('C360_SCORE_CURRENCY', () => {
  it('is a code of the ISO 4217 table in any case, upper-cased as ingest takes it; another is refused at start-up', () => {
    expect(loadConfig({ C360_STORE: 'memory', C360_SCORE_CURRENCY: 'eur' }).scoreCurrency).toBe('EUR');
    expect(loadConfig({ C360_STORE: 'memory', C360_SCORE_CURRENCY: ' jpy ' }).scoreCurrency).toBe('JPY');
    expect(loadConfig({ C360_STORE: 'memory' }).scoreCurrency).toBe('USD');
    for (const code of ['XYZ', 'EURO', 'US'])
      expect(() => loadConfig({ C360_STORE: 'memory', C360_SCORE_CURRENCY: code }), code).toThrow(/C360_SCORE_CURRENCY: an ISO 4217 currency code such as USD/);
  });
});

describe('C360_SOURCES', () => {
  it("records `c360 import`'s default source (import) on the other channel at priority 0, not as web visits; C360_SOURCES may say otherwise", () => {
    const defaults = loadConfig({ C360_STORE: 'memory' });
    expect(sourceFor(defaults, 'import')).toEqual({ name: 'import', priority: 0, channel: 'other' });
    expect(sourceFor(defaults, 'crm')).toEqual({ name: 'crm', priority: 50, channel: 'crm' });
    expect(sourceFor(defaults, 'partner')).toEqual({ name: 'partner', priority: 0, channel: 'web' });
    const told = loadConfig({ C360_STORE: 'memory', C360_SOURCES: '{"import": {"priority": 40, "channel": "crm"}}' });
    expect(sourceFor(told, 'import')).toEqual({ name: 'import', priority: 40, channel: 'crm' });
  });
});
