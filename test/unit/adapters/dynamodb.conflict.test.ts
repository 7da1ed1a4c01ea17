import { TransactionCanceledException, type CancellationReason, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import type { Commit } from '../../../src/application/ports/event-store.port.js';
import { planCommit } from '../../../src/adapters/dynamodb/dynamodb.commit-plan.js';
import { readCancellation } from '../../../src/adapters/dynamodb/dynamodb.conflict.js';
import { DynamoDbEventStore } from '../../../src/adapters/dynamodb/dynamodb.event-store.js';
import { append } from '../../support/builders.js';

// What a cancelled transaction's reasons say about the conflict, including the reasons DynamoDB
// Local never gives (it runs transactions one at a time, so never TransactionConflict).

const T = 't';
const now = 1_000_000;
const ok: CancellationReason = { Code: 'None' };
const failed = (item?: Record<string, string>): CancellationReason => ({
  Code: 'ConditionalCheckFailed',
  ...(item ? { Item: Object.fromEntries(Object.entries(item).map(([k, v]) => [k, /^\d+$/.test(v) ? { N: v } : { S: v }])) } : {}),
});

// stream a at 3 appending 2 (check, put 4, put 5); stream b new (put 1); claim k; release r; idempotency
const commit: Commit = {
  tenant: T,
  idempotency: { key: 'm', payloadHash: 'h', expiresAt: now + 10 },
  streams: [append(T, 'a', 3, 2), append(T, 'b', 0, 1)],
  claims: [
    { op: 'claim', key: 'k', owner: 'b' },
    { op: 'release', key: 'r', expectedOwner: 'a' },
  ],
};
const plan = planCommit(commit, 'events', '000000000000001.w.0000000001', now, () => false);
if (plan.kind !== 'transact') throw new Error('expected a transaction');
const kinds = plan.roles.map((r) => (r.kind === 'event' ? `event ${r.version}` : r.kind));
/** reasons by role, in the plan's item order */
const reasons = (by: Record<string, CancellationReason>): CancellationReason[] => kinds.map((k) => by[k] ?? ok);

describe('reading a cancelled transaction', () => {
  it('plans events, claims, idempotency, then the expected-version check', () => {
    expect(kinds).toEqual(['event 4', 'event 5', 'event 1', 'claim', 'claim', 'idempotency', 'expected-exists']);
  });

  it('pins a stream version from the first put that passed, and owners from old items', () => {
    const r = readCancellation(
      commit,
      plan.roles,
      reasons({ 'event 4': failed({ sk: '4' }), 'event 1': failed({ sk: '1' }), claim: failed({ owner: 'z' }) }),
      now,
    );
    // stream a: 4 exists, 5 does not, so it is at 4; stream b: its only put failed, so "at least 1"
    expect(r).toEqual({
      kind: 'conflict',
      streams: [4, undefined],
      claims: new Map([
        ['k', 'z'],
        ['r', 'z'],
      ]),
    });
  });

  it('leaves open what a passed condition cannot tell: a release that passed, a stream below its expected version', () => {
    const r = readCancellation(commit, plan.roles, reasons({ 'expected-exists': failed(), 'event 1': failed() }), now);
    expect(r).toEqual({
      kind: 'conflict',
      streams: [undefined, undefined],
      claims: new Map([
        ['k', null],
        ['r', undefined],
      ]),
    });
  });

  it('an unexpired idempotency record wins over every other failure', () => {
    const r = readCancellation(
      commit,
      plan.roles,
      reasons({ 'event 4': failed(), idempotency: failed({ payloadHash: 'h0', expiresAt: String(now + 1) }) }),
      now,
    );
    expect(r).toEqual({ kind: 'duplicate', payloadHash: 'h0' });
  });

  it('cancelled with no failed condition is transient; a refusal is an error; no reasons at all leaves everything open', () => {
    expect(readCancellation(commit, plan.roles, reasons({ 'event 1': { Code: 'TransactionConflict' } }), now)).toEqual({ kind: 'transient' });
    expect(() => readCancellation(commit, plan.roles, reasons({ claim: { Code: 'ValidationError', Message: 'bad' } }), now)).toThrow(/ValidationError/);
    expect(readCancellation(commit, plan.roles, undefined, now)).toEqual({
      kind: 'conflict',
      streams: [undefined, undefined],
      claims: new Map([
        ['k', undefined],
        ['r', undefined],
      ]),
    });
  });
});

describe('DynamoDbEventStore against concurrent transactions', () => {
  it('sends a transaction cancelled by TransactionConflict again, with a new token, until it lands', async () => {
    const tokens: string[] = [];
    const client = {
      send: async (command: { input: { ClientRequestToken?: string; TransactItems?: unknown[] } }) => {
        tokens.push(command.input.ClientRequestToken!);
        if (tokens.length <= 2) {
          const items = command.input.TransactItems!;
          throw new TransactionCanceledException({
            message: 'cancelled',
            $metadata: {},
            CancellationReasons: items.map((_, i) => (i === 0 ? { Code: 'TransactionConflict' } : ok)),
          });
        }
        return {};
      },
    } as unknown as DynamoDBClient;
    const store = new DynamoDbEventStore(client, { tableName: 'events', clock: { now: () => now } });
    await expect(store.commit(commit)).resolves.toEqual({ status: 'committed', versions: { a: 5, b: 1 } });
    expect(tokens).toHaveLength(3);
    expect(new Set(tokens).size).toBe(3);
    expect(tokens.every((t) => t.length <= 36)).toBe(true);
  });
});
