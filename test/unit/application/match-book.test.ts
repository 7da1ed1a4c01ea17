import { afterAll, describe, expect, it } from 'vitest';
import { decodeReadable } from '../../../src/application/event-codec.js';
import { ANOTHER_CUSTOMER } from '../../../src/application/gdpr/export.use-case.js';
import { MatchDecisionsSeen, type QueuePosition } from '../../../src/application/matching/match-book.projection.js';
import { matchBookNamespace } from '../../../src/application/ports/read-model.port.js';
import { candidatePairs } from '../../../src/domain/matching/blocking.js';
import { COVERAGE_RULE } from '../../../src/domain/matching/coverage.js';
import { fitModel } from '../../../src/domain/matching/estimate.js';
import { buildBook, suggestionsFor } from '../../../src/domain/matching/match-book.js';
import { DEFAULT_THRESHOLDS, scorePair, verdictOf } from '../../../src/domain/matching/match-model.js';
import { matchRecordOfView } from '../../../src/domain/matching/view-record.js';
import { DomainError } from '../../../src/domain/shared/errors.js';
import { loadConfig } from '../../../src/infrastructure/config.js';
import { buildContainer } from '../../../src/infrastructure/container.js';
import { TOKENS } from '../../../src/infrastructure/tokens.js';
import { closeHarnesses, type Harness, listViews, makeHarness } from '../../support/harness.js';
import { matchPerson } from '../../support/match-people.js';

// The match book kept as a read model of the log, on the real core (memory and SQLite): it answers
// one customer's suggestions without listing the tenant, equals the book built at once from the
// current views under the same model, keeps rejections in the log (a rebuild too), forgets an
// erased customer entirely, auto-merges only where the tenant turned it on, and has its model
// fitted again for a field that arrived after the fit, a bounded number of times.

const TENANT = 'acme';
const person = (i: number) => matchPerson(i);
/** the same person typed again: a typo in the given name, the email at another domain */
const twinOf = (i: number) => {
  const p = person(i);
  return { ...p, firstName: `${p.firstName!.slice(0, -2)}${p.firstName!.at(-1)}${p.firstName!.at(-2)}`, email: `${p.firstName}.${i}@other.example` };
};

let message = 0;
const identify = async (h: Harness, who: { userId: string } | { anonymousId: string }, traits: Record<string, unknown>): Promise<string> => {
  const out = await h.core.ingest.ingest(TENANT, h.web, { type: 'identify', messageId: `msg-${++message}`, ...who, traits });
  if (out.status !== 'accepted') throw new Error(JSON.stringify(out));
  return out.customerId;
};
const others = (id: string, suggestions: readonly { customerIds: readonly [string, string] }[]) =>
  suggestions.map((s) => (s.customerIds[0] === id ? s.customerIds[1] : s.customerIds[0]));
const matchesOf = async (h: Harness, id: string) => others(id, (await h.core.matching.matchesOf(TENANT, id)).suggestions);

/** From now on: the events read from the tenant's log, and the lists of its views. */
const countReads = (h: Harness) => {
  const counted = { read: 0, listed: 0 };
  const readAll = h.ports.store.readAll.bind(h.ports.store);
  h.ports.store.readAll = async (tenant, options) => {
    const page = await readAll(tenant, options);
    counted.read += page.events.length;
    return page;
  };
  const list = h.ports.readModels.list.bind(h.ports.readModels);
  h.ports.readModels.list = async (tenant, options) => {
    if (tenant === TENANT) counted.listed++;
    return list(tenant, options);
  };
  return counted;
};
/** counts the tenant-wide listings of the read-model store from now on */
const countListings = (h: Harness) => {
  const store = h.ports.readModels;
  const list = store.list.bind(store);
  const seen = { lists: 0 };
  store.list = (tenant, options) => {
    seen.lists++;
    return list(tenant, options);
  };
  return seen;
};
const bookEntry = async (h: Harness, id: string) => {
  const doc = await h.ports.readModels.get(matchBookNamespace(TENANT), id);
  return doc?.kind === 'match' ? doc.entry : undefined;
};
const matchBookJson = (h: Harness): string => JSON.stringify((h.ports.readModels.dump() as Record<string, unknown>)[matchBookNamespace(TENANT)] ?? {});

afterAll(closeHarnesses);

