import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/infrastructure/app.js';
import { cliConfig } from '../../src/infrastructure/cli.js';
import { withLocalSecrets } from '../../src/infrastructure/local/secrets.js';
import { runCliInProcess } from '../support/cli-runner.js';
import { linkEmailUnderV1 } from '../support/v1-claims.js';

// `c360 rekey-claims` on an in-memory App configured as the bin configures it.

const TENANT = 'acme';
let app: App;
const c360 = (...argv: string[]) => runCliInProcess(argv, { tenant: TENANT, debug: false, open: async () => app });

beforeEach(async () => {
  app = await buildApp(withLocalSecrets(cliConfig({ C360_STORE: 'memory', C360_TENANT: TENANT }, 'job')).config);
});
afterEach(async () => {
  await app.close();
});

describe('c360 rekey-claims', () => {
  it('re-keys claims made under normalization v1, so the customer is found by its email again, and says what it did', async () => {
    const out = await app.core.ingest.ingest(TENANT, app.sourceOf(TENANT, 'web'), { type: 'identify', messageId: 'm-1', userId: 'u-1' });
    if (out.status !== 'accepted') throw new Error(JSON.stringify(out));
    await linkEmailUnderV1(app.core, TENANT, out.customerId, 'ａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ');

    const r = await c360('rekey-claims', '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.json()).toMatchObject({ tenant: TENANT, normalizationVersion: 2, rekeyed: 1, collisions: 0 });
    const found = await app.core.queries.findByIdentifier(TENANT, 'email', 'ada@example.com');
    expect(found).toMatchObject({ kind: 'view', customer: { customerId: out.customerId } });

    const again = await c360('rekey-claims');
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/re-keyed 0 of 3 linked identifiers of tenant "acme" to normalization v2/);
  });
});
