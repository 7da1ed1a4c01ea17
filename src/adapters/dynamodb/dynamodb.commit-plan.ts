import { createHash } from 'node:crypto';
import type { AttributeValue, PutItemCommandInput, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { commitTooLarge } from '../../application/ports/commit-checks.js';
import type { ClaimOp, Commit, IdempotencyRecord } from '../../application/ports/event-store.port.js';
import { claimPk, idempotencyPk, streamPk, toEventItem, type Item } from './dynamodb.event-item.js';

// Turns a commit (already checked for shape and COMMIT_LIMITS) into DynamoDB requests. Pure, so
// the store only sends and interprets. Every item of a transaction has a role, because
// CancellationReasons come back in item order and the conflict is read from them.

/** DynamoDB's own limits, checked on the real items: COMMIT_LIMITS counts JSON, DynamoDB counts items. */
const DYNAMO_ITEM_BYTES = 409_600;
export const DYNAMO_TRANSACTION_BYTES = 4_194_304;
export const DYNAMO_TRANSACTION_ITEMS = 100;

export type Role =
  | { readonly kind: 'event'; readonly stream: number; readonly version: number }
  /** the item at the stream's expected version exists, so a too-high expectedVersion cannot write a gap */
  | { readonly kind: 'expected-exists'; readonly stream: number }
  /** for an append of no events: the stream has not moved past its expected version */
  | { readonly kind: 'next-absent'; readonly stream: number }
  | { readonly kind: 'claim'; readonly claim: ClaimOp }
  | { readonly kind: 'idempotency' }
  /** one of `alsoRecorded`: an unconditional put, which fails only with the whole transaction */
  | { readonly kind: 'also-recorded' };

/** What a commit writes, for grouping commits into one transaction (dynamodb.commit-groups.ts). */
export type PlanFootprint = {
  /** the partition key of every item the commit writes or checks (its streams, claims, idempotency record) */
  readonly touched: readonly string[];
  /** DynamoDB's size of the items it writes */
  readonly bytes: number;
};

export type CommitPlan =
  | { readonly kind: 'empty' }
  /** the fast path: one event, one stream, no claim, no idempotency record */
  | ({ readonly kind: 'put'; readonly input: PutItemCommandInput; readonly gsk: string } & PlanFootprint)
  | ({
      readonly kind: 'transact';
      readonly items: readonly TransactWriteItem[];
      readonly roles: readonly Role[];
      /** streams whose expected version could not be checked inside the transaction (100 items) */
      readonly precheck: readonly number[];
      readonly token: (attempt: number) => string;
    } & PlanFootprint);

const S = (v: string): AttributeValue => ({ S: v });
const N = (v: number): AttributeValue => ({ N: String(v) });
const key = (pk: string, sk: number): Item => ({ pk: S(pk), sk: N(sk) });
const NOT_EXISTS = 'attribute_not_exists(pk)';
const ALL_OLD = 'ALL_OLD' as const;

/**
 * `proven(i)`: the item at stream i's expected version is known to exist. A plain
 * PutItem can only refuse to overwrite; it cannot see that the version before it exists, so a
 * too-high expected version would write a gap. Unproven streams get a ConditionCheck instead.
 */
export const planCommit = (commit: Commit, table: string, stamp: string, now: number, proven: (stream: number) => boolean): CommitPlan => {
  const { tenant, streams, claims, idempotency } = commit;
  const also = commit.alsoRecorded ?? [];
  const touched = [
    ...streams.map((s) => streamPk(tenant, s.streamId)),
    ...claims.map((c) => claimPk(tenant, c.key)),
    ...(idempotency ? [idempotencyPk(tenant, idempotency.key)] : []),
    ...also.map((r) => idempotencyPk(tenant, r.key)),
  ];
  const single = streams.length === 1 && streams[0]!.events.length === 1 ? streams[0]! : undefined;
  if (single && claims.length === 0 && !idempotency && also.length === 0 && (single.expectedVersion === 0 || proven(0))) {
    const item = toEventItem(single.events[0]!, stamp);
    const bytes = checkItemSize(item, ['streams', 0, 'events', 0]);
    return {
      kind: 'put',
      gsk: item.gsk!.S!,
      input: { TableName: table, Item: item, ConditionExpression: NOT_EXISTS, ReturnValuesOnConditionCheckFailure: ALL_OLD },
      touched,
      bytes,
    };
  }

  const items: TransactWriteItem[] = [];
  const roles: Role[] = [];
  const checks: { item: TransactWriteItem; role: Extract<Role, { kind: 'expected-exists' | 'next-absent' }> }[] = [];
  let bytes = 0;
  streams.forEach((s, i) => {
    const pk = streamPk(tenant, s.streamId);
    if (s.expectedVersion > 0 && !proven(i))
      checks.push({
        role: { kind: 'expected-exists', stream: i },
        item: { ConditionCheck: { TableName: table, Key: key(pk, s.expectedVersion), ConditionExpression: 'attribute_exists(pk)' } },
      });
    if (s.events.length === 0)
      checks.push({
        role: { kind: 'next-absent', stream: i },
        item: {
          ConditionCheck: {
            TableName: table,
            Key: key(pk, s.expectedVersion + 1),
            ConditionExpression: NOT_EXISTS,
            ReturnValuesOnConditionCheckFailure: ALL_OLD,
          },
        },
      });
    s.events.forEach((e, j) => {
      const item = toEventItem(e, stamp);
      bytes += checkItemSize(item, ['streams', i, 'events', j]);
      items.push({ Put: { TableName: table, Item: item, ConditionExpression: NOT_EXISTS, ReturnValuesOnConditionCheckFailure: ALL_OLD } });
      roles.push({ kind: 'event', stream: i, version: e.version });
    });
  });
  let claimBytes = 0;
  for (const c of claims) {
    const item = claimItem(table, tenant, c);
    claimBytes += itemBytes(item.Put?.Item ?? item.Delete!.Key!);
    items.push(item);
    roles.push({ kind: 'claim', claim: c });
  }
  if (idempotency) {
    const item = idempotencyItem(tenant, idempotency);
    bytes += checkItemSize(item, ['idempotency']);
    items.push({
      Put: {
        TableName: table,
        Item: item,
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
        ExpressionAttributeValues: { ':now': N(now) },
        ReturnValuesOnConditionCheckFailure: ALL_OLD,
      },
    });
    roles.push({ kind: 'idempotency' });
  }
  also.forEach((r, i) => {
    const item = idempotencyItem(tenant, r);
    bytes += checkItemSize(item, ['alsoRecorded', i]);
    items.push({ Put: { TableName: table, Item: item } });
    roles.push({ kind: 'also-recorded' });
  });
  if (bytes > DYNAMO_TRANSACTION_BYTES)
    throw commitTooLarge(`commit is ${bytes} bytes as DynamoDB items, the limit is ${DYNAMO_TRANSACTION_BYTES}`, ['streams'], {
      bytes,
      limit: DYNAMO_TRANSACTION_BYTES,
    });
  if (items.length === 0 && checks.length === 0) return { kind: 'empty' };

  // COMMIT_LIMITS leaves no room for the checks; "version n exists" never stops being true in an
  // append-only log, so a check that does not fit can be made by a read before the transaction.
  // A "not moved past" check can stop being true, so it must sit inside the transaction.
  const precheck: number[] = [];
  const mustFit = checks.filter((c) => c.role.kind === 'next-absent');
  for (const c of [...mustFit, ...checks.filter((c) => c.role.kind === 'expected-exists')]) {
    if (items.length < DYNAMO_TRANSACTION_ITEMS || c.role.kind === 'next-absent') {
      items.push(c.item);
      roles.push(c.role);
    } else precheck.push(c.role.stream);
  }
  if (items.length > DYNAMO_TRANSACTION_ITEMS)
    throw commitTooLarge(`commit needs ${items.length} DynamoDB items with its empty appends, the limit is ${DYNAMO_TRANSACTION_ITEMS}`, ['streams'], {
      items: items.length,
      limit: DYNAMO_TRANSACTION_ITEMS,
    });
  const identity = [
    tenant,
    stamp,
    idempotency?.key ?? '',
    ...also.map((r) => r.key),
    ...streams.map((s) => `${s.streamId}@${s.expectedVersion}+${s.events.length}`),
    ...claims.map((c) => `${c.op}:${c.key}`),
  ].join('\n');
  const token = (attempt: number) => createHash('sha256').update(`${identity}\n${attempt}`).digest('base64url').slice(0, 36);
  return { kind: 'transact', items, roles, precheck, token, touched, bytes: bytes + claimBytes };
};

const idempotencyItem = (tenant: string, { key: k, payloadHash, expiresAt }: IdempotencyRecord): Item => ({
  ...key(idempotencyPk(tenant, k), 0),
  kind: S('idempotency'),
  tenant: S(tenant),
  key: S(k),
  payloadHash: S(payloadHash),
  expiresAt: N(expiresAt),
  ttl: N(Math.ceil(expiresAt / 1000)), // DynamoDB TTL wants epoch seconds; reads still check expiresAt
});

const claimItem = (table: string, tenant: string, c: ClaimOp): TransactWriteItem => {
  const k = key(claimPk(tenant, c.key), 0);
  const names = { '#o': 'owner' }; // OWNER is a DynamoDB reserved word
  switch (c.op) {
    case 'claim':
      return {
        Put: {
          TableName: table,
          Item: { ...k, kind: S('claim'), tenant: S(tenant), key: S(c.key), owner: S(c.owner) },
          ConditionExpression: NOT_EXISTS,
          ReturnValuesOnConditionCheckFailure: ALL_OLD,
        },
      };
    case 'transfer':
      return {
        Put: {
          TableName: table,
          Item: { ...k, kind: S('claim'), tenant: S(tenant), key: S(c.key), owner: S(c.owner) },
          ConditionExpression: '#o = :expected',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':expected': S(c.expectedOwner) },
          ReturnValuesOnConditionCheckFailure: ALL_OLD,
        },
      };
    case 'release':
      return {
        Delete: {
          TableName: table,
          Key: k,
          ConditionExpression: 'attribute_not_exists(pk) OR #o = :expected',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':expected': S(c.expectedOwner) },
          ReturnValuesOnConditionCheckFailure: ALL_OLD,
        },
      };
  }
};

/** DynamoDB's item size: attribute names plus values (numbers bounded at 21 bytes). */
const valueBytes = (v: AttributeValue): number => {
  if (v.S !== undefined) return Buffer.byteLength(v.S, 'utf8');
  if (v.N !== undefined) return 21;
  if (v.L !== undefined) return v.L.reduce((n, x) => n + valueBytes(x) + 1, 3);
  if (v.M !== undefined) return Object.entries(v.M).reduce((n, [k, x]) => n + Buffer.byteLength(k) + valueBytes(x) + 1, 3);
  return 1;
};

const itemBytes = (item: Item): number => {
  let bytes = 0;
  for (const name in item) bytes += Buffer.byteLength(name) + valueBytes(item[name]!);
  return bytes;
};

const checkItemSize = (item: Item, path: readonly (string | number)[]): number => {
  const bytes = itemBytes(item);
  if (bytes > DYNAMO_ITEM_BYTES)
    throw commitTooLarge(`${path.join('.')} is ${bytes} bytes as a DynamoDB item, the limit is ${DYNAMO_ITEM_BYTES}`, path, {
      bytes,
      limit: DYNAMO_ITEM_BYTES,
    });
  return bytes;
};
