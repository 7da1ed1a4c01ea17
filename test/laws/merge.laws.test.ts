import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import type { CustomerState } from '../../src/domain/customer/customer.state.js';
import { DEFAULT_IDENTITY_RULES } from '../../src/domain/identity/rules.js';
import { dumpViews, makeHarness, type Harness } from '../support/harness.js';
import { arbHistory, arbOps, HOUR, ID_TYPES, NOW, SMALL_RULES, TENANTS, WINDOWED_RULES, type CallSpec } from './arbitraries.js';
import {
  activeStates,
  describeOnStores,
  domainError,
  identifiersOfCalls,
  ingestAll,
  json,
  label,
  lookup,
  runOps,
  runsOn,
  tenantsFrom,
  TIMEOUT,
  viewsOf,
} from './support.js';

// docs/architecture.md "Identity laws": manual merges respect limits unless forced, unmerge undoes a merge,
// and every merge can be explained.

const ACTOR = 'law-tester';
const DAY = 24 * HOUR;

const count = (states: readonly CustomerState[], type: string, at: number, windowMs: number | undefined): number =>
  new Set(
    states.flatMap((s) =>
      [...s.identifiers.values()].filter((i) => i.type === type && (windowMs === undefined || i.observedAt >= at - windowMs)).map((i) => i.key),
    ),
  ).size;

/** A tenant's whole log (small here: one page). */
const logOf = async (h: Harness, tenant: string) => (await h.ports.store.readAll(tenant, { limit: 10_000 })).events;

/** Picks two different active customers by index, or undefined when there are fewer than two. */
const pickTwo = (states: readonly CustomerState[], i: number, j: number): [CustomerState, CustomerState] | undefined => {
  if (states.length < 2) return undefined;
  const a = states[i % states.length]!;
  const b = states[(i + 1 + (j % (states.length - 1))) % states.length]!;
  return [a, b];
};

/** Two different active customers of the first of these tenants that has two, or undefined when none has. */
const pairIn = async (
  h: Harness,
  tenants: readonly string[],
  i: number,
  j: number,
): Promise<{ tenant: string; pair: [CustomerState, CustomerState] } | undefined> => {
  for (const tenant of tenants) {
    const pair = pickTwo(await activeStates(h, tenant), i, j);
    if (pair) return { tenant, pair };
  }
  return undefined;
};

describeOnStores('manual merges and limits', (store) => {
  test.prop([fc.constantFrom(DEFAULT_IDENTITY_RULES, SMALL_RULES, WINDOWED_RULES), arbHistory({ minCalls: 2, maxCalls: 12 }), fc.nat(), fc.nat()], {
    numRuns: runsOn(store),
  })(
    'a merge that would break a limit is refused with IDENTIFIER_LIMIT_EXCEEDED unless forced; a forced merge is recorded as forced',
    async (rules, history, i, j) => {
      const h = makeHarness({ identityRules: rules }, { store });
      await ingestAll(h, history);
      const pair = pickTwo(await activeStates(h, 'acme'), i, j);
      if (!pair) {
        const [only] = await activeStates(h, 'acme');
        // a history that left no customer at all has nothing to merge: not a case of this law
        fc.pre(only !== undefined);
        expect((await domainError(h.core.identity.merge('acme', only.id, only.id, { actor: ACTOR }))).code).toBe('MERGE_SAME_CUSTOMER');
        return;
      }
      const [a, b] = pair;
      const now = h.clock.now();
      const breaks = ID_TYPES.filter((type) => {
        const { limit, windowMs } = h.ports.settings.identityRules('acme').ruleFor(type);
        if (limit === null) return false;
        const union = count([a, b], type, now, windowMs);
        // a customer already over a windowed limit may keep what it holds, not gain more
        return union > limit && union > Math.max(count([a], type, now, windowMs), count([b], type, now, windowMs));
      });
      let forced = false;
      if (breaks.length > 0) {
        const before = await logOf(h, 'acme');
        const refusal = await domainError(h.core.identity.merge('acme', a.id, b.id, { actor: ACTOR }));
        expect(refusal.code).toBe('IDENTIFIER_LIMIT_EXCEEDED');
        expect(refusal.path).toEqual(['force']);
        expect(breaks.some((type) => refusal.message.includes(type))).toBe(true);
        expect(await logOf(h, 'acme')).toEqual(before);
        forced = true;
      }
      const merged = await h.core.identity.merge('acme', a.id, b.id, { actor: ACTOR, reason: 'same person', force: forced });
      expect(merged.forced).toBe(forced);
      // the survivor is the customer seen first (ties: lowest id)
      const [first] = [a, b].sort((x, y) => x.firstObservedAt - y.firstObservedAt || (x.id < y.id ? -1 : 1));
      expect(merged.survivorId).toBe(first!.id);
      const explained = await h.core.queries.explain('acme', merged.survivorId);
      if (explained.status !== 'active') throw new Error('the survivor must be active');
      const record = explained.merges.find((m) => m.mergeId === merged.mergeId);
      expect(record?.absorbedId).toBe(merged.absorbedId);
      expect(record?.evidence).toMatchObject({ rule: 'manual', forced, actor: ACTOR, reason: 'same person' });
      expect(await h.core.queries.get360('acme', merged.absorbedId)).toEqual({ kind: 'redirect', survivorId: merged.survivorId });
    },
    TIMEOUT,
  );
});

