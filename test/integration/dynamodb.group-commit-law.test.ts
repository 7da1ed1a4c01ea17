import { randomUUID } from 'node:crypto';
import { test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, inject } from 'vitest';
import { createCore } from '../../src/application/core.js';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { DynamoDbEventStore } from '../../src/adapters/dynamodb/dynamodb.event-store.js';
import { ensureTables } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { arbHistory, OPEN_RULES, TENANTS, toSegment, type CallSpec } from '../laws/arbitraries.js';
import { canonical, components, ingestAll, label, viewsOf } from '../laws/support.js';

// The group-commit law (test/laws/group-commit.laws.test.ts) with the event store on DynamoDB
// Local: calls ingested together (commits grouped into transactions, reads coalesced) give the
// customers, facts and outcomes that ingesting them one by one gives (on the memory store, the
// oracle), every accepted call is recorded once, and the log holds accepted calls' events only.
// Fewer runs than the law folder's: each run is a few dozen DynamoDB requests.

const client = createDynamoDbClient({ endpoint: inject('dynamoEndpoint') });
const tableName = `events-law-${randomUUID()}`;
const RUNS = Number(process.env.DYNAMO_LAW_RUNS ?? 25);
beforeAll(() => ensureTables(client, { events: tableName }));
afterAll(() => client.destroy());

/** The core with its event store on DynamoDB Local (everything else in memory, projecting inline). */
const onDynamoDb = (): { h: Harness; store: DynamoDbEventStore } => {
  const base = makeHarness({ identityRules: OPEN_RULES }, { store: 'memory' });
  const store = new DynamoDbEventStore(client, { tableName, clock: base.clock });
  const ports = { ...base.ports, store: store as unknown as Harness['ports']['store'] };
  const sources: Record<string, typeof base.web> = { web: base.web, crm: base.crm };
  const core = createCore(ports, { inlineProjection: true, sourceOf: (_t, name) => sources[name] ?? { name, priority: 0, channel: 'other' } });
  return { h: { ...base, core, ports }, store };
};

/** Per customer, keyed by its identifiers: the order-independent facts the law compares. */
const facts = async (h: Harness, tenant: string) =>
  Object.fromEntries(
    (await viewsOf(h, tenant))
      .map((d) => {
        const v = d.view;
        const key = canonical([Object.values(v.identifiers).map((i) => label(i.type, i.value ?? '?'))])[0]?.join(' ') ?? '';
        const consents = Object.fromEntries(Object.entries(v.consents).map(([k, c]) => [k, { at: c.at, answers: [...c.answers].sort() }]));
        // an order's eventId names the call's event, whose index in the call depends on whether
        // that call or an earlier one linked an identifier first (as in the law folder's; CI seed
        // 1953289809): the order's facts stay
        const byId = v.orders.byId && Object.fromEntries(Object.entries(v.orders.byId).map(([id, { eventId: _, ...o }]) => [id, o]));
        return [key, { consents, orders: { ...v.orders, byId }, firstSeenAt: v.firstSeenAt, lastSeenAt: v.lastSeenAt }] as const;
      })
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );

const stored = async (h: Harness, tenants: readonly string[]) =>
  new Set((await Promise.all(tenants.map(async (t) => (await h.ports.store.readAll(t, { limit: 100_000 })).events.map((e) => `${t}/${e.messageId}`)))).flat());

describe('group commit on DynamoDB Local, through the ingest use case', () => {
  let grouped = 0;
  test.prop([arbHistory({ tenants: TENANTS, blocked: true, minCalls: 2 })], { numRuns: RUNS })(
    'ingesting calls together gives the customers, facts, stored calls and outcomes of ingesting them one by one',
    async (generated) => {
      // tenants of their own per run (the table is shared by every run), the same on both sides
      const run = randomUUID().slice(0, 8);
      const tenants = TENANTS.map((t) => `${run}-${t}`);
      const history: CallSpec[] = generated.map((c) => ({ ...c, tenant: `${run}-${c.tenant}` }));
      const oracle = makeHarness({ identityRules: OPEN_RULES }, { store: 'memory' });
      const alone = await ingestAll(oracle, history);
      const { h, store } = onDynamoDb();
      const together = await Promise.all(history.map((c) => h.core.ingest.ingest(c.tenant, c.source === 'crm' ? h.crm : h.web, toSegment(c))));
      grouped += store.groupStats!.members - store.groupStats!.groups;
      for (const tenant of tenants) {
        expect(canonical(Object.keys(await facts(h, tenant)).map((k) => k.split(' ').filter(Boolean)))).toEqual(components(history, tenant));
        expect(await facts(h, tenant)).toEqual(await facts(oracle, tenant));
      }
      // every call got the outcome status it gets alone
      expect(together.map((o) => o.status)).toEqual(alone.map((o) => o.status));
      // every accepted call was recorded, once: sent again, each is a duplicate, as alone
      const again = await ingestAll(h, history);
      expect(again.map((o) => o.status)).toEqual(together.map((o) => (o.status === 'accepted' ? 'duplicate' : o.status)));
      expect(again.map((o) => o.status)).toEqual((await ingestAll(oracle, history)).map((o) => o.status));
      // and the log holds events of accepted calls only. Which calls hold events may differ from
      // alone: in another order that keeps per-identifier order, a merge that an alias made alone
      // was already made by a call sharing none of its identifiers, and the alias then changes
      // nothing (as in test/laws/group-commit.laws.test.ts, where seed 1649613425 shows it)
      const accepted = new Set(history.flatMap((c, i) => (together[i]!.status === 'accepted' ? [`${c.tenant}/${together[i]!.messageId}`] : [])));
      for (const id of await stored(h, tenants)) expect(accepted.has(id), id).toBe(true);
    },
    120_000,
  );

  test('the property above did group commits (otherwise it proved nothing about grouping)', () => {
    expect(grouped).toBeGreaterThan(RUNS);
  });
});
