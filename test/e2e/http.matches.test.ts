import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { syncIntake } from '../../src/application/ingest/intake.js';
import { buildApp } from '../../src/infrastructure/app.js';
import { loadConfig } from '../../src/infrastructure/config.js';
import { makeHarness } from '../support/harness.js';
import { startApi, type Api, type MakeBackend } from '../support/http-fixture.js';
import { matchPerson } from '../support/match-people.js';

// GET /v1/customers/{id}/matches over a real local server on the in-memory core: look-alike
// customers that no exact identifier joins are listed with their score and each field's weight,
// from the stored match book; accept merges one, reject records that the two are two people.

const memoryBackend: MakeBackend = async () => {
  const h = makeHarness();
  return { core: h.core, intake: syncIntake(h.core.ingest), sourceOf: () => h.web, metrics: h.ports.metrics };
};
/** the production wiring on DynamoDB Local: views and the match book kept from DynamoDB Streams */
const dynamoBackend: MakeBackend = async () => {
  const run = randomUUID().slice(0, 8);
  const app = await buildApp(
    loadConfig({
      C360_STORE: 'dynamodb',
      AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
      C360_EVENTS_TABLE: `matches-events-${run}`,
      C360_VIEWS_TABLE: `matches-views-${run}`,
      C360_KEYS_TABLE: `matches-keys-${run}`,
      C360_QUARANTINE_TABLE: `matches-quarantine-${run}`,
      C360_CLAIM_SECRET: randomBytes(32).toString('base64url'),
      C360_MASTER_KEY: randomBytes(32).toString('base64'),
    }),
  );
  await app.startBackground();
  return { core: app.core, intake: app.intake, sourceOf: app.sourceOf, metrics: app.metrics, settle: () => app.drainBackground(), close: () => app.close() };
};