/** What a customer looks like from outside: its 360 doc and API view (without the version). */
const snapshot = async (h: Harness, tenant: string, id: string) => {
  const doc = await h.ports.readModels.get(tenant, id);
  const r = await h.core.queries.get360(tenant, id);
  if (r.kind !== 'view') throw new Error(`${id} should be a customer, not a redirect`);
  const { version: _version, ...api } = r.customer;
  const state = await h.core.repo.load(tenant, id);
  return json({ view: doc?.kind === 'view' ? doc.view : doc, api, identifiers: [...state.identifiers.keys()].sort(), members: [...state.members].sort() });
};

const lookups = async (h: Harness, tenant: string, calls: readonly CallSpec[]) => {
  const out: Record<string, string | undefined> = {};
  for (const i of identifiersOfCalls(calls, tenant)) out[label(i.type, i.value)] = await lookup(h, tenant, i.type, i.value);
  return out;
};

/** Segment fields that carry these identifiers (one per type). */
const carrying = (ids: readonly { type: string; value: string | null }[]) => {
  const traits: Record<string, string> = {};
  const fields: Record<string, unknown> = {};
  for (const { type, value } of ids) {
    if (type === 'user_id') fields.userId = value;
    else if (type === 'anonymous_id') fields.anonymousId = value;
    else if (type === 'device_id') fields.context = { ...(fields.context as object), device: { id: value } };
    else traits[type] = value!;
  }
  return Object.keys(traits).length ? { ...fields, context: { ...(fields.context as object), traits } } : fields;
};

