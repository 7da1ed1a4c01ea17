import { createHash } from 'node:crypto';
import { TransactionCanceledException, TransactionInProgressException, type CancellationReason, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import type { Commit, CommitResult } from '../../application/ports/event-store.port.js';
import { backoff } from './dynamodb.client.js';
import type { CommitPlan, Role } from './dynamodb.commit-plan.js';
import type { Sized } from './dynamodb.commit-groups.js';

// One group of commits in one TransactWriteItems, behaving exactly like its members committed one
// by one in some order. When the transaction is cancelled, CancellationReasons (one per item, in
// item order) say whose conditions failed: those members get the answer they would get alone
// (conflict or duplicate, read by the single-commit path from their own reasons), they go first
// in the order; the rest, whose conditions held, are sent again as a group. A member refused for
// another reason (ValidationError, ItemCollectionSizeLimitExceeded) is committed on its own and
// fails exactly as it would have alone. A group whose request DynamoDB refuses outright (4xx:
// validation, throttling beyond the SDK's retries) is committed one by one, so one bad member
// cannot fail the others. An error that leaves open whether the transaction was applied (a
// server error or the network, after the SDK's own retries with the same token) fails every
// member, as it fails a commit sent alone: answering them by committing again could misreport a
// commit that did land as a conflict.

export type Member = Sized & {
  readonly commit: Commit;
  readonly plan: Extract<CommitPlan, { kind: 'put' | 'transact' }>;
  readonly now: number;
  readonly resolve: (result: CommitResult) => void;
  readonly reject: (error: unknown) => void;
};

export type GroupIo = {
  send(items: readonly TransactWriteItem[], token: string): Promise<void>;
  /** the member committed on its own, exactly as a commit that was never grouped */
  single(m: Member): Promise<CommitResult>;
  /** the member's answer from its own cancellation reasons (some condition of it failed) */
  answer(m: Member, roles: readonly Role[], reasons: readonly CancellationReason[]): Promise<CommitResult>;
  committed(m: Member): CommitResult;
  /** how often a group cancelled only by concurrent transactions or throttling is sent again */
  readonly transientRetries: number;
};

const NONE = 'None';
const FAILED = 'ConditionalCheckFailed';
const TRANSIENT = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded', 'RequestLimitExceeded']);

/** The member's items and roles, as they sit in a transaction. */
export const memberItems = (m: Member): { readonly items: readonly TransactWriteItem[]; readonly roles: readonly Role[] } =>
  m.plan.kind === 'put'
    ? { items: [{ Put: m.plan.input as NonNullable<TransactWriteItem['Put']> }], roles: [{ kind: 'event', stream: 0, version: m.commit.streams[0]!.events[0]!.version }] }
    : m.plan;

/** A 4xx the request itself caused: nothing was written, and sending the members apart is safe. */
const refusedOutright = (e: unknown): boolean => (e as { $fault?: string }).$fault === 'client';

const settle = (m: Member, result: Promise<CommitResult>): Promise<void> => result.then(m.resolve, m.reject);

const tokenOf = (members: readonly Member[], round: number): string => {
  const hash = createHash('sha256');
  for (const m of members) hash.update(m.plan.kind === 'put' ? m.plan.gsk : m.plan.token(0)).update('\n');
  return hash.update(`group ${round}`).digest('base64url').slice(0, 36);
};

export const commitGroup = async (members: readonly Member[], io: GroupIo): Promise<void> => {
  const apart: Promise<void>[] = [];
  const oneByOne = (ms: readonly Member[]) => apart.push(...ms.map((m) => settle(m, io.single(m))));
  let pending = members;
  for (let round = 0, transient = 0, inProgress = 0; pending.length > 0; ) {
    if (pending.length === 1) {
      oneByOne(pending);
      break;
    }
    const parts = pending.map(memberItems);
    const items = parts.flatMap((p) => p.items);
    try {
      await io.send(items, tokenOf(pending, round));
      for (const m of pending) m.resolve(io.committed(m));
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
      const again: Member[] = [];
      let contended = false;
      let offset = 0;
      pending.forEach((m, i) => {
        const { roles } = parts[i]!;
        const own = reasons.slice(offset, offset + roles.length);
        offset += roles.length;
        const codes = own.map((r) => r.Code ?? 'Unknown');
        if (codes.includes(FAILED)) apart.push(settle(m, io.answer(m, roles, own)));
        else if (codes.some((c) => c !== NONE && !TRANSIENT.has(c))) oneByOne([m]);
        else {
          contended ||= codes.some((c) => c !== NONE);
          again.push(m);
        }
      });
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
  await Promise.all(apart);
};