describe.each([
  ['in memory', memoryBackend],
  ['on DynamoDB Local, kept from Streams', dynamoBackend],
] as const)('GET /v1/customers/{id}/matches (%s)', (_name, make) => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi(make);
  }, 120_000);
  afterAll(async () => {
    await api.close();
  });

  const identify = async (who: string | { anonymousId: string }, traits: Record<string, unknown>) => {
    const r = await api.send('identify', { ...(typeof who === 'string' ? { userId: who } : who), traits });
    expect(r.status, r.text).toBe(200);
    await api.settle();
    return r.body.customerId as string;
  };
  const person = (i: number) => matchPerson(i);

  describe('suggestions, accept and reject', () => {
    it('lists a look-alike with a typo in the name and a changed email, with score and field weights, and not the others', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 24; i++) ids.push(await identify(`m-${i}`, person(i)));
      const p = person(3);
      // no user id of its own: the user_id limit of one does not stand between them
      const twin = await identify({ anonymousId: 'anon-twin' }, { ...p, firstName: 'jakc', email: `${p.firstName}.3@other.example` });

      const r = await api.request('GET', `/v1/customers/${ids[3]}/matches`, { token: api.keys.acmeReader });
      expect(r.status, r.text).toBe(200);
      expect(r.body.customerId).toBe(ids[3]);
      expect(r.body.modelVersion).toMatch(/^fitted-seed-/);
      expect(r.body.matches.map((m: { customerId: string }) => m.customerId)).toEqual([twin]);
      const [m] = r.body.matches;
      expect(m.probability).toBeGreaterThanOrEqual(0.9);
      const level = Object.fromEntries(m.fields.map((f: { field: string; level: string }) => [f.field, f.level]));
      expect(level).toMatchObject({ surname: 'exact', dateOfBirth: 'exact', email: 'same_local_part' });
      expect(level.givenName).not.toBe('exact');
      expect(m.probability).toBeCloseTo(1 / (1 + 2 ** -m.weight), 9);

      // the pair is listed from both sides; someone unlike anyone has none
      const back = await api.request('GET', `/v1/customers/${twin}/matches`, { token: api.keys.acmeReader });
      expect(back.body.matches.map((x: { customerId: string }) => x.customerId)).toEqual([ids[3]]);
      const alone = await api.request('GET', `/v1/customers/${ids[10]}/matches`, { token: api.keys.acmeReader });
      expect(alone.body.matches).toEqual([]);

      // accepting a pair that is not suggested is refused, naming the field
      const refused = await api.request('POST', `/v1/customers/${ids[3]}/matches/accept`, { token: api.keys.acmeAdmin, json: { otherId: ids[10] } });
      expect(refused.status, refused.text).toBe(409);
      expect(refused.body.error).toMatchObject({ code: 'MATCH_NOT_SUGGESTED', issues: [{ path: 'otherId' }] });

      // accepting the suggestion merges the two, with the score in the merge's evidence
      const accepted = await api.request('POST', `/v1/customers/${ids[3]}/matches/accept`, {
        token: api.keys.acmeAdmin,
        json: { otherId: twin, operationId: 'op-accept-twin' },
      });
      expect(accepted.status, accepted.text).toBe(200);
      expect(accepted.body.duplicate).toBe(false);
      await api.settle();
      // accepting it again says the two are already one customer, as a second merge does; a retry
      // with the same operationId answers the merge it made
      const again = await api.request('POST', `/v1/customers/${ids[3]}/matches/accept`, { token: api.keys.acmeAdmin, json: { otherId: twin } });
      expect(again.status, again.text).toBe(409);
      expect(again.body.error).toMatchObject({ code: 'MERGE_SAME_CUSTOMER', issues: [{ path: 'otherId' }] });
      expect(again.body.error.message).toContain(`already one customer (${accepted.body.survivorId})`);
      const retried = await api.request('POST', `/v1/customers/${ids[3]}/matches/accept`, {
        token: api.keys.acmeAdmin,
        json: { otherId: twin, operationId: 'op-accept-twin' },
      });
      expect(retried.status, retried.text).toBe(200);
      expect(retried.body).toMatchObject({ ...accepted.body, probability: expect.closeTo(m.probability, 6), duplicate: true });
      expect([accepted.body.survivorId, accepted.body.absorbedId].sort()).toEqual([ids[3], twin].sort());
      expect(accepted.body.probability).toBe(m.probability);
      const explained = await api.request('GET', `/v1/customers/${accepted.body.survivorId}/explain`, { token: api.keys.acmeReader });
      expect(JSON.stringify(explained.body)).toMatch(/probabilistic match accepted: p=[01]\.\d+, weight=-?\d+\.\d+, model fitted-seed-19-on-\d+; givenName /);
      const after = await api.request('GET', `/v1/customers/${accepted.body.survivorId}/matches`, { token: api.keys.acmeReader });
      expect(after.body.matches).toEqual([]);
    });

    it('accepting merges like any merge: a look-alike with another user id breaks the limit and is refused', async () => {
      const p = { ...person(40), firstName: 'zara', lastName: 'quennell' };
      const first = await identify('lim-1', p);
      const second = await identify('lim-2', { ...p, email: `zara.q@other.example` });
      const listed = await api.request('GET', `/v1/customers/${first}/matches`, { token: api.keys.acmeReader });
      expect(listed.body.matches.map((m: { customerId: string }) => m.customerId)).toEqual([second]);
      const r = await api.request('POST', `/v1/customers/${first}/matches/accept`, { token: api.keys.acmeAdmin, json: { otherId: second } });
      expect(r.status, r.text).toBe(409);
      expect(r.body.error.code).toBe('IDENTIFIER_LIMIT_EXCEEDED');
      expect((await api.request('GET', `/v1/customers/${second}`, { token: api.keys.acmeReader })).status).toBe(200);
      // the error says to pass force: accept takes it, as a merge does, and records the merge as forced
      expect(r.body.error.message).toContain('pass force');
      const forced = await api.request('POST', `/v1/customers/${first}/matches/accept`, { token: api.keys.acmeAdmin, json: { otherId: second, force: true } });
      expect(forced.status, forced.text).toBe(200);
      await api.settle();
      const explained = await api.request('GET', `/v1/customers/${forced.body.survivorId}/explain`, { token: api.keys.acmeReader });
      expect(JSON.stringify(explained.body)).toMatch(/"forced":true/);
    });

    it('rejecting a suggestion records it: the pair is listed no more from either side, and a second reject is refused naming the field', async () => {
      const p = { ...person(41), firstName: 'ivo', lastName: 'sandoval' };
      const first = await identify('rej-1', p);
      const twin = await identify({ anonymousId: 'anon-rej' }, { ...p, firstName: 'iov', email: 'ivo.41@other.example' });
      const listed = await api.request('GET', `/v1/customers/${twin}/matches`, { token: api.keys.acmeReader });
      expect(listed.body.matches.map((m: { customerId: string }) => m.customerId)).toEqual([first]);

      // a reader may not decide; a body without the other id is refused naming it
      const reader = await api.request('POST', `/v1/customers/${twin}/matches/reject`, { token: api.keys.acmeReader, json: { otherId: first } });
      expect(reader.status).toBe(403);
      const missing = await api.request('POST', `/v1/customers/${twin}/matches/reject`, { token: api.keys.acmeAdmin, json: {} });
      expect(missing.status, missing.text).toBe(400);
      expect(missing.body.error.issues.map((i: { path: string }) => i.path)).toContain('otherId');

      const r = await api.request('POST', `/v1/customers/${twin}/matches/reject`, { token: api.keys.acmeAdmin, json: { otherId: first } });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toEqual({ customerId: twin, otherId: first });
      await api.settle();
      for (const [id, other] of [
        [twin, first],
        [first, twin],
      ]) {
        const after = await api.request('GET', `/v1/customers/${id}/matches`, { token: api.keys.acmeReader });
        expect(after.body.matches.map((m: { customerId: string }) => m.customerId)).not.toContain(other);
      }
      const again = await api.request('POST', `/v1/customers/${first}/matches/reject`, { token: api.keys.acmeAdmin, json: { otherId: twin } });
      expect(again.status, again.text).toBe(409);
      expect(again.body.error).toMatchObject({ code: 'MATCH_NOT_SUGGESTED', issues: [{ path: 'otherId' }] });
      const accept = await api.request('POST', `/v1/customers/${first}/matches/accept`, { token: api.keys.acmeAdmin, json: { otherId: twin } });
      expect(accept.status).toBe(409);
    });

    it('accepting or rejecting a match with an erased customer answers 410 naming the erasure, as other routes do', async () => {
      const p = { ...person(42), firstName: 'olga', lastName: 'brandvold' };
      const first = await identify('era-1', p);
      const twin = await identify({ anonymousId: 'anon-era' }, { ...p, firstName: 'olag', email: 'olga.42@other.example' });
      const listed = await api.request('GET', `/v1/customers/${first}/matches`, { token: api.keys.acmeReader });
      expect(listed.body.matches.map((m: { customerId: string }) => m.customerId)).toEqual([twin]);
      const erased = await api.request('DELETE', `/v1/customers/${twin}`, { token: api.keys.acmeAdmin });
      expect(erased.status, erased.text).toBe(200);
      await api.settle();
      for (const decision of ['accept', 'reject']) {
        const r = await api.request('POST', `/v1/customers/${first}/matches/${decision}`, { token: api.keys.acmeAdmin, json: { otherId: twin } });
        expect(r.status, `${decision}: ${r.text}`).toBe(410);
        expect(r.body.error).toMatchObject({ code: 'CUSTOMER_ERASED', issues: [{ path: 'otherId' }] });
        expect(r.body.error.message).toMatch(new RegExp(`^customer ${twin} was erased \\(erasure \\S+\\)$`));
      }
    });

    it('answers 404 for an unknown customer and 400 naming the id for a malformed one', async () => {
      expect((await api.request('GET', '/v1/customers/nobody-here/matches', { token: api.keys.acmeReader })).status).toBe(404);
      const bad = await api.request('GET', '/v1/customers/not%20an%20id/matches', { token: api.keys.acmeReader });
      expect(bad.status).toBe(400);
      expect(bad.body.error.issues[0].path).toBe('id');
    });
  });
});