describeOnStores('unmerge', (store) => {
  test.prop([arbHistory({ tenants: TENANTS, minCalls: 2, maxCalls: 12 }), fc.constantFrom(...TENANTS), fc.nat(), fc.nat()], { numRuns: runsOn(store) })(
    'a merge followed at once by its unmerge restores both customers exactly',
    async (history, preferred, i, j) => {
      const h = makeHarness({}, { store });
      await ingestAll(h, history);
      // the generated tenant, or the other one when it has fewer than two customers; neither: not a case
      const found = await pairIn(h, tenantsFrom(preferred), i, j);
      fc.pre(found !== undefined);
      const {
        tenant,
        pair: [a, b],
      } = found;
      const others = (await dumpViews(h, tenant)).filter((d) => ![a.id, b.id].includes((d as { customerId: string }).customerId));
      const before = { a: await snapshot(h, tenant, a.id), b: await snapshot(h, tenant, b.id), lookups: await lookups(h, tenant, history) };

      const m = await h.core.identity.merge(tenant, a.id, b.id, { actor: ACTOR, force: true });
      const undone = await h.core.identity.unmerge(tenant, m.survivorId, m.mergeId, { actor: ACTOR });
      expect(undone).toMatchObject({ restoredId: m.absorbedId, reassignedEvents: 0, transferredIdentifiers: 0 });

      expect({ a: await snapshot(h, tenant, a.id), b: await snapshot(h, tenant, b.id), lookups: await lookups(h, tenant, history) }).toEqual(before);
      expect((await dumpViews(h, tenant)).filter((d) => ![a.id, b.id].includes((d as { customerId: string }).customerId))).toEqual(others);
      // and the pair is marked do-not-link, both ways
      for (const [x, y] of [
        [m.survivorId, m.absorbedId],
        [m.absorbedId, m.survivorId],
      ] as const) {
        const e = await h.core.queries.explain(tenant, x);
        expect(e.status === 'active' && e.doNotLink.includes(y)).toBe(true);
      }
    },
    TIMEOUT,
  );

  // Calls that arrive while two customers are merged carry identifiers of one side, the other, or
  // both. Unmerge sends each back by those identifiers; calls carrying both stay with the survivor.
  const arbBetween = fc.array(fc.record({ side: fc.constantFrom('survivor', 'absorbed', 'both'), pick: fc.nat(), other: fc.nat() }), {
    minLength: 1,
    maxLength: 6,
  });

  test.prop([arbHistory({ minCalls: 2, maxCalls: 12 }), fc.nat(), fc.nat(), arbBetween], { numRuns: runsOn(store) })(
    'events that arrived in between go back by their identifiers, and the pair is not merged again automatically',
    async (history, i, j, between) => {
      const h = makeHarness({}, { store });
      await ingestAll(h, history);
      const pair = pickTwo(await activeStates(h, 'acme'), i, j);
      fc.pre(pair !== undefined);
      const m = await h.core.identity.merge('acme', pair[0].id, pair[1].id, { actor: ACTOR, force: true });
      const explained = await h.core.queries.explain('acme', m.survivorId);
      if (explained.status !== 'active') throw new Error('the survivor must be active');
      const absorbedSide = explained.identifiers.filter((x) => x.viaMerge?.mergeId === m.mergeId);
      const survivorSide = explained.identifiers.filter((x) => x.viaMerge?.mergeId !== m.mergeId);
      const primary = (xs: typeof absorbedSide) => xs.filter((x) => x.type === 'user_id' || x.type === 'anonymous_id');
      // calls in between carry a user id or anonymous id of a side: each side needs one
      fc.pre(primary(survivorSide).length > 0 && primary(absorbedSide).length > 0);
      const expected = { survivor: [] as string[], absorbed: [] as string[] };
      for (const [k, b] of between.entries()) {
        const mine = primary(b.side === 'absorbed' ? absorbedSide : survivorSide);
        const first = mine[b.pick % mine.length]!;
        const others = absorbedSide.filter((x) => x.type !== first.type);
        const second = b.side === 'both' ? others[b.other % Math.max(1, others.length)] : undefined;
        if (b.side === 'both' && !second) continue;
        const out = await h.core.ingest.ingest('acme', h.web, {
          type: 'track',
          messageId: `between-${k}`,
          event: `Between ${k}`,
          ...carrying([first, ...(second ? [second] : [])]),
        });
        expect(out).toMatchObject({ status: 'accepted', customerId: m.survivorId, merged: [] });
        expected[b.side === 'absorbed' ? 'absorbed' : 'survivor'].push(`Between ${k}`);
      }
      await h.core.identity.unmerge('acme', m.survivorId, m.mergeId, { actor: ACTOR });
      const titles = async (id: string) => {
        const doc = await h.ports.readModels.get('acme', id);
        return doc?.kind === 'view'
          ? doc.view.timeline
              .map((t) => t.title)
              .filter((t) => t.startsWith('Between '))
              .sort()
          : ['(not a view)'];
      };
      expect(await titles(m.survivorId)).toEqual(expected.survivor.sort());
      expect(await titles(m.absorbedId)).toEqual(expected.absorbed.sort());

      // do-not-link: a call carrying identifiers of both sides no longer merges them
      const s = primary(survivorSide)[0]!;
      const a = absorbedSide.find((x) => x.type !== s.type);
      if (!a) return;
      const out = await h.core.ingest.ingest('acme', h.web, { type: 'identify', messageId: 'relink', ...carrying([s, a]) });
      expect(out).toMatchObject({ status: 'accepted', merged: [] });
      expect(out.status === 'accepted' && out.rejected.some((r) => r.reason === 'DO_NOT_LINK')).toBe(true);
      expect(await lookup(h, 'acme', s.type, s.value!)).toBe(m.survivorId);
      expect(await lookup(h, 'acme', a.type, a.value!)).toBe(m.absorbedId);
    },
    TIMEOUT,
  );
});

