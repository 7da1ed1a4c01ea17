import { randomUUID } from 'node:crypto';
import { test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, inject } from 'vitest';
import { createCore } from '../../src/application/core.js';
import { createDynamoDbClient } from '../../src/adapters/dynamodb/dynamodb.client.js';
import { DynamoDbEventStore } from '../../src/adapters/dynamodb/dynamodb.event-store.js';
import { ensureTables } from '../../src/adapters/dynamodb/dynamodb.tables.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { arbHistory, OPEN_RULES, TENANTS, type CallSpec } from '../laws/arbitraries.js';
import { expectGroupedLikeAlone, ingestAll, ingestTogether } from '../laws/support.js';

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
      const outcomes = await ingestTogether(h, history);
      grouped += store.groupStats!.members - store.groupStats!.groups;
      await expectGroupedLikeAlone({ together: h, outcomes, oracle, alone }, history, tenants);
    },
    120_000,
  );

  test('the property above did group commits (otherwise it proved nothing about grouping)', () => {
    expect(grouped).toBeGreaterThan(RUNS);
  });
});
