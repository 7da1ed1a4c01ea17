import { describe, expect, it } from 'vitest';
import { memoryCliRig } from '../support/cli-runner.js';
import { linkEmailUnderV1 } from '../support/v1-claims.js';

// `c360 rekey-claims` on an in-memory App configured as the bin configures it.

const TENANT = 'acme';
const rig = memoryCliRig(TENANT);
const { c360 } = rig;

describe('c360 rekey-claims', () => {
  it('re-keys claims made under normalization v1, so the customer is found by its email again, and says what it did', async () => {
    const out = await rig.app.core.ingest.ingest(TENANT, rig.app.sourceOf(TENANT, 'web'), { type: 'identify', messageId: 'm-1', userId: 'u-1' });
    if (out.status !== 'accepted') throw new Error(JSON.stringify(out));
    await linkEmailUnderV1(rig.app.core, TENANT, out.customerId, 'ａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ');

    const r = await c360('rekey-claims', '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.json()).toMatchObject({ tenant: TENANT, normalizationVersion: 2, rekeyed: 1, collisions: 0 });
    const found = await rig.app.core.queries.findByIdentifier(TENANT, 'email', 'ada@example.com');
    expect(found).toMatchObject({ kind: 'view', customer: { customerId: out.customerId } });

    const again = await c360('rekey-claims');
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/re-keyed 0 of 3 linked identifiers of tenant "acme" to normalization v2/);
  });
});
