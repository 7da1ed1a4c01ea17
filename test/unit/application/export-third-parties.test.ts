import { afterAll, describe, expect, it } from 'vitest';
import { ANOTHER_CUSTOMER } from '../../../src/application/gdpr/export.use-case.js';
import { closeHarnesses, makeHarness } from '../../support/harness.js';
import { accepted, TENANT } from './ingest-support.js';

// An access export holds the subject's own data (GDPR art. 15(4)): after a merge is undone, the
// two customers are two people again, and neither's export names the other, lists the other's
// members or the claim keys of the other's identifiers, though the merge and its undoing are still
// in both logs.

afterAll(() => closeHarnesses());

describe('the access export after an unmerge', () => {
  it('names the other customer of an undone merge only as another customer, and holds none of their ids or claim keys', async () => {
    const h = makeHarness();
    // one user id each at most: the second is known by an anonymous id
    const a = accepted(
      await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'm-a', userId: 'user-a', traits: { email: 'ada@example.com' } }),
    ).customerId;
    const b = accepted(
      await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: 'm-b', anonymousId: 'anon-b', traits: { email: 'bob@example.com' } }),
    ).customerId;
    const merge = await h.core.identity.merge(TENANT, a, b, { actor: 'ops', reason: 'looked alike' });
    // while merged, one cluster: the export names both
    expect(JSON.stringify(await h.core.export.export(TENANT, a, { actor: 'dpo' }))).toContain(b);
    await h.core.identity.unmerge(TENANT, merge.survivorId, merge.mergeId, { actor: 'ops', reason: 'two people' });

    const survivor = merge.survivorId;
    const other = survivor === a ? b : a;
    const mergedEvent = (await h.ports.store.readStream(TENANT, survivor)).find((e) => e.type === 'CustomerMerged')!;
    const otherKeys = (JSON.parse(JSON.stringify(mergedEvent)) as { data?: { identifiers?: { key: string }[] } }).data?.identifiers?.map((i) => i.key) ?? [];
    // the claim keys of the absorbed customer's identifiers are theirs: in their export, not the survivor's
    for (const [subject, them, theirKeys] of [
      [survivor, other, otherKeys],
      [other, survivor, []],
    ] as const) {
      const text = JSON.stringify(await h.core.export.export(TENANT, subject, { actor: 'dpo' }));
      expect(text, `${subject}'s export names ${them}`).not.toContain(them);
      for (const key of theirKeys) expect(text).not.toContain(key);
      expect(text).toContain(ANOTHER_CUSTOMER);
    }
    expect(otherKeys.length).toBeGreaterThan(0);
    expect(JSON.stringify(await h.core.export.export(TENANT, other, { actor: 'dpo' }))).toContain(otherKeys[0]!);
    // the survivor's log still says a merge happened and was undone, with another customer
    const exp = await h.core.export.export(TENANT, survivor, { actor: 'dpo' });
    const types = exp.events.map((e: { type: string }) => e.type);
    expect(types).toEqual(expect.arrayContaining(['CustomerMerged', 'CustomerUnmerged']));
    const merged = exp.events.find((e: { type: string }) => e.type === 'CustomerMerged') as { data: { absorbedId: string; identifiers: unknown[] } };
    expect(merged.data).toMatchObject({ absorbedId: ANOTHER_CUSTOMER, identifiers: [] });
  });
});
