import { createHash } from 'node:crypto';
import { TransactionCanceledException, TransactionInProgressException, type CancellationReason, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { backoff } from './dynamodb.client.js';
import type { Sized } from './dynamodb.write-groups.js';

// One group of writes (event store commits, data key creations) in one TransactWriteItems,
// behaving exactly like its members written one by one in some order. When the transaction is
// cancelled, CancellationReasons (one per item, in item order) say whose conditions failed: those
// members get the answer they would get alone, read from their own reasons, and come first in the
// order; the rest, whose conditions held, are sent again as a group. A member refused for another
// reason (ValidationError, ItemCollectionSizeLimitExceeded) is written on its own and fails exactly
// as it would have alone. A group whose request DynamoDB refuses outright (4xx: validation,
// throttling beyond the SDK's retries) is written one by one, so one bad member cannot fail the
// others. An error that leaves open whether the transaction was applied (a server error or the
// network, after the SDK's own retries with the same token) fails every member, as it fails a
// write sent alone: answering them by writing again could misreport a write that did land.

export type GroupMember<R> = Sized & {
  /** its items, in the order its answer reads their cancellation reasons */
  readonly items: readonly TransactWriteItem[];
  /** names the member's writes uniquely (a commit stamp), for the group's idempotency token */
  readonly identity: string;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
};

export type GroupIo<M, R> = {
  send(items: readonly TransactWriteItem[], token: string): Promise<void>;
  /** the member written on its own, exactly as a write that was never grouped */
  single(m: M): Promise<R>;
  /** the member's answer from its own cancellation reasons (a condition of it failed) */
  answer(m: M, reasons: readonly CancellationReason[]): Promise<R>;
  /** the member's answer once the group's transaction went through */
  written(m: M): R;
  /** how often a group cancelled only by concurrent transactions or throttling is sent again */
  readonly transientRetries: number;
};

const NONE = 'None';
const FAILED = 'ConditionalCheckFailed';
const TRANSIENT = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded', 'RequestLimitExceeded']);

/** A 4xx the request itself caused: nothing was written, and sending the members apart is safe. */
const refusedOutright = (e: unknown): boolean => (e as { $fault?: string }).$fault === 'client';

const tokenOf = (members: readonly { readonly identity: string }[], round: number): string => {
  const hash = createHash('sha256');
  for (const m of members) hash.update(m.identity).update('\n');
  return hash.update(`group ${round}`).digest('base64url').slice(0, 36);
};

/** Sends one group and settles every member; never rejects. */
export const sendGroup = async <R, M extends GroupMember<R>>(members: readonly M[], io: GroupIo<M, R>): Promise<void> => {
  const apart: Promise<void>[] = [];
  const settle = (m: M, result: () => Promise<R>) => apart.push(result().then(m.resolve, m.reject));
  const oneByOne = (ms: readonly M[]) => ms.forEach((m) => settle(m, () => io.single(m)));
  let pending = members;
  try {
    for (let round = 0, transient = 0, inProgress = 0; pending.length > 0; ) {
      if (pending.length === 1) {
        oneByOne(pending);
        break;
      }
      const items = pending.flatMap((m) => m.items);
      try {
        await io.send(items, tokenOf(pending, round));
        for (const m of pending) m.resolve(io.written(m));
        break;
      } catch (e) {
        if (e instanceof TransactionInProgressException && inProgress++ < io.transientRetries) {
          await backoff(inProgress, 50); // the same token is still being applied: wait for it, then ask again
          continue;
        }
        if (!(e instanceof TransactionCanceledException)) {
          if (refusedOutright(e)) oneByOne(pending);
          else for (const m of pending) m.reject(e);
          break;
        }
        const reasons = e.CancellationReasons;
        if (!reasons || reasons.length !== items.length) {
          oneByOne(pending);
          break;
        }
        const again: M[] = [];
        let contended = false;
        let offset = 0;
        for (const m of pending) {
          const own = reasons.slice(offset, offset + m.items.length);
          offset += m.items.length;
          const codes = own.map((r) => r.Code ?? 'Unknown');
          if (codes.includes(FAILED)) settle(m, () => io.answer(m, own));
          else if (codes.some((c) => c !== NONE && !TRANSIENT.has(c))) oneByOne([m]);
          else {
            contended ||= codes.some((c) => c !== NONE);
            again.push(m);
          }
        }
        if (again.length === pending.length && !contended) {
          // cancelled, yet no member says why: nothing to learn from it as a group
          oneByOne(pending);
          break;
        }
        pending = again;
        round++;
        if (contended) {
          // only concurrent transactions or throttling got in the way: a pause, then again, or apart
          if (++transient > io.transientRetries) {
            oneByOne(pending);
            break;
          }
          await backoff(transient);
        }
      }
    }
  } catch (e) {
    // a bug above: no member may wait forever (settling twice changes nothing)
    for (const m of members) m.reject(e);
  }
  await Promise.all(apart);
};
