import { afterAll, describe, expect, it } from 'vitest';
import { MatchModel } from '../../../src/domain/matching/match-model.js';
import { closeHarnesses, type Harness, makeHarness } from '../../support/harness.js';

// Term frequency and corroboration on the real core (memory and SQLite), under a model set in
// configuration whose email and phone levels alone would reach the review threshold, as a model
// fitted on a tenant without look-alike role mailboxes does: one field alone never suggests a
// pair, and a value many records hold weighs less the more hold it.

const TENANT = 'acme';
const level = (m: number, u: number) => ({ m, u });
const named = (levels: readonly string[], mu: readonly (readonly [number, number])[]) => levels.map((l, i) => ({ level: l, ...level(...mu[i]!) }));
const model = MatchModel.parse({
  version: 'tf-test-1',
  prior: 0.01,
  fields: {
    givenName: named(
      ['exact', 'jaro_winkler_0.92', 'jaro_winkler_0.80', 'initial', 'else'],
      [
        [0.8, 0.01],
        [0.1, 0.005],
        [0.04, 0.02],
        [0.03, 0.02],
        [0.03, 0.945],
      ],
    ),
    surname: named(
      ['exact', 'jaro_winkler_0.92', 'jaro_winkler_0.80', 'else'],
      [
        [0.85, 0.005],
        [0.08, 0.003],
        [0.03, 0.02],
        [0.04, 0.972],
      ],
    ),
    email: named(
      ['exact', 'local_part_close_same_domain', 'same_local_part', 'else'],
      [
        [0.5, 0.0001],
        [0.1, 0.00005],
        [0.15, 0.0001],
        [0.25, 0.99975],
      ],
    ),
    phone: named(
      ['exact', 'same_last_6_digits', 'else'],
      [
        [0.6, 0.0001],
        [0.2, 0.0001],
        [0.2, 0.9998],
      ],
    ),
  },
  reviewThreshold: 0.9,
  autoMergeThreshold: 0.9999,
});

let message = 0;
const identify = async (h: Harness, who: { userId: string } | { anonymousId: string }, traits: Record<string, unknown>): Promise<string> => {
  const out = await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: `tf-${++message}`, ...who, traits });
  if (out.status !== 'accepted') throw new Error(JSON.stringify(out));
  return out.customerId;
};
const matches = async (h: Harness, id: string) => (await h.core.matching.matchesOf(TENANT, id)).suggestions;

afterAll(closeHarnesses);

