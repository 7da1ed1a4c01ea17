import { DomainError } from '../../domain/shared/errors.js';
import { COMMIT_LIMITS, type ClaimOp, type Commit } from './event-store.port.js';

// Checks every event store runs before it writes anything, so that all adapters accept and refuse
// exactly the same commits (DynamoDB's transaction limits are the tightest, so they are the rule).

/** Malformed commits are bugs in the caller, not conflicts: fail loudly. */
export const checkCommitShape = (commit: Commit): void => {
  const seen = commit.streams.length > 1 ? new Set<string>() : undefined;
  for (const s of commit.streams) {
    if (seen?.has(s.streamId)) throw new Error(`commit appends to stream ${s.streamId} twice`);
    seen?.add(s.streamId);
    if (!Number.isInteger(s.expectedVersion) || s.expectedVersion < 0) throw new Error(`stream ${s.streamId}: bad expectedVersion ${s.expectedVersion}`);
    let version = s.expectedVersion;
    for (const e of s.events) {
      version++;
      if (e.version !== version) throw new Error(`stream ${s.streamId}: event ${e.eventId} has version ${e.version}, expected ${version}`);
      if (e.streamId !== s.streamId) throw new Error(`stream ${s.streamId}: event ${e.eventId} belongs to stream ${e.streamId}`);
      if (e.tenant !== commit.tenant) throw new Error(`stream ${s.streamId}: event ${e.eventId} belongs to tenant ${e.tenant}, not ${commit.tenant}`);
    }
  }
  const also = commit.alsoRecorded;
  if (also && also.length > 0) {
    const keys = new Set(commit.idempotency ? [commit.idempotency.key] : []);
    for (const r of also) {
      if (keys.has(r.key)) throw new Error(`commit records idempotency key ${r.key} twice`);
      keys.add(r.key);
    }
  }
  if (commit.claims.length > 1) {
    const keys = new Set<string>();
    for (const c of commit.claims) {
      if (keys.has(c.key)) throw new Error(`commit touches claim ${c.key} twice`);
      keys.add(c.key);
    }
  }
};

export const commitTooLarge = (message: string, path: readonly (string | number)[], details: Record<string, unknown>): DomainError =>
  new DomainError('COMMIT_TOO_LARGE', `${message}; split the call or trim its payload`, path, details);

/** UTF-8 length of a string, as DynamoDB counts it (no Buffer: this layer stays runtime-neutral). */
export const utf8Bytes = (s: string): number => {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3; // lone surrogates count as U+FFFD, as Buffer.byteLength does
  }
  return n;
};

/**
 * An upper bound of the UTF-8 size of JSON.stringify(value) without building the string (6 bytes
 * per UTF-16 unit covers \uXXXX escapes). Stringifying every event cost a quarter of a commit.
 */
const boundBytes = (v: unknown): number => {
  switch (typeof v) {
    case 'string':
      return 6 * v.length + 2;
    case 'object': {
      if (v === null) return 4;
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return utf8Bytes(JSON.stringify(v) ?? '');
      let n = 2;
      if (Array.isArray(v)) for (const x of v) n += boundBytes(x) + 1;
      else for (const k in v) n += 6 * k.length + 4 + boundBytes((v as Record<string, unknown>)[k]);
      return n;
    }
    default:
      return 24; // numbers, booleans, null-ish; undefined and functions are dropped by JSON
  }
};

const exactBytes = (value: unknown): number => utf8Bytes(JSON.stringify(value) ?? '');

/** Every adapter enforces DynamoDB's transaction limits, so a commit that fits one store fits all. */
export const checkCommitLimits = (commit: Commit): void => {
  const { maxItems, maxBytes, maxItemBytes } = COMMIT_LIMITS;
  let items = commit.claims.length + (commit.idempotency ? 1 : 0) + (commit.alsoRecorded?.length ?? 0);
  for (const s of commit.streams) items += s.events.length;
  if (items > maxItems) throw commitTooLarge(`commit has ${items} items, the limit is ${maxItems}`, ['streams'], { items, limit: maxItems });

  // Bounds first; the exact size is only computed where a bound crosses a limit.
  let bound = boundBytes(commit.claims) + boundBytes(commit.idempotency) + boundBytes(commit.alsoRecorded);
  for (let i = 0; i < commit.streams.length; i++) {
    const events = commit.streams[i]!.events;
    for (let j = 0; j < events.length; j++) {
      let bytes = boundBytes(events[j]);
      if (bytes > maxItemBytes && (bytes = exactBytes(events[j])) > maxItemBytes)
        throw commitTooLarge(`event ${events[j]!.eventId} is ${bytes} bytes, the limit is ${maxItemBytes}`, ['streams', i, 'events', j], {
          bytes,
          limit: maxItemBytes,
        });
      bound += bytes;
    }
  }
  if (bound <= maxBytes) return;
  let total =
    exactBytes(commit.claims) + (commit.idempotency ? exactBytes(commit.idempotency) : 0) + (commit.alsoRecorded ? exactBytes(commit.alsoRecorded) : 0);
  for (const s of commit.streams) for (const e of s.events) total += exactBytes(e);
  if (total > maxBytes) throw commitTooLarge(`commit is ${total} bytes, the limit is ${maxBytes}`, ['streams'], { bytes: total, limit: maxBytes });
};

/** Whether a claim operation may apply to a key currently held by `owner` (undefined: unclaimed). */
export const claimHolds = (c: ClaimOp, owner: string | undefined): boolean => {
  switch (c.op) {
    case 'claim':
      return owner === undefined;
    case 'release':
      return owner === undefined || owner === c.expectedOwner;
    case 'transfer':
      return owner === c.expectedOwner;
  }
};