describeOnStores('unmerging a whole cluster', (store) => {
  // Several customers merged into one, calls arriving meanwhile (some with identifiers never seen
  // before), then every merge undone in any order that is possible (a merge is undone by its
  // survivor, so one merged away later waits for that later merge to be undone first).
  const arbCluster = fc.record({
    // the first two pick two different customers (pickTwo), the others any of them
    picks: fc.array(fc.nat(), { minLength: 2, maxLength: 4 }),
    between: fc.array(fc.record({ ids: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), fresh: fc.boolean() }), { maxLength: 5 }),
    order: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
  });

  test.prop([arbHistory({ minCalls: 3, maxCalls: 12 }), arbCluster], { numRuns: runsOn(store) })(
    'gives every identifier back to its customer and keeps every event exactly once',
    async (history, { picks, between, order }) => {
      const h = makeHarness({}, { store });
      await ingestAll(h, history);
      const states = await activeStates(h, 'acme');
      const two = pickTwo(states, picks[0]!, picks[1]!);
      fc.pre(two !== undefined);
      const chosen = [...new Set([...two.map((s) => s.id), ...picks.slice(2).map((p) => states[p % states.length]!.id)])];
      const owners = await lookups(h, 'acme', history);
      const merges: string[] = [];
      const sent: string[] = [];
      for (const other of chosen.slice(1)) merges.push((await h.core.identity.merge('acme', chosen[0]!, other, { actor: ACTOR, force: true })).mergeId);

      const survivor = (await h.core.repo.loadSurvivor('acme', chosen[0]!)).id;
      const explained = await h.core.queries.explain('acme', survivor);
      if (explained.status !== 'active') throw new Error('the survivor must be active');
      const ids = explained.identifiers;
      for (const [k, b] of between.entries()) {
        // identifiers of the cluster, often of different members, one per field
        const picked = [...new Map(b.ids.map((i) => ids[i % ids.length]!).map((x) => [x.type, x])).values()];
        if (!picked.some((x) => x.type === 'user_id' || x.type === 'anonymous_id')) continue;
        const fields = carrying([...picked, ...(b.fresh ? [{ type: 'device_id', value: `fresh-${k}` }] : [])]);
        // newest of all (history ends by NOW + 2 h; the skew allows 24 h), so they stay in the (top 50) timeline
        const call = {
          type: 'track',
          messageId: `between-${k}`,
          event: `Between ${k}`,
          timestamp: new Date(NOW + DAY / 2 + k * 1000).toISOString(),
          ...fields,
        };
        expect(await h.core.ingest.ingest('acme', h.web, call)).toMatchObject({ status: 'accepted', customerId: survivor });
        sent.push(`Between ${k}`);
      }

      const left = [...merges];
      for (let step = 0; left.length > 0; step++) {
        const undoable: { mergeId: string; holder: string }[] = [];
        for (const s of await activeStates(h, 'acme')) for (const m of left) if (s.merges.has(m)) undoable.push({ mergeId: m, holder: s.id });
        expect(undoable.length).toBeGreaterThan(0);
        const next = undoable[order[step % order.length]! % undoable.length]!;
        await h.core.identity.unmerge('acme', next.holder, next.mergeId, { actor: ACTOR });
        left.splice(left.indexOf(next.mergeId), 1);
      }

      expect(await lookups(h, 'acme', history)).toEqual(owners);
      for (const id of chosen) expect((await h.core.queries.get360('acme', id)).kind).toBe('view');
      const titles = (await viewsOf(h, 'acme'))
        .flatMap((d) => d.view.timeline.map((t) => t.title))
        .filter((t) => t.startsWith('Between '))
        .sort();
      expect(titles).toEqual(sent.sort());
      // and the log replays to the same views
      const live = await dumpViews(h, 'acme');
      await h.core.rebuild.rebuild('acme');
      expect(await dumpViews(h, 'acme')).toEqual(live);
    },
    TIMEOUT,
  );
});