describe.each(['memory', 'sqlite'] as const)('term frequency and corroboration (on %s)', (store) => {
  it('one field alone suggests no pair: three businesses sharing info@, two lines sharing their last six digits', async () => {
    const h = makeHarness({}, { store, matching: { model } });
    const g1 = await identify(h, { userId: 'g1' }, { email: 'info@acme-shop.test', firstName: 'Paul', lastName: 'Green' });
    const g2 = await identify(h, { userId: 'g2' }, { email: 'info@bakery.test', firstName: 'Rita', lastName: 'Moreno' });
    const g3 = await identify(h, { userId: 'g3' }, { email: 'info@plumber.test' });
    const ny1 = await identify(h, { userId: 'ny1' }, { phone: '+1 646 555 0142' });
    const ny2 = await identify(h, { userId: 'ny2' }, { phone: '+1 917 555 0142' });
    for (const id of [g1, g2, g3, ny1, ny2]) expect(await matches(h, id), id).toEqual([]);
    const listed = await h.core.matching.scan(TENANT);
    expect(listed.suggestions).toEqual([]);
    expect((await h.core.matching.queue(TENANT, { limit: 10 })).suggestions).toEqual([]);
  });

  it('lists the fields both customers hold that the model does not know as not scored', async () => {
    const h = makeHarness({}, { store, matching: { model } });
    const jo = { firstName: 'jonathan', lastName: 'hale' };
    const a = await identify(h, { userId: 'jo-1' }, { ...jo, birthday: '1980-05-12', address: { postalCode: 'SW1A 1AA' }, email: 'jon.hale@one.example' });
    const b = await identify(h, { anonymousId: 'jo-2' }, { ...jo, birthday: '1980-12-05', address: { postalCode: 'SW1A1AA' }, email: 'jon.hale@two.example' });
    const [s, ...rest] = await matches(h, a);
    expect(rest).toEqual([]);
    expect(s!.customerIds).toEqual([a, b].sort());
    expect(s!.score.fields.map((f) => f.field)).toEqual(['givenName', 'surname', 'email']);
    expect(s!.score.notScored).toEqual(['dateOfBirth', 'postcode']);
  });

  it('a value more records hold weighs less: log2(holders / 2) off the level, and a weak pair drops below the review threshold', async () => {
    const h = makeHarness({}, { store, matching: { model } });
    const jack = { firstName: 'jack', lastName: 'moreau' };
    const a = await identify(h, { userId: 'a' }, { ...jack, email: 'jack.3@mail.example' });
    const b = await identify(h, { anonymousId: 'b' }, { ...jack, email: 'jack.3@other.example' });
    // an initial and the same local part: just above the review threshold
    const c = await identify(h, { userId: 'c' }, { firstName: 'q', email: 'qsales@one.example' });
    const d = await identify(h, { anonymousId: 'd' }, { firstName: 'quentin', email: 'qsales@two.example' });
    const [ab] = await matches(h, a);
    const [cd] = await matches(h, c);
    expect(ab?.customerIds).toEqual([a, b].sort());
    expect(cd?.customerIds).toEqual([c, d].sort());
    const emailOf = (s: typeof ab) => s!.score.fields.find((f) => f.field === 'email')!;
    expect(emailOf(ab)).toEqual({ field: 'email', level: 'same_local_part', weight: Math.log2(0.15 / 0.0001) });
    expect(cd!.score.probability).toBeGreaterThanOrEqual(0.9);

    // six other people hold jack.3 (eight in all), four others hold qsales (six in all)
    const people = [
      ['olivia', 'hartley'],
      ['noah', 'okafor'],
      ['isla', 'tanaka'],
      ['mia', 'brennan'],
      ['ruby', 'castillo'],
      ['oscar', 'novak'],
    ] as const;
    for (const [j, [firstName, lastName]] of people.entries())
      await identify(h, { userId: `jack-${j}` }, { firstName, lastName, email: `jack.3@d${j}.example` });
    for (const [j, [firstName, lastName]] of [
      ['leo', 'haddad'],
      ['grace', 'whitlock'],
      ['henry', 'ferreira'],
      ['chloe', 'osei'],
    ].entries())
      await identify(h, { userId: `q-${j}` }, { firstName, lastName, email: `qsales@e${j}.example` });

    const [again, ...others] = await matches(h, a);
    expect(others).toEqual([]);
    expect(emailOf(again)).toEqual({ field: 'email', level: 'same_local_part', weight: Math.log2(0.15 / 0.0001) - Math.log2(8 / 2), holders: 8 });
    expect(again!.score.weight).toBeCloseTo(ab!.score.weight - 2, 9);
    expect(again!.score.probability).toBeCloseTo(1 / (1 + 2 ** -again!.score.weight), 12);
    // the same answer from the other side, from the listing and from the queue
    expect(await matches(h, b)).toEqual([again]);
    expect((await h.core.matching.scan(TENANT)).suggestions).toEqual([again]);
    expect((await h.core.matching.queue(TENANT, { limit: 10 })).suggestions).toEqual([again]);
    // qsales now weighs log2(3) less: the pair is below the review threshold, and accept refuses it
    expect(await matches(h, c)).toEqual([]);
    await expect(h.core.matching.accept(TENANT, c, d, { actor: 'reviewer' })).rejects.toMatchObject({ code: 'MATCH_NOT_SUGGESTED' });
  });
});
