import type { CancellationReason } from '@aws-sdk/client-dynamodb';
import type { Commit } from '../../application/ports/event-store.port.js';
import type { Role } from './dynamodb.commit-plan.js';

// Reads a cancelled transaction's CancellationReasons (one per item, in item order, with the old
// item of each failed condition: ReturnValuesOnConditionCheckFailure=ALL_OLD) as what the port's
// conflict must report. Whatever the reasons do not pin down is left `undefined` for the store
// to read. Versions are gapless, so a put at version v fails exactly when the stream is at >= v:
// failed puts are a prefix, and the first put that passed pins the current version.

export type Cancellation =
  | { readonly kind: 'duplicate'; readonly payloadHash: string }
  /** nothing failed a condition: a concurrent transaction or throttling got in the way; send again */
  | { readonly kind: 'transient' }
  | {
      readonly kind: 'conflict';
      /** current version per stream of the commit, by index; undefined: read it */
      readonly streams: readonly (number | undefined)[];
      /** current owner per claim key; null: unclaimed; undefined: read it */
      readonly claims: ReadonlyMap<string, string | null | undefined>;
    };

const TRANSIENT = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded', 'RequestLimitExceeded']);
const FAILED = 'ConditionalCheckFailed';

export const readCancellation = (commit: Commit, roles: readonly Role[], reasons: readonly CancellationReason[] | undefined, now: number): Cancellation => {
  const codes = roles.map((_, i) => reasons?.[i]?.Code ?? 'Unknown');
  const unexpected = codes.filter((c) => c !== 'None' && c !== FAILED && !TRANSIENT.has(c) && c !== 'Unknown');
  if (unexpected.length)
    throw new Error(
      `DynamoDB refused the commit: ${[...new Set(unexpected)].join(', ')} (${reasons
        ?.map((r) => r.Message)
        .filter(Boolean)
        .join('; ')})`,
    );
  if (reasons && !codes.includes(FAILED)) return { kind: 'transient' };

  const streams: (number | undefined)[] = commit.streams.map((s) => s.expectedVersion);
  const puts: string[][] = commit.streams.map(() => []);
  const claims = new Map<string, string | null | undefined>();
  let duplicate: string | undefined;
  roles.forEach((role, i) => {
    const code = codes[i]!;
    const old = reasons?.[i]?.Item;
    switch (role.kind) {
      case 'idempotency': {
        const expiresAt = Number(old?.expiresAt?.N);
        const payloadHash = old?.payloadHash?.S;
        // the memory store's rule: a recorded, unexpired key wins over every other conflict
        if (code === FAILED && payloadHash !== undefined && expiresAt > now) duplicate = payloadHash;
        return;
      }
      case 'also-recorded':
        return;
      case 'event':
        puts[role.stream]!.push(code);
        return;
      case 'expected-exists':
      case 'next-absent':
        // below the expected version, or past it: either way the exact version needs a read
        if (code !== 'None') streams[role.stream] = undefined;
        return;
      case 'claim': {
        const c = role.claim;
        if (code === FAILED) claims.set(c.key, old?.owner?.S ?? null);
        else if (code !== 'None') claims.set(c.key, undefined);
        // a passed condition says who owns the key, except for release: unclaimed or expected owner
        else claims.set(c.key, c.op === 'claim' ? null : c.op === 'transfer' ? c.expectedOwner : undefined);
        return;
      }
    }
  });
  if (duplicate !== undefined) return { kind: 'duplicate', payloadHash: duplicate };

  commit.streams.forEach((s, i) => {
    const codes = puts[i]!;
    const failed = codes.indexOf('None') === -1 ? codes.length : codes.indexOf('None');
    const pinned = codes.slice(failed).every((c) => c === 'None') && codes.slice(0, failed).every((c) => c === FAILED);
    // all puts failed: the stream is at least that far along, exactly where is unknown
    if (streams[i] !== undefined) streams[i] = pinned && (failed < codes.length || codes.length === 0) ? s.expectedVersion + failed : undefined;
  });
  if (!reasons) return { kind: 'conflict', streams: streams.map(() => undefined), claims: new Map(commit.claims.map((c) => [c.key, undefined])) };
  return { kind: 'conflict', streams, claims };
};
