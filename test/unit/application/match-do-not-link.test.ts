import { afterAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../../src/domain/shared/errors.js';
import { closeHarnesses, type Harness, makeHarness } from '../../support/harness.js';
import { matchPerson } from '../../support/match-people.js';

// A pair an unmerge split is marked do-not-link by the identity graph: a merge of it is refused
// DO_NOT_LINK, so no matching surface offers it (one customer's matches, `c360 match`, the review
// queue), and accept says why it is not suggested.

const TENANT = 'acme';
let message = 0;
const identify = async (h: Harness, who: { userId: string } | { anonymousId: string }, traits: Record<string, unknown>): Promise<string> => {
  const out = await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: `dnl-${++message}`, ...who, traits });
  if (out.status !== 'accepted') throw new Error(JSON.stringify(out));
  return out.customerId;
};
const others = (id: string, suggestions: readonly { customerIds: readonly [string, string] }[]) =>
  suggestions.map((s) => (s.customerIds[0] === id ? s.customerIds[1] : s.customerIds[0]));

afterAll(closeHarnesses);

describe.each(['memory', 'sqlite'] as const)('a pair split by an unmerge (on %s)', (store) => {
  it('is not suggested again, and accept says it is marked do-not-link', async () => {
    const h = makeHarness({}, { store });
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) ids.push(await identify(h, { userId: `u-${i}` }, matchPerson(i)));
    const p = matchPerson(3);
    const twin = await identify(h, { anonymousId: 'twin-3' }, { ...p, firstName: 'jakc', email: `${p.firstName}.3@other.example` });
    const one = ids[3]!;
    expect(others(one, (await h.core.matching.matchesOf(TENANT, one)).suggestions)).toEqual([twin]);

    const merged = await h.core.matching.accept(TENANT, one, twin, { actor: 'reviewer' });
    await h.core.identity.unmerge(TENANT, merged.survivorId, merged.mergeId, { actor: 'reviewer' });
    // both are customers again, with the records that made them look alike
    for (const id of [one, twin]) expect((await h.ports.readModels.get(TENANT, id))?.kind).toBe('view');

    expect((await h.core.matching.matchesOf(TENANT, one)).suggestions).toEqual([]);
    expect((await h.core.matching.matchesOf(TENANT, twin)).suggestions).toEqual([]);
    expect((await h.core.matching.scan(TENANT)).suggestions.filter((s) => s.customerIds.includes(one))).toEqual([]);
    expect((await h.core.matching.queue(TENANT, { limit: 50 })).suggestions.filter((s) => s.customerIds.includes(one))).toEqual([]);
    const refused = await h.core.matching.accept(TENANT, one, twin, { actor: 'reviewer' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({ code: 'MATCH_NOT_SUGGESTED', path: ['otherId'] });
    expect((refused as DomainError).message).toContain('do-not-link');
  });
});