describeOnStores('every merge is explainable', (store) => {
  test.prop([arbOps({ tenants: TENANTS, blocked: true })], { numRuns: runsOn(store) })(
    'explain lists every merge with its evidence and accounts for every identifier of the cluster',
    async (ops) => {
      const h = makeHarness({}, { store });
      await runOps(h, ops);
      const messageIds = new Set((await Promise.all(TENANTS.map((t) => logOf(h, t)))).flat().map((e) => e.messageId));
      const problems: string[] = [];
      const check = (ok: boolean, what: string) => ok || problems.push(what);
      for (const tenant of TENANTS) {
        for (const s of await activeStates(h, tenant)) {
          const e = await h.core.queries.explain(tenant, s.id);
          if (e.status !== 'active') throw new Error(`${s.id} should be active`);
          const mergeIds = e.merges.map((m) => m.mergeId);
          check(JSON.stringify([...mergeIds].sort()) === JSON.stringify([...s.merges.keys()].sort()), `${s.id}: explain lists merges ${mergeIds}`);
          const members = new Set(e.merges.flatMap((m) => [m.absorbedId, ...m.absorbedMembers]));
          check(e.members.length === members.size && e.members.every((m) => members.has(m)), `${s.id}: members ${e.members} are not the merged ones`);
          for (const m of e.merges) {
            const { evidence } = m;
            if (evidence.rule === 'shared-identifier') {
              check(!evidence.forced, `${m.mergeId}: an automatic merge is marked forced`);
              check(messageIds.has(evidence.triggeringEventId), `${m.mergeId}: triggered by unknown ${evidence.triggeringEventId}`);
              // what tied them: identifiers the absorbed side held, and others the survivor's side held
              // (the latter may have left since, through an unmerge: evidence is history)
              const absorbedKeys = new Set(s.merges.get(m.mergeId)!.keys);
              check(
                evidence.identifiers.some((id) => absorbedKeys.has(id.key)),
                `${m.mergeId}: no evidence from the absorbed side`,
              );
              check(
                evidence.identifiers.some((id) => !absorbedKeys.has(id.key)),
                `${m.mergeId}: no evidence from the survivor's side`,
              );
            } else {
              check(evidence.rule === 'manual' && evidence.actor === 'law-ops', `${m.mergeId}: ${JSON.stringify(evidence)}`);
            }
          }
          check(e.identifiers.length === s.identifiers.size, `${s.id}: explains ${e.identifiers.length} of ${s.identifiers.size} identifiers`);
          for (const id of e.identifiers) {
            check(id.linkedBy !== undefined || id.viaMerge !== undefined, `${s.id}: ${id.type} ${id.value} is unaccounted for`);
            if (id.viaMerge) check(mergeIds.includes(id.viaMerge.mergeId), `${s.id}: ${id.type} came through unknown merge ${id.viaMerge.mergeId}`);
          }
        }
      }
      expect(problems).toEqual([]);
    },
    TIMEOUT,
  );
});
