import { afterEach, describe, expect, it } from 'vitest';
import { closeHarnesses, makeHarness, type Harness } from '../../support/harness.js';
import { linkEmailUnderV1 } from '../../support/v1-claims.js';
import { accepted, asView, domainError, TENANT, view360 } from './ingest-support.js';

// Claims made before normalization version 2 (NFKC, zero-width characters removed from emails and
// phones) carry keys today's normalization no longer computes. The re-key migration moves them, so
// existing customers still match.

const FULLWIDTH = 'ａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ';
const ZERO_WIDTH = 'gr\u200Bace@example.com';

const linkUnderV1 = (h: Harness, customerId: string, v1Value: string) => linkEmailUnderV1(h.core, TENANT, customerId, v1Value);

const identify = (messageId: string, over: Record<string, unknown>) => ({ type: 'identify', messageId, ...over });

describe.each(['memory', 'sqlite'] as const)('re-keying claims made under normalization version 1 (on %s)', (store) => {
  afterEach(closeHarnesses);

  it('lets an existing customer be found and matched again by the values it was linked with', async () => {
    const h = makeHarness({}, { store });
    const x = accepted(await h.core.ingest.ingest(TENANT, h.web, identify('m-1', { userId: 'u-1' })));
    await linkUnderV1(h, x.customerId, FULLWIDTH.toLowerCase());
    await linkUnderV1(h, x.customerId, ZERO_WIDTH);
    // what goes wrong without the migration: today's keys are claimed by nobody
    expect((await domainError(h.core.queries.findByIdentifier(TENANT, 'email', FULLWIDTH))).code).toBe('CUSTOMER_NOT_FOUND');

    h.clock.advance(60_000);
    const report = await h.core.rekeyClaims.run(TENANT);
    expect(report).toMatchObject({ normalizationVersion: 2, rekeyed: 2, collisions: 0, invalid: 0 });

    for (const [type, value] of [
      ['email', FULLWIDTH],
      ['email', 'ada@example.com'],
      ['email', ZERO_WIDTH],
      ['email', 'Grace@Example.com'],
    ] as const) {
      expect(asView(await h.core.queries.findByIdentifier(TENANT, type, value)).customerId, `${type} ${value}`).toBe(x.customerId);
    }
    const v = await view360(h, x.customerId);
    expect(v.identifiers.map((i) => [i.type, i.value])).toEqual([
      ['email', 'ada@example.com'],
      ['email', 'grace@example.com'],
      ['user_id', 'u-1'],
    ]);
    // a new call spelling the email either way joins the customer instead of starting another
    const again = accepted(await h.core.ingest.ingest(TENANT, h.web, identify('m-2', { anonymousId: 'a-2', traits: { email: FULLWIDTH } })));
    expect(again).toMatchObject({ customerId: x.customerId, created: false, rejected: [] });
    // and the cluster holds two emails, not an old and a new key of each
    const state = await h.core.repo.load(TENANT, x.customerId);
    expect([...state.identifiers.values()].map((i) => i.type).sort()).toEqual(['anonymous_id', 'email', 'email', 'user_id']);
  });

  it('changes nothing when run again, and leaves claims that need no new key alone', async () => {
    const h = makeHarness({}, { store });
    const x = accepted(await h.core.ingest.ingest(TENANT, h.web, identify('m-1', { userId: 'u-1', traits: { email: 'grace@example.com' } })));
    await linkUnderV1(h, x.customerId, FULLWIDTH.toLowerCase());
    expect(await h.core.rekeyClaims.run(TENANT)).toMatchObject({ scanned: 3, rekeyed: 1 });
    const [log, views] = [JSON.stringify(h.ports.store.dump()), JSON.stringify(await h.ports.readModels.get(TENANT, x.customerId))];
    expect(await h.core.rekeyClaims.run(TENANT)).toMatchObject({ rekeyed: 0, collisions: 0 });
    expect(JSON.stringify(h.ports.store.dump())).toBe(log);
    expect(JSON.stringify(await h.ports.readModels.get(TENANT, x.customerId))).toBe(views);
  });

  it('leaves both customers as they are when the new key is already someone else’s, and says so', async () => {
    const h = makeHarness({}, { store });
    const x = accepted(await h.core.ingest.ingest(TENANT, h.web, identify('m-1', { userId: 'u-1' })));
    await linkUnderV1(h, x.customerId, FULLWIDTH.toLowerCase());
    const y = accepted(await h.core.ingest.ingest(TENANT, h.web, identify('m-2', { userId: 'u-2', traits: { email: 'ada@example.com' } })));
    expect(await h.core.rekeyClaims.run(TENANT)).toMatchObject({ rekeyed: 0, collisions: 1 });
    expect(asView(await h.core.queries.findByIdentifier(TENANT, 'email', FULLWIDTH)).customerId).toBe(y.customerId);
    expect((await view360(h, x.customerId)).identifiers.map((i) => i.type)).toEqual(['email', 'user_id']);
  });
});