// What the match book compares, seen through the API: email and phone come from the identifiers
// the exact rules normalised and took, so a blocked placeholder or an invalid number is no
// evidence, and formatting noise in a trait (a zero-width character, an extension) hides no one.
describe('GET /v1/customers/{id}/matches compares the identifiers, not the raw traits (in memory)', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi(memoryBackend);
  }, 120_000);
  afterAll(async () => {
    await api.close();
  });
  const identify = async (who: Record<string, string>, traits: Record<string, unknown>) => {
    const r = await api.send('identify', { ...who, traits });
    expect(r.status, r.text).toBe(200);
    await api.settle();
    return r.body.customerId as string;
  };
  const matches = async (id: string) => {
    const r = await api.request('GET', `/v1/customers/${id}/matches`, { token: api.keys.acmeReader });
    expect(r.status, r.text).toBe(200);
    return r.body.matches as { customerId: string; fields: { field: string; level: string }[] }[];
  };

  it('suggests no pair on blocked or invalid phones, and finds the pair a zero-width character and an extension hid', async () => {
    // a population with phones, so the fitted model compares them
    for (let i = 0; i < 24; i++) await identify({ userId: `ph-${i}` }, { ...matchPerson(i), phone: `+1 212 555 01${String(10 + i)}` });
    const placeholders: string[] = [];
    for (const [anon, phone] of [
      ['p1', '000000'],
      ['p2', '+0000000'],
      ['p3', '+44 0000 000000'],
    ] as const)
      placeholders.push(await identify({ anonymousId: anon }, { phone, firstName: 'pat' }));
    for (const id of placeholders) {
      expect(await matches(id)).toEqual([]);
      // the match book holds the name alone: no phone, no phone blocking key
      const held = await api.request('GET', `/v1/customers/${id}/export`, { token: api.keys.acmeGdpr });
      expect(held.status, held.text).toBe(200);
      expect(held.body.matching.customers).toEqual([expect.objectContaining({ customerId: id, record: { givenName: 'pat' } })]);
      expect(held.body.matching.blocking).toEqual([]);
    }

    const zed = { firstName: 'zed', lastName: 'person', birthday: '1971-02-03', address: { city: 'leeds' } };
    const first = await identify({ userId: 'zed-1' }, { ...zed, email: 'zed.per\u200bson@mail.example', phone: '+1 212 555 0199;ext=5' });
    const second = await identify({ anonymousId: 'zed-2' }, { ...zed, email: 'zed.person@other.example' });
    const [m, ...rest] = await matches(first);
    expect(rest).toEqual([]);
    expect(m!.customerId).toBe(second);
    expect(m!.fields.find((f) => f.field === 'email')?.level).toBe('same_local_part');
  });
});