describe.each(['memory', 'sqlite'] as const)('the stored match book (on %s)', (store) => {
  it('answers suggestions without listing the tenant, equal to the book built at once from the current views under the same model', async () => {
    const h = makeHarness({}, { store, matching: { refitUpTo: 40 } });
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) ids.push(await identify(h, { userId: `u-${i}` }, person(i)));
    const twins = [await identify(h, { anonymousId: 'a-3' }, twinOf(3)), await identify(h, { anonymousId: 'a-7' }, twinOf(7))];
    // a later call without a new personal field changes nothing in the book
    await identify(h, { userId: 'u-5' }, {});

    const model = await h.core.matchBook.model(TENANT);
    const records = Object.fromEntries((await listViews(h, TENANT)).flatMap((d) => (d.kind === 'view' ? [[d.customerId, matchRecordOfView(d.view)]] : [])));
    const expected = buildBook(model, records, []);
    expect(Object.keys(expected.suggestions).length).toBeGreaterThanOrEqual(2);

    const seen = countListings(h);
    for (const id of [...ids, ...twins]) {
      const stored = await h.core.matching.matchesOf(TENANT, id);
      expect(stored.model.version).toBe(model.version);
      expect(stored.suggestions, id).toEqual(suggestionsFor(expected, id));
    }
    expect(await matchesOf(h, ids[3]!)).toEqual([twins[0]]);
    expect(await matchesOf(h, twins[1]!)).toEqual([ids[7]]);
    // a new look-alike arriving is scored against its candidates in real time, and accepted, without a listing
    const late = await identify(h, { anonymousId: 'a-11' }, twinOf(11));
    expect(await matchesOf(h, ids[11]!)).toEqual([late]);
    const merged = await h.core.matching.accept(TENANT, ids[11]!, late, { actor: 'test' });
    expect([merged.survivorId, merged.absorbedId].sort()).toEqual([ids[11], late].sort());
    expect(await matchesOf(h, merged.survivorId)).toEqual([]);
    expect(seen.lists).toBe(0);
  });

  it('calls that cannot change a record (other traits, an anonymous id, a device) do not read the book; a new person does', async () => {
    const h = makeHarness({}, { store });
    for (let i = 0; i < 6; i++) await identify(h, { userId: `u-${i}` }, person(i));
    const store_ = h.ports.readModels;
    const get = store_.get.bind(store_);
    const reads = { book: 0 };
    store_.get = (tenant, id) => {
      if (tenant === matchBookNamespace(TENANT)) reads.book++;
      return get(tenant, id);
    };
    const before = matchBookJson(h);
    await identify(h, { userId: 'u-1' }, { plan: 'pro', tier: 'gold' });
    const out = await h.core.ingest.ingest(TENANT, h.web, {
      type: 'track',
      messageId: `msg-${++message}`,
      anonymousId: 'a-new',
      event: 'Product Viewed',
      context: { device: { id: 'device-new', type: 'ios' } },
    });
    expect(out.status).toBe('accepted');
    expect(reads.book).toBe(0);
    expect(matchBookJson(h)).toBe(before);

    await identify(h, { anonymousId: 'a-9' }, person(9));
    expect(reads.book).toBeGreaterThan(0);
    expect(matchBookJson(h)).not.toBe(before);
  });

  it('a rejection is recorded in the log and the pair is never suggested again, after new records and a rebuild too', async () => {
    const h = makeHarness({}, { store });
    const ids: string[] = [];
    for (let i = 0; i < 16; i++) ids.push(await identify(h, { userId: `u-${i}` }, person(i)));
    const twin = await identify(h, { anonymousId: 'a-3' }, twinOf(3));
    expect(await matchesOf(h, ids[3]!)).toEqual([twin]);

    const r = await h.core.matching.reject(TENANT, twin, ids[3]!, { actor: 'reviewer' });
    expect(r).toMatchObject({ customerId: twin, otherId: ids[3] });
    const decided = (await h.ports.store.readStream(TENANT, twin)).map((s) => decodeReadable(s).event).filter((e) => e.type === 'MatchRejected');
    expect(decided).toEqual([
      { type: 'MatchRejected', v: 1, data: { otherId: ids[3], actor: 'reviewer', modelVersion: expect.stringMatching(/^fitted-seed-19-on-\d+$/) } },
    ]);
    expect(await matchesOf(h, ids[3]!)).toEqual([]);
    expect(await matchesOf(h, twin)).toEqual([]);

    // the twin's record changes and is scored again: still not suggested
    await identify(h, { anonymousId: 'a-3' }, { phone: '+44 20 7946 0003' });
    expect(await matchesOf(h, ids[3]!)).toEqual([]);
    // the tenant doubles: the model is fitted again, and the book keeps the decision
    const before = (await h.core.matchBook.model(TENANT)).version;
    for (let i = 16; i < 36; i++) await identify(h, { userId: `u-${i}` }, person(i));
    expect((await h.core.matchBook.model(TENANT)).version).not.toBe(before);
    expect(await matchesOf(h, ids[3]!)).toEqual([]);
    // a full rebuild reads the log once: the book takes the rejection from the views' pass, and
    // the records from the views it just wrote, not listed back from the store
    const counted = countReads(h);
    const rebuilt = await h.core.rebuild.rebuild(TENANT);
    expect(counted.read).toBe(rebuilt.events);
    expect(counted.listed).toBe(0);
    expect(await matchesOf(h, twin)).toEqual([]);

    // rejecting it again, or a pair never suggested, is refused naming the field
    const again = await h.core.matching.reject(TENANT, twin, ids[3]!, { actor: 'reviewer' }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(DomainError);
    expect(again).toMatchObject({ code: 'MATCH_NOT_SUGGESTED', path: ['otherId'] });
    expect(await h.core.matching.reject(TENANT, ids[1]!, ids[2]!, { actor: 'reviewer' }).catch((e: unknown) => e)).toMatchObject({
      code: 'MATCH_NOT_SUGGESTED',
    });
  });

  it('`c360 match` lists the stored book: each pair it lists is suggested from both sides with the same score and accept takes it; a rejected or accepted pair is listed no more', async () => {
    // the model fitted on the first records and not again (refitUpTo): a model fitted on the tenant
    // as it is now scores the pairs otherwise
    const h = makeHarness({}, { store, matching: { refitUpTo: 16 } });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(await identify(h, { userId: `u-${i}` }, person(i)));
    for (const i of [3, 7, 21, 33]) await identify(h, { anonymousId: `a-${i}` }, twinOf(i));
    const model = await h.core.matchBook.model(TENANT);
    expect(model.version).toBe('fitted-seed-19-on-16');

    const listed = await h.core.matching.scan(TENANT);
    expect(listed.model).toEqual(model);
    expect(listed.customers).toBe(44);
    expect(listed.suggestions.length).toBeGreaterThanOrEqual(3);
    for (const s of listed.suggestions) {
      expect(s.score.modelVersion).toBe(model.version);
      for (const id of s.customerIds) expect((await h.core.matching.matchesOf(TENANT, id)).suggestions).toContainEqual(s);
    }
    // every pair the book holds is listed, best first
    const queued = (await h.core.matching.queue(TENANT, { limit: 1_000 })).suggestions;
    expect([...listed.suggestions].sort((x, y) => (x.customerIds.join() < y.customerIds.join() ? -1 : 1))).toEqual(queued);
    const weights = listed.suggestions.map((s) => s.score.weight);
    expect(weights).toEqual([...weights].sort((a, b) => b - a));

    const [rejected, accepted] = listed.suggestions;
    await h.core.matching.reject(TENANT, rejected!.customerIds[0], rejected!.customerIds[1], { actor: 'reviewer' });
    const merged = await h.core.matching.accept(TENANT, accepted!.customerIds[1], accepted!.customerIds[0], { actor: 'reviewer', operationId: 'op-accept-1' });
    expect(merged).toMatchObject({ duplicate: false, score: accepted!.score });
    const after = await h.core.matching.scan(TENANT);
    const pairs = after.suggestions.map((s) => s.customerIds.join(' '));
    expect(pairs).not.toContain(rejected!.customerIds.join(' '));
    expect(pairs).not.toContain(accepted!.customerIds.join(' '));
    expect(pairs.length).toBeGreaterThanOrEqual(1);
    for (const s of after.suggestions) for (const id of s.customerIds) expect((await h.core.matching.matchesOf(TENANT, id)).suggestions).toContainEqual(s);
    expect(after.customers).toBe(43);
  });

  it('a pair already merged is said so: accepting it again is MERGE_SAME_CUSTOMER naming the survivor, a retry with the same operationId answers the merge, rejecting it is MERGE_SAME_CUSTOMER', async () => {
    const h = makeHarness({}, { store });
    const ids: string[] = [];
    for (let i = 0; i < 16; i++) ids.push(await identify(h, { userId: `u-${i}` }, person(i)));
    const twin = await identify(h, { anonymousId: 'a-3' }, twinOf(3));
    const [pair] = (await h.core.matching.matchesOf(TENANT, twin)).suggestions;
    expect(pair?.customerIds).toEqual([ids[3]!, twin].sort());
    const first = await h.core.matching.accept(TENANT, twin, ids[3]!, { actor: 'reviewer', operationId: 'op-accept-3' });
    expect(first).toMatchObject({ duplicate: false, score: pair!.score });

    for (const [a, b] of [
      [twin, ids[3]!],
      [ids[3]!, twin],
      [first.survivorId, first.survivorId],
    ] as const) {
      for (const decide of [
        () => h.core.matching.accept(TENANT, a, b, { actor: 'reviewer' }),
        () => h.core.matching.accept(TENANT, a, b, { actor: 'reviewer', operationId: 'op-other' }),
        () => h.core.matching.reject(TENANT, a, b, { actor: 'reviewer' }),
      ]) {
        const refused = await decide().catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(DomainError);
        expect(refused).toMatchObject({
          code: 'MERGE_SAME_CUSTOMER',
          path: ['otherId'],
          message: expect.stringContaining(`already one customer (${first.survivorId})`),
        });
      }
    }
    // a retry of the accept (same operationId, same pair): what it did, its score as the evidence holds it
    const retried = await h.core.matching.accept(TENANT, twin, ids[3]!, { actor: 'reviewer', operationId: 'op-accept-3' });
    expect(retried).toMatchObject({ duplicate: true, mergeId: first.mergeId, survivorId: first.survivorId, absorbedId: first.absorbedId });
    expect(retried.score.modelVersion).toBe(pair!.score.modelVersion);
    expect(retried.score.probability).toBeCloseTo(pair!.score.probability, 6);
    expect(retried.score.weight).toBeCloseTo(pair!.score.weight, 3);
    expect(retried.score.fields.map((f) => [f.field, f.level])).toEqual(pair!.score.fields.map((f) => [f.field, f.level]));
    // a pair never suggested and not merged is still MATCH_NOT_SUGGESTED
    expect(await h.core.matching.accept(TENANT, ids[1]!, ids[2]!, { actor: 'reviewer' }).catch((e: unknown) => e)).toMatchObject({
      code: 'MATCH_NOT_SUGGESTED',
    });
  });

  it("a rebuild's book takes in what the log gained after the rebuild's pass: decisions, and records from the store rather than the docs the pass wrote", async () => {
    const h = makeHarness({}, { store });
    const ids: string[] = [];
    for (let i = 0; i < 16; i++) ids.push(await identify(h, { userId: `u-${i}` }, person(i)));
    const twin = await identify(h, { anonymousId: 'a-3' }, twinOf(3));
    expect(await matchesOf(h, ids[3]!)).toEqual([twin]);
    let through: string | undefined;
    for (let page = await h.ports.store.readAll(TENANT, { limit: 1_000 }); ; page = await h.ports.store.readAll(TENANT, { after: through, limit: 1_000 })) {
      through = page.events.at(-1)?.position ?? through;
      if (!page.next) break;
    }
    // after the pass: a rejection and a new person; the docs the pass wrote know neither
    await h.core.matching.reject(TENANT, twin, ids[3]!, { actor: 'reviewer' });
    const late = await identify(h, { userId: 'u-late' }, person(40));
    const rebuilt = await h.core.matchBook.rebuild(TENANT, { seen: new MatchDecisionsSeen(), through, views: [] });
    expect(rebuilt.customers).toContain(late);
    expect(rebuilt.customers).toHaveLength(18);
    expect(await matchesOf(h, ids[3]!)).toEqual([]);
  });

  it('on a store whose log does not read in commit order (an index that lags), a rebuild reads the log and the views again for the book', async () => {
    const h = makeHarness({}, { store });
    Object.assign(h.ports.store, { logInCommitOrder: false });
    for (let i = 0; i < 4; i++) await identify(h, { userId: `u-${i}` }, person(i));
    const counted = countReads(h);
    const rebuilt = await h.core.rebuild.rebuild(TENANT);
    expect(counted.read).toBe(2 * rebuilt.events);
    expect(counted.listed).toBeGreaterThan(0);
  });

  /** 16 people, a look-alike of person 3 (a suggestion) and one of person 5 that a reviewer rejected */
  const twinsAndARejection = async () => {
    const h = makeHarness({}, { store });
    const ids: string[] = [];
    for (let i = 0; i < 16; i++) ids.push(await identify(h, { userId: `u-${i}` }, person(i)));
    const twin = await identify(h, { anonymousId: 'a-3' }, twinOf(3));
    const other = await identify(h, { anonymousId: 'a-5' }, twinOf(5));
    await h.core.matching.reject(TENANT, other, ids[5]!, { actor: 'reviewer' });
    return { h, ids, twin, other };
  };

  it('erasure leaves no record, blocking entry, suggestion or decision naming the erased customer, nor its values', async () => {
    const { h, ids, twin } = await twinsAndARejection();
    expect(await matchesOf(h, ids[3]!)).toEqual([twin]);
    expect(matchBookJson(h)).toContain(ids[5]);

    await h.core.gdpr.erase(TENANT, ids[3]!, { actor: 'dpo' });
    await h.core.gdpr.erase(TENANT, ids[5]!, { actor: 'dpo' });
    const check = () => {
      const json = matchBookJson(h);
      for (const gone of [ids[3]!, ids[5]!, person(3).email, person(5).email]) expect(json).not.toContain(gone);
      // the others are still there
      expect(json).toContain(twin);
    };
    check();
    expect(await matchesOf(h, twin)).toEqual([]);
    await h.core.rebuild.rebuild(TENANT);
    check();
  });

  it("the access export lists the book's entries naming the cluster (record, suggestions, rejections, blocking keys); after an erasure none names the erased customer", async () => {
    const { h, ids, twin, other } = await twinsAndARejection();

    const stored = await h.core.matching.matchesOf(TENANT, twin);
    expect(others(twin, stored.suggestions)).toEqual([ids[3]]);
    const doc = await h.core.export.export(TENANT, twin, { actor: 'dpo' });
    const own = (await h.ports.readModels.get(matchBookNamespace(TENANT), `c:${twin}`)) as { entry: { record: Record<string, string> } };
    // the pair with someone else: that it exists, its probability, weight and verdict; not who, nor how their values compare
    const [s] = stored.suggestions;
    expect(doc.matching.customers).toEqual([
      {
        customerId: twin,
        record: own.entry.record,
        suggestions: [
          {
            customerIds: [twin, ANOTHER_CUSTOMER],
            verdict: s!.verdict,
            score: { modelVersion: s!.score.modelVersion, weight: s!.score.weight, probability: s!.score.probability },
          },
        ],
        rejected: [],
        autoMergeUndone: [],
      },
    ]);
    expect(own.entry.record).toMatchObject({ email: twinOf(3).email });
    expect(doc.metadata.counts.matchSuggestions).toBe(1);
    // every blocking entry listing the twin, by the key its values make; the one it shares with its look-alike counts it
    expect(doc.matching.blocking.length).toBeGreaterThan(0);
    for (const b of doc.matching.blocking) {
      const entry = await bookEntry(h, `b:${b.key}`);
      if (entry?.type !== 'block') throw new Error(`no blocking entry ${b.key}`);
      expect(entry.ids).toContain(twin);
      expect(b).toEqual({ customerId: twin, key: b.key, sharedWith: entry.ids.length - 1 });
    }
    expect(doc.matching.blocking.some((b) => b.sharedWith > 0)).toBe(true);
    // a rejection is held on both sides, and exported with either: that it was made, not with whom
    const rejecter = await h.core.export.export(TENANT, other, { actor: 'dpo' });
    expect(rejecter.matching.customers[0]).toMatchObject({ customerId: other, rejected: [ANOTHER_CUSTOMER] });
    const rejected = await h.core.export.export(TENANT, ids[5]!, { actor: 'dpo' });
    expect(rejected.matching.customers[0]).toMatchObject({ rejected: [ANOTHER_CUSTOMER] });
    // the rejection event on the rejecter's stream keeps its time, not the other's id; the export names
    // the staff member who rejected it by the kind of actor only (the audit log keeps who)
    expect(rejecter.events.find((e) => e.type === 'MatchRejected')).toMatchObject({ data: { otherId: ANOTHER_CUSTOMER, actor: 'operator' } });
    expect(JSON.stringify(rejecter)).not.toContain('reviewer');
    // no other customer's id, nor a value only they hold, anywhere in an export
    for (const [exported, outsiders] of [
      [doc, [ids[3]!, person(3).email]],
      [rejecter, [ids[5]!, person(5).email]],
      [rejected, [other, twinOf(5).email]],
    ] as const) {
      const json = JSON.stringify(exported);
      for (const x of outsiders) expect(json).not.toContain(x);
    }

    await h.core.gdpr.erase(TENANT, ids[3]!, { actor: 'dpo' });
    await h.core.gdpr.erase(TENANT, other, { actor: 'dpo' });
    const after = JSON.stringify((await h.core.export.export(TENANT, twin, { actor: 'dpo' })).matching);
    const afterRejected = JSON.stringify((await h.core.export.export(TENANT, ids[5]!, { actor: 'dpo' })).matching);
    for (const gone of [ids[3]!, other, person(3).email, twinOf(5).email]) {
      expect(after).not.toContain(gone);
      expect(afterRejected).not.toContain(gone);
    }
    expect(after).toContain(twin);
    await expect(h.core.export.export(TENANT, ids[3]!, { actor: 'dpo' })).rejects.toMatchObject({ code: 'CUSTOMER_ERASED' });
  });

  /** person i with names and email only: a source that holds no date of birth */
  const named = (i: number) => {
    const p = person(i);
    return { firstName: p.firstName, lastName: p.lastName, email: p.email };
  };
  /** person i with a date of birth too (a source that holds one) */
  const dated = (i: number) => ({ ...named(i), birthday: `${1900 + (i % 100)}-0${1 + (i % 9)}-1${i % 10}` });
  const recordOf = async (h: Harness, id: string) => {
    const doc = await h.ports.readModels.get(TENANT, id);
    if (doc?.kind !== 'view') throw new Error(`no view of ${id}`);
    return matchRecordOfView(doc.view);
  };
  /** the pairs a model fitted afresh to the current views (as a rebuild fits it) suggests */
  const suggestedByFreshFit = async (h: Harness) => {
    const records = Object.fromEntries((await listViews(h, TENANT)).flatMap((d) => (d.kind === 'view' ? [[d.customerId, matchRecordOfView(d.view)]] : [])));
    const list = Object.keys(records)
      .sort()
      .map((id) => records[id]!);
    const fields = { records: list, candidates: candidatePairs(list), seed: 19, randomPairs: 20_000, iterations: 20, ...DEFAULT_THRESHOLDS };
    return Object.values(buildBook(fitModel({ version: 'fresh', ...fields }), records, []).suggestions);
  };
  /**
   * 60 people with names and emails, every fourth seen again at another email domain; the model is
   * fitted last on 32 of them (refitUpTo 40), without dates of birth. Then 30 people with a date of
   * birth, every third seen again with that date and another email: 40 records carry a date of birth.
   */
  const datesArriveLate = async () => {
    const h = makeHarness({}, { store, matching: { refitUpTo: 40 } });
    for (let i = 0; i < 60; i++) {
      await identify(h, { userId: `u-${i}` }, named(i));
      if (i % 4 === 3) await identify(h, { anonymousId: `a-${i}` }, { ...named(i), email: `${named(i).firstName}.${i}@other.example` });
    }
    const fittedWithout = await h.core.matchBook.model(TENANT);
    const ids = new Map<number, string>();
    for (let i = 60; i < 90; i++) {
      ids.set(i, await identify(h, { userId: `u-${i}` }, dated(i)));
      if (i % 3 === 0) await identify(h, { anonymousId: `a-${i}` }, { ...dated(i), email: `x${i}@home.example` });
    }
    return { h, fittedWithout, ids };
  };

  it('a field that arrives after the model was fitted, past refitUpTo, has it fitted again: the book then suggests a look-alike agreeing on it, as a model fitted afresh does', async () => {
    const { h, fittedWithout, ids } = await datesArriveLate();
    expect(fittedWithout.fields.dateOfBirth).toBeUndefined();
    // a look-alike of person 80: the same name and date of birth, another email
    const twin = await identify(h, { anonymousId: 'a-80' }, { ...dated(80), email: 'cn.home@elsewhere.example' });
    const pair = [ids.get(80)!, twin].sort();

    const model = await h.core.matchBook.model(TENANT);
    expect(model.fields.dateOfBirth).toBeDefined();
    expect(h.ports.metrics.get('match_book_refit_for_field')).toBeGreaterThanOrEqual(1);
    const stored = await h.core.matching.matchesOf(TENANT, twin);
    expect(stored.suggestions.map((s) => s.customerIds)).toEqual([pair]);
    expect(stored.suggestions[0]!.score.fields).toContainEqual(expect.objectContaining({ field: 'dateOfBirth', level: 'exact' }));
    // a model fitted afresh suggests it too; the model fitted without dates would not have
    const fresh = await suggestedByFreshFit(h);
    expect(fresh.map((s) => s.customerIds)).toContainEqual(pair);
    const [a, b] = await Promise.all(pair.map((id) => recordOf(h, id)));
    expect(verdictOf(fittedWithout, scorePair(fittedWithout, a!, b!))).toBe('none');
    // every pair the fresh fit suggests that agrees on the date of birth, the book suggests
    const dob = fresh.filter((s) => s.score.fields.some((f) => f.field === 'dateOfBirth' && f.level === 'exact'));
    expect(dob.length).toBeGreaterThanOrEqual(10);
    const queued = (await h.core.matchBook.queue(TENANT, { limit: 1_000 })).suggestions.map((s) => s.customerIds);
    for (const s of dob) expect(queued).toContainEqual(s.customerIds);
  });

  it('the refits for a field are bounded: past them, new customers carrying it neither refit the model nor write its entry', async () => {
    const { h } = await datesArriveLate();
    const refits = () => h.ports.metrics.get('match_book_refit_for_field');
    // everyone from now on carries a date of birth: many times the records that made the field due
    for (let i = 90; i < 400; i++) await identify(h, { userId: `u-${i}` }, dated(i));
    expect(refits()).toBe(COVERAGE_RULE.refitsPerField);
    const entry = async () => {
      const doc = await h.ports.readModels.get(matchBookNamespace(TENANT), 'model');
      if (doc?.kind !== 'match' || doc.entry.type !== 'model') throw new Error('no model entry');
      return { version: doc.version, entry: doc.entry };
    };
    const before = await entry();
    expect(before.entry.coverage?.refits.dateOfBirth).toBe(COVERAGE_RULE.refitsPerField);
    expect(before.entry.coverage?.carrying.dateOfBirth).toBeUndefined();
    for (let i = 400; i < 420; i++) await identify(h, { userId: `u-${i}` }, dated(i));
    expect(refits()).toBe(COVERAGE_RULE.refitsPerField);
    expect(await entry()).toEqual(before);
    // a record carrying a field still watched (no phone so far) is counted
    await identify(h, { userId: 'u-420' }, { ...dated(420), phone: '+44 20 7946 0420' });
    expect((await entry()).entry.coverage?.carrying.phone).toBe(1);
    // and the book is still the one built at once from the views under its model
    const model = await h.core.matchBook.model(TENANT);
    const records = Object.fromEntries((await listViews(h, TENANT)).flatMap((d) => (d.kind === 'view' ? [[d.customerId, matchRecordOfView(d.view)]] : [])));
    const expected = buildBook(model, records, []);
    const queued = (await h.core.matchBook.queue(TENANT, { limit: 10_000 })).suggestions;
    expect(queued.length).toBeGreaterThan(0);
    expect(queued.map((s) => s.customerIds).sort()).toEqual(
      Object.values(expected.suggestions)
        .map((s) => s.customerIds)
        .sort(),
    );
  });

  const modelEntryOf = async (h: Harness) => {
    const doc = await h.ports.readModels.get(matchBookNamespace(TENANT), 'model');
    if (doc?.kind !== 'match' || doc.entry.type !== 'model') throw new Error('no model entry');
    return { version: doc.version, entry: doc.entry };
  };

  /** Makes every listing of the tenant's views (what a refit reads) fail, counting them, until restored. */
  const failViewListings = (h: Harness) => {
    const readModels = h.ports.readModels;
    const list = readModels.list.bind(readModels);
    const seen = { refits: 0 };
    readModels.list = (ns, options) => {
      if (ns === TENANT) {
        seen.refits++;
        return Promise.reject(new Error('the store is unavailable'));
      }
      return list(ns, options);
    };
    return { seen, restore: () => void (readModels.list = list) };
  };

  it('a refit for a field that fails is counted before it ran: later calls carrying the field do not each try it again, only its next due points; a rebuild then fits it', async () => {
    const h = makeHarness({}, { store, matching: { refitUpTo: 40 } });
    for (let i = 0; i < 60; i++) await identify(h, { userId: `u-${i}` }, named(i));
    expect((await h.core.matchBook.model(TENANT)).fields.dateOfBirth).toBeUndefined();
    // the read-model store fails every listing of the tenant's views (what a refit reads) from now on
    const { seen, restore } = failViewListings(h);
    const calls = 100;
    for (let i = 60; i < 60 + calls; i++) await identify(h, { userId: `u-${i}` }, dated(i));
    // due at 20 records carrying it, then at 40 and 80 (twice the count each failed attempt was due at): one attempt each
    expect(seen.refits).toBe(COVERAGE_RULE.refitsPerField);
    expect(h.ports.metrics.get('match_book_failed')).toBe(COVERAGE_RULE.refitsPerField);
    const { entry } = await modelEntryOf(h);
    expect(entry.coverage?.refits.dateOfBirth).toBe(COVERAGE_RULE.refitsPerField);
    expect(entry.model.fields.dateOfBirth).toBeUndefined();
    // the store answers again: a rebuild fits the model with the field
    restore();
    expect((await h.core.matchBook.rebuild(TENANT)).model.fields.dateOfBirth).toBeDefined();
  });

  it('a refit for growth that fails is tried again at twice the records it was tried at, not on every call', async () => {
    const h = makeHarness({}, { store, matching: { refitUpTo: 40 } });
    for (let i = 0; i < 10; i++) await identify(h, { userId: `u-${i}` }, named(i));
    expect((await modelEntryOf(h)).entry.fittedOn).toBe(8);
    const { seen, restore } = failViewListings(h);
    for (let i = 10; i < 40; i++) await identify(h, { userId: `u-${i}` }, named(i));
    // tried at 16 and at 32 records, never in between
    expect(seen.refits).toBe(2);
    restore();
    expect((await h.core.matchBook.rebuild(TENANT)).customers).toHaveLength(40);
    expect((await modelEntryOf(h)).entry.grownAt).toBeUndefined();
  });

  it('past refitInlineUpTo records, a field that becomes due is not refitted inline: the model entry records the refit as due, and a rebuild makes it', async () => {
    const h = makeHarness({}, { store, matching: { refitUpTo: 40, refitInlineUpTo: 50 } });
    for (let i = 0; i < 60; i++) await identify(h, { userId: `u-${i}` }, named(i));
    expect((await h.core.matchBook.model(TENANT)).fields.dateOfBirth).toBeUndefined();
    const rebuilt = h.ports.metrics.get('match_book_rebuilt');
    expect(await h.core.matchBook.refitDue(TENANT)).toEqual([]);
    for (let i = 60; i < 90; i++) await identify(h, { userId: `u-${i}` }, dated(i));
    expect(h.ports.metrics.get('match_book_rebuilt')).toBe(rebuilt);
    expect(h.ports.metrics.get('match_book_refit_for_field')).toBe(0);
    expect(h.ports.metrics.get('match_book_refit_due')).toBe(1);
    const { entry } = await modelEntryOf(h);
    expect(entry.refitDue).toEqual(['dateOfBirth']);
    expect(entry.model.fields.dateOfBirth).toBeUndefined();
    expect(await h.core.matchBook.refitDue(TENANT)).toEqual(['dateOfBirth']);
    // shown beside the model where one customer's matches are read (GET /v1/customers/{id}/matches)
    const someone = await identify(h, { userId: 'u-0' }, {});
    expect((await h.core.matching.matchesOf(TENANT, someone)).refitDue).toEqual(['dateOfBirth']);
    // a rebuild (c360 rebuild) fits the model with it and clears the marker
    await h.core.rebuild.rebuild(TENANT);
    expect((await h.core.matchBook.model(TENANT)).fields.dateOfBirth).toBeDefined();
    expect(await h.core.matchBook.refitDue(TENANT)).toEqual([]);
    expect((await h.core.matching.matchesOf(TENANT, someone)).refitDue).toEqual([]);
    expect(h.ports.metrics.get('match_book_rebuilt')).toBe(rebuilt + 1);
  });

  it('a watched field that stays thin stops writing the model entry once records gained or lost it watchMoves times its due point', async () => {
    // past refitInlineUpTo the number of records is not kept: only a watched field writes the entry
    const h = makeHarness({}, { store, matching: { refitUpTo: 40, refitInlineUpTo: 50 } });
    for (let i = 0; i < 60; i++) await identify(h, { userId: `u-${i}` }, named(i));
    const fitted = await modelEntryOf(h);
    expect(fitted.entry.coverage?.carrying.phone).toBe(0);
    // one customer at a time carries a phone and is erased: the field never reaches its due point (20)
    const bound = COVERAGE_RULE.watchMoves * Math.max(COVERAGE_RULE.dueMin, Math.ceil(COVERAGE_RULE.dueShare * fitted.entry.fittedOn));
    const writes: number[] = [];
    for (let i = 0; i < bound / 2 + 10; i++) {
      const before = (await modelEntryOf(h)).version;
      const id = await identify(h, { userId: `p-${i}` }, { ...named(100 + i), phone: `+44 20 7946 ${String(1000 + i)}` });
      await h.core.gdpr.erase(TENANT, id, { actor: 'dpo' });
      writes.push((await modelEntryOf(h)).version - before);
    }
    const after = await modelEntryOf(h);
    expect(after.entry.coverage?.carrying.phone).toBeUndefined();
    expect(after.entry.model.fields.phone).toBeUndefined();
    // two writes a cycle while watched, none once the bound is reached
    expect(writes.slice(0, bound / 2 - 1).every((n) => n === 2)).toBe(true);
    expect(writes.slice(bound / 2)).toEqual(Array(10).fill(0));
  });

  it('a model entry written before field coverage was kept counts the fields its model lacks from then on', async () => {
    const h = makeHarness({}, { store, matching: { refitUpTo: 40 } });
    for (let i = 0; i < 60; i++) await identify(h, { userId: `u-${i}` }, named(i));
    const ns = matchBookNamespace(TENANT);
    const doc = await h.ports.readModels.get(ns, 'model');
    if (doc?.kind !== 'match' || doc.entry.type !== 'model') throw new Error('no model entry');
    const { coverage, ...older } = doc.entry;
    expect(coverage).toBeDefined();
    expect(await h.ports.readModels.put(ns, { ...doc, version: doc.version + 1, entry: older }, { version: doc.version, appliedSum: 0 })).toBe(true);
    expect((await h.core.matchBook.model(TENANT)).fields.dateOfBirth).toBeUndefined();
    for (let i = 60; i < 60 + COVERAGE_RULE.dueMin; i++) await identify(h, { userId: `u-${i}` }, dated(i));
    expect((await h.core.matchBook.model(TENANT)).fields.dateOfBirth).toBeDefined();
    expect(h.ports.metrics.get('match_book_refit_for_field')).toBe(1);
  });

  it('the access export shows a pair within the cluster whole, and counts it once though both its customers hold it', async () => {
    const { h, ids, twin } = await twinsAndARejection();
    const [pair] = (await h.core.matching.matchesOf(TENANT, twin)).suggestions;
    expect(pair?.customerIds).toEqual([ids[3]!, twin].sort());
    // the book does not follow this merge (its write fails; a rebuild would repair it): both customers still hold the pair
    const store = h.ports.readModels;
    const [put, del] = [store.put.bind(store), store.delete.bind(store)];
    const refuse = (ns: string) => {
      if (ns === matchBookNamespace(TENANT)) throw new Error('the match book is not written');
    };
    store.put = async (ns, ...rest) => (refuse(ns), put(ns, ...rest));
    store.delete = async (ns, ...rest) => (refuse(ns), del(ns, ...rest));
    try {
      await h.core.matching.accept(TENANT, twin, ids[3]!, { actor: 'reviewer' });
    } finally {
      store.put = put;
      store.delete = del;
    }
    expect(h.ports.metrics.get('match_book_failed')).toBeGreaterThan(0);

    const doc = await h.core.export.export(TENANT, twin, { actor: 'dpo' });
    expect([...doc.metadata.customers].sort()).toEqual([ids[3]!, twin].sort());
    const held = doc.matching.customers.flatMap((c) => c.suggestions);
    expect(held).toEqual([pair, pair]);
    expect(doc.metadata.counts.matchSuggestions).toBe(1);
  });

  it('the review queue pages the pairs in the order of their ids, each once, whatever the page size and the entries a page may read', async () => {
    const h = makeHarness({}, { store });
    const ids: string[] = [];
    for (let i = 0; i < 16; i++) ids.push(await identify(h, { userId: `u-${i}` }, person(i)));
    for (let k = 0; k < 5; k++) ids.push(await identify(h, { anonymousId: `copy-${k}` }, { ...person(4), email: `copy.${k}@other.example` }));
    for (const i of [3, 7, 9]) ids.push(await identify(h, { anonymousId: `a-${i}` }, twinOf(i)));
    const expected: string[] = [];
    for (const id of ids)
      for (const s of (await h.core.matching.matchesOf(TENANT, id)).suggestions) if (s.customerIds[0] === id) expected.push(s.customerIds.join(' '));
    expected.sort();
    expect(expected.length).toBeGreaterThan(15);
    for (const [limit, scan] of [
      [50, undefined],
      [4, undefined],
      [3, 2],
      [1, 1],
    ] as const) {
      const seen: string[] = [];
      let after: QueuePosition | undefined;
      let pages = 0;
      do {
        const page = await h.core.matching.queue(TENANT, { after, limit, scan });
        expect(page.suggestions.length).toBeLessThanOrEqual(limit);
        seen.push(...page.suggestions.map((s) => s.customerIds.join(' ')));
        after = page.next;
        expect(++pages).toBeLessThan(200);
      } while (after !== undefined);
      expect(seen, `limit ${limit}, scan ${scan}`).toEqual(expected);
      // without a bound on the entries read, no page is empty and the last says so
      if (scan === undefined) expect(pages).toBe(Math.ceil(expected.length / limit));
    }
  });

  it('a review-queue page that has found no pair reads on, a bounded number of entries, rather than answer empty with a next page', async () => {
    const h = makeHarness({}, { store });
    const ids: string[] = [];
    for (let i = 0; i < 16; i++) ids.push(await identify(h, { userId: `u-${i}` }, person(i)));
    for (const i of [3, 12]) ids.push(await identify(h, { anonymousId: `a-${i}` }, twinOf(i)));
    // one entry a round: the pairs are held by u-3 and u-12, eight customers without one between them
    const pages: number[] = [];
    let after: QueuePosition | undefined;
    do {
      const page = await h.core.matching.queue(TENANT, { after, limit: 1, scan: 1 });
      if (page.next) expect(page.suggestions.length, `page ${pages.length + 1}`).toBe(1);
      pages.push(page.suggestions.length);
      after = page.next;
    } while (after !== undefined && pages.length < 50);
    expect(pages.filter((n) => n === 1)).toHaveLength(2);
    // after the last pair, a page reads on to the end of the book: empty, and no next page
    const bounded = await h.core.matching.queue(TENANT, { after: { customerId: ids[12]! }, limit: 1, scan: 1 });
    expect(bounded.suggestions).toEqual([]);
    expect(bounded.next).toBeUndefined();
  });

  it('auto-merge is off by default: a pair above the auto-merge threshold is only suggested', async () => {
    const h = makeHarness({}, { store });
    const ids: string[] = [];
    for (let i = 0; i < 16; i++) ids.push(await identify(h, { userId: `u-${i}` }, person(i)));
    const twin = await identify(h, { anonymousId: 'a-3' }, twinOf(3));
    const [s] = (await h.core.matching.matchesOf(TENANT, twin)).suggestions;
    expect(s?.verdict).toBe('auto_merge');
    expect((await h.core.queries.get360(TENANT, twin)).kind).toBe('view');
    expect(h.ports.metrics.get('match_auto_merged')).toBe(0);
  });

  it('auto-merge on: the pair merges through the manual merge with its evidence, and an unmerge of it is never auto-merged again', async () => {
    const h = makeHarness({ tenants: { [TENANT]: { autoMerge: true } } }, { store });
    const ids: string[] = [];
    for (let i = 0; i < 16; i++) ids.push(await identify(h, { userId: `u-${i}` }, person(i)));
    const twin = await identify(h, { anonymousId: 'a-3' }, twinOf(3));
    const found = await h.core.queries.get360(TENANT, twin);
    expect(found).toMatchObject({ kind: 'redirect', survivorId: ids[3] });
    const key = await h.ports.keys.get(TENANT, ids[3]!);
    const merge = h.core.codec
      .decodeStream(await h.ports.store.readStream(TENANT, ids[3]!), key)
      .map((r) => r.event)
      .find((e) => e.type === 'CustomerMerged');
    expect(merge?.type === 'CustomerMerged' && merge.data.evidence).toMatchObject({ rule: 'manual', actor: 'system:auto-merge', forced: false });
    // the reason is held as every merge reason is: in the event's encrypted pii
    expect(merge?.type === 'CustomerMerged' && merge.pii?.reason).toMatch(
      /^probabilistic match auto-merged: p=1\.0+, weight=\d+\.\d+, model fitted-seed-19-on-\d+; givenName jaro_winkler/,
    );
    const mergeId = merge?.type === 'CustomerMerged' ? merge.data.mergeId : '';

    await h.core.identity.unmerge(TENANT, ids[3]!, mergeId, { actor: 'reviewer' });
    expect((await h.core.queries.get360(TENANT, twin)).kind).toBe('view');
    // the book keeps the pair for review only; the unmerge marked the two do-not-link, so no surface offers it
    const stored = async () => {
      const entry = await bookEntry(h, `c:${twin}`);
      return entry?.type === 'customer' ? entry : undefined;
    };
    expect((await stored())?.suggestions).toMatchObject([{ customerIds: [ids[3], twin].sort(), verdict: 'review' }]);
    expect((await stored())?.autoMergeUndone).toEqual([ids[3]]);
    expect((await h.core.matching.matchesOf(TENANT, twin)).suggestions).toEqual([]);
    // the twin is seen again with the very record that scored above the threshold: still apart
    await identify(h, { anonymousId: 'a-3' }, { ...twinOf(3), phone: '+44 20 7946 0003' });
    await identify(h, { anonymousId: 'a-3' }, twinOf(3));
    expect((await h.core.queries.get360(TENANT, twin)).kind).toBe('view');
    await h.core.rebuild.rebuild(TENANT);
    expect((await stored())?.suggestions.map((x) => x.verdict)).toEqual(['review']);
    expect((await h.core.matching.matchesOf(TENANT, twin)).suggestions).toEqual([]);
    expect(h.ports.metrics.get('match_auto_merged')).toBe(1);
  });
});

describe('the auto-merge switch in the configuration', () => {
  it('C360_AUTO_MERGE_TENANTS lists the tenants that auto-merge; every other tenant is off, and a bad list is refused naming the variable', async () => {
    const config = loadConfig({ C360_STORE: 'memory', C360_AUTO_MERGE_TENANTS: ' acme, beta-2 ' });
    expect(config.autoMergeTenants).toEqual(['acme', 'beta-2']);
    const c = await buildContainer(config);
    const settings = c.get(TOKENS.TenantSettings);
    expect([settings.autoMerge?.('acme'), settings.autoMerge?.('beta-2'), settings.autoMerge?.('demo')]).toEqual([true, true, false]);
    expect(loadConfig({ C360_STORE: 'memory' }).autoMergeTenants).toEqual([]);
    expect(() => loadConfig({ C360_STORE: 'memory', C360_AUTO_MERGE_TENANTS: 'Acme!' })).toThrow(/C360_AUTO_MERGE_TENANTS/);
  });
});
