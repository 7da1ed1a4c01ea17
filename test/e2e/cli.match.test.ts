import { describe, expect, it } from 'vitest';
import { matchBookNamespace } from '../../src/application/ports/read-model.port.js';
import { memoryCliRig } from '../support/cli-runner.js';
import { generatePeople } from '../support/linkage-generator.js';
import { listAllViews } from '../support/paging.js';

// `c360 match` in-process on an in-memory App: generated people (with corrupted duplicates) come
// in as Segment identify calls, one user id per record. Exact resolution cannot join them (one user
// id per customer is the limit, so even a shared email stays apart); the stored match book suggests
// them, and `c360 match` lists what it suggests: the pairs GET .../matches answers and accept takes.

const TENANT = 'acme';
const rig = memoryCliRig(TENANT);
const { c360 } = rig;

describe('c360 match', () => {
  it('suggests the duplicates exact identifiers could not link, each a true pair, with field weights, and merges nothing', async () => {
    const people = generatePeople({ seed: 7, people: 150 });
    const entityOfUser = new Map<string, string>();
    for (const [i, { entity, record: r }] of people.entries()) {
      const userId = `u-${i}`;
      entityOfUser.set(userId, entity);
      const traits = {
        ...(r.givenName && { firstName: r.givenName }),
        ...(r.surname && { lastName: r.surname }),
        ...(r.dateOfBirth && { birthday: r.dateOfBirth }),
        ...(r.email && { email: r.email }),
        address: { ...(r.street && { street: r.street }), ...(r.postcode && { postalCode: r.postcode }), ...(r.city && { city: r.city }) },
      };
      const out = await rig.app.core.ingest.ingest(TENANT, rig.app.sourceOf(TENANT, 'crm'), { type: 'identify', messageId: `m-${i}`, userId, traits });
      expect(out.status).not.toBe('quarantined');
    }
    const before = await listAllViews(rig.app.core.ports.readModels, TENANT, 500);
    const entityOf = new Map(
      before.flatMap((d) => (d.kind === 'view' ? [[d.customerId, Object.values(d.view.identifiers).find((f) => f.type === 'user_id')?.value] as const] : [])),
    );

    const r = await c360('match', '--json', '--limit', '1000');
    expect(r.code, r.err).toBe(0);
    const result = r.json();
    expect(result.customers).toBe(entityOf.size);
    expect(result.suggestions).toBeGreaterThan(5);
    for (const s of result.shown) {
      const [a, b] = s.customerIds.map((id: string) => entityOfUser.get(entityOf.get(id)!));
      expect(a, JSON.stringify(s)).toBe(b);
      expect(s.probability).toBeGreaterThanOrEqual(0.9);
      expect(s.fields.length).toBeGreaterThan(0);
      expect(s.fields.reduce((w: number, f: { weight: number }) => w + f.weight, 0)).toBeGreaterThan(0);
    }
    // read-only: the same views, nothing merged
    expect(await listAllViews(rig.app.core.ports.readModels, TENANT, 500)).toEqual(before);

    const human = await c360('match', '--limit', '2');
    expect(human.out).toMatch(
      new RegExp(`tenant "acme": ${result.customers} customers, [\\d,]+ candidate pairs after blocking, ${result.suggestions} suggestions`),
    );
    expect(human.out).toMatch(/ ~ .* p=(0\.9\d+|1\.0000) {2}(review|auto_merge) {2}\[.*surname (exact|jaro_winkler)/);
  });

  it('`match reject` records that a suggested pair is two people, and `match accept` refuses it afterwards', async () => {
    const traits = { firstName: 'Wren', lastName: 'Achterberg', birthday: '1988-11-02', address: { street: '4 quay lane', postalCode: '9021', city: 'Hull' } };
    const core = rig.app.core;
    const send = async (who: Record<string, string>, extra: Record<string, unknown>) => {
      const out = await core.ingest.ingest(TENANT, rig.app.sourceOf(TENANT, 'crm'), {
        type: 'identify',
        messageId: `rej-${JSON.stringify(who)}`,
        ...who,
        traits: { ...traits, ...extra },
      });
      if (out.status !== 'accepted') throw new Error(JSON.stringify(out));
      return out.customerId;
    };
    // a population for the tenant's model to be fitted on: a model of two records knows nothing
    for (const [i, { record: r }] of generatePeople({ seed: 3, people: 40 }).entries())
      await send({ userId: `bg-${i}` }, { firstName: r.givenName, lastName: r.surname, birthday: r.dateOfBirth, email: r.email, address: { city: r.city } });
    const a = await send({ userId: 'wren-1' }, { email: 'wren.a@mail.example' });
    const b = await send({ anonymousId: 'wren-anon' }, { firstName: 'Wern', email: 'wren.a@other.example' });
    expect((await core.matching.matchesOf(TENANT, a)).suggestions.map((s) => s.customerIds)).toEqual([[a, b].sort()]);

    const r = await c360('match', 'reject', a, b, '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.json()).toEqual({ tenant: TENANT, rejected: [a, b] });
    expect((await core.matching.matchesOf(TENANT, a)).suggestions).toEqual([]);
    const human = await c360('match', 'accept', b, a);
    expect(human.code).not.toBe(0);
    expect(human.err).toMatch(/MATCH_NOT_SUGGESTED|not a suggested match/);
  });

  it('lists the pairs the stored match book suggests, so each listed pair is accepted; a repeated accept says the two are already one customer', async () => {
    // the demo data set, then two look-alikes the seed's people are unlike (as a new user tries it)
    const seeded = await c360('seed', '--customers', '200');
    expect(seeded.code, seeded.err).toBe(0);
    const core = rig.app.core;
    const who = { firstName: 'Patricia', lastName: 'Quenneville', birthday: '1984-03-07' };
    const p = await core.ingest.ingest(TENANT, rig.app.sourceOf(TENANT, 'crm'), {
      type: 'identify',
      messageId: 'pq-1',
      userId: 'pat-p',
      traits: { ...who, email: 'pat.q@mail.example', phone: '+1 415 555 0101' },
    });
    const q = await core.ingest.ingest(TENANT, rig.app.sourceOf(TENANT, 'crm'), {
      type: 'identify',
      messageId: 'pq-2',
      anonymousId: 'pat-q',
      traits: { ...who, email: 'pat.q@other.example', phone: '+1 415 555 0102' },
    });
    if (p.status !== 'accepted' || q.status !== 'accepted') throw new Error(JSON.stringify([p, q]));
    const pair = [p.customerId, q.customerId].sort();

    const r = await c360('match', '--json', '--limit', '1000');
    expect(r.code, r.err).toBe(0);
    const listed = r.json();
    const { model } = await core.matching.matchesOf(TENANT, p.customerId);
    expect(listed.modelVersion).toBe(model.version);
    expect(listed.shown.length).toBe(listed.suggestions);
    expect(listed.shown.map((s: { customerIds: string[] }) => s.customerIds)).toContainEqual(pair);
    // each pair listed is the one the book answers for both customers, with the same score
    for (const s of listed.shown)
      for (const id of s.customerIds) {
        const stored = (await core.matching.matchesOf(TENANT, id)).suggestions.find((x) => x.customerIds.join() === s.customerIds.join());
        expect(stored, `${s.customerIds} from ${id}`).toBeDefined();
        expect({ verdict: s.verdict, probability: s.probability }).toEqual({ verdict: stored!.verdict, probability: stored!.score.probability });
      }
    const human = await c360('match', '--limit', '1');
    expect(human.out).toContain(`(match book, model ${model.version})`);

    const accepted = await c360('match', 'accept', p.customerId, q.customerId, '--json');
    expect(accepted.code, accepted.err).toBe(0);
    expect(accepted.json()).toMatchObject({ survivorId: expect.any(String), absorbedId: expect.any(String) });
    expect((await c360('match', '--json', '--limit', '1000')).json().shown.map((s: { customerIds: string[] }) => s.customerIds)).not.toContainEqual(pair);
    const again = await c360('match', 'accept', p.customerId, q.customerId);
    expect(again.code).toBe(1);
    expect(again.err).toContain('MERGE_SAME_CUSTOMER');
    expect(again.err).toContain(`already one customer (${accepted.json().survivorId})`);
  }, 60_000);

  it('accept past an identity limit (two user ids) names --force, and with --force merges the pair, recorded as forced', async () => {
    const seeded = await c360('seed', '--customers', '200');
    expect(seeded.code, seeded.err).toBe(0);
    const core = rig.app.core;
    const who = { firstName: 'Zara', lastName: 'Quennell', birthday: '1981-05-09' };
    const ids: string[] = [];
    for (const [n, email] of [
      [1, 'zara.q@mail.example'],
      [2, 'zara.q@other.example'],
    ] as const) {
      const out = await core.ingest.ingest(TENANT, rig.app.sourceOf(TENANT, 'crm'), {
        type: 'identify',
        messageId: `zq-${n}`,
        userId: `zq-${n}`,
        traits: { ...who, email },
      });
      if (out.status !== 'accepted') throw new Error(JSON.stringify(out));
      ids.push(out.customerId);
    }
    const [a, b] = ids as [string, string];
    expect((await core.matching.matchesOf(TENANT, a)).suggestions.map((s) => s.customerIds.join())).toContain([a, b].sort().join());
    const refused = await c360('match', 'accept', a, b);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('IDENTIFIER_LIMIT_EXCEEDED');
    expect(refused.err).toMatch(/user_id limit 1 would be exceeded \(2\); run it again with --force/);
    expect(refused.err).not.toContain('pass force');
    const forced = await c360('match', 'accept', a, b, '--force', '--json');
    expect(forced.code, forced.err).toBe(0);
    const explained = await core.queries.explain(TENANT, forced.json().survivorId);
    expect(JSON.stringify(explained)).toContain('"forced":true');
  }, 60_000);

  it('a tenant without a match book lists nothing and says so, writing nothing', async () => {
    const r = await c360('match', '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.json()).toEqual({ tenant: TENANT, customers: 0, candidatePairs: 0, suggestions: 0, shown: [] });
    expect((await c360('match')).out).toContain('no match book yet');
    expect(await listAllViews(rig.app.core.ports.readModels, matchBookNamespace(TENANT), 500)).toEqual([]);
  });

  it('refuses --seed, which it no longer takes (the book fits the model), as a usage error naming the option', async () => {
    const r = await c360('match', '--seed', '19');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--seed/);
  });
});
