import type { CustomerState } from '../../domain/customer/customer.state.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { CustomerRepository } from '../customers/customer.repository.js';
import { PendingStream, toAppend, type EventStamp } from '../customers/stream-writer.js';
import type { CorePorts } from '../deps.js';
import type { EventCodec } from '../event-codec.js';
import { COMMIT_LIMITS, type ClaimOp, type Commit, type StreamAppend } from '../ports/event-store.port.js';

// The identity cluster an erasure covers, and its tombstone commit: CustomerErased on every
// stream and every identifier claim released, in one atomic commit when it fits the store's
// limits, otherwise every tombstone first and the releases after, always before any key goes.

export type Cluster = {
  readonly survivorId: string;
  /** survivor first, then its members (transitively absorbed) in the order it lists them */
  readonly ids: readonly string[];
  readonly states: ReadonlyMap<string, CustomerState>;
};

const MAX_POINTER_DEPTH = 32;

/** Fresh states (never the cache: the tombstone must cover what the log holds now). */
const loadFresh = (repo: CustomerRepository, tenant: string, id: string): Promise<CustomerState> => {
  repo.evict(tenant, id);
  return repo.load(tenant, id);
};

/** Follows merged-into pointers (erased streams keep theirs) to the survivor; undefined: no such customer. */
export const resolveCluster = async (repo: CustomerRepository, tenant: string, id: string): Promise<Cluster | undefined> => {
  let survivor = await loadFresh(repo, tenant, id);
  if (survivor.status === 'initial') return undefined;
  for (let depth = 0; survivor.mergedInto !== undefined; depth++) {
    if (depth >= MAX_POINTER_DEPTH) throw new DomainError('POINTER_CHAIN_TOO_DEEP', `merged-into chain from ${id} is longer than ${MAX_POINTER_DEPTH}`, ['customerId']);
    survivor = await loadFresh(repo, tenant, survivor.mergedInto);
  }
  const states = new Map<string, CustomerState>([[survivor.id, survivor]]);
  for (const m of survivor.members) if (!states.has(m)) states.set(m, await loadFresh(repo, tenant, m));
  return { survivorId: survivor.id, ids: [...states.keys()], states };
};

/** Every claim key the cluster's states know of, with the identifier types seen. */
export const clusterKeys = (cluster: Cluster): { readonly keys: ReadonlySet<string>; readonly types: ReadonlySet<string> } => {
  const keys = new Set<string>();
  const types = new Set<string>();
  for (const s of cluster.states.values()) {
    for (const i of s.identifiers.values()) {
      keys.add(i.key);
      types.add(i.type);
    }
    for (const m of s.merges.values()) for (const k of m.keys) keys.add(k);
  }
  return { keys, types };
};

export type TombstoneResult = { readonly status: 'done'; readonly tombstoned: number; readonly released: number } | { readonly status: 'conflict' };

export type TombstoneRequest = { readonly erasureId: string; readonly requestedId: string; readonly actor: string; readonly now: number };

/** One attempt: a conflict means the cluster changed under it; the caller re-resolves and retries. */
export const commitTombstone = async (
  ports: CorePorts,
  repo: CustomerRepository,
  codec: EventCodec,
  tenant: string,
  cluster: Cluster,
  req: TombstoneRequest,
): Promise<TombstoneResult> => {
  const { hasher, store } = ports;
  const stamp: EventStamp = { observedAt: req.now, source: `operator:${req.actor}`, sourcePriority: 0, channel: 'other' };
  const eventIdFor = (streamId: string, index: number) => hasher.digest(`${tenant}|erase|${req.erasureId}|${streamId}|${index}`);
  const pending = cluster.ids.map((id) => new PendingStream(cluster.states.get(id)!, eventIdFor));
  for (const p of pending) p.run({ type: 'Erase', erasureId: req.erasureId, requestedId: req.requestedId }, stamp);
  const written = pending.filter((p) => p.recorded.length > 0);
  // tombstones hold no personal data, so no data key is asked for (or recreated)
  const appends = await Promise.all(written.map((p) => toAppend(tenant, p, codec, ports.keys, req.now)));

  const members = new Set(cluster.ids);
  const owners = await store.readClaims(tenant, [...clusterKeys(cluster).keys]);
  const releases: ClaimOp[] = [...owners].filter(([, owner]) => members.has(owner)).map(([key, owner]) => ({ op: 'release', key, expectedOwner: owner }));

  for (const part of plan(appends, releases)) {
    const content = [...part.streams.map((s) => `${s.streamId}@${s.expectedVersion}`), ...part.claims.map((c) => c.key)].join(',');
    const payloadHash = hasher.digest(`${tenant}|erase|${req.erasureId}|${content}`);
    const commit: Commit = {
      tenant,
      idempotency: { key: `erase:${payloadHash}`, payloadHash, expiresAt: req.now + ports.settings.idempotencyTtlMs(tenant) },
      streams: part.streams,
      claims: part.claims,
    };
    const result = await store.commit(commit);
    // 'duplicate': this very part was committed by an earlier run that died before finishing
    if (result.status === 'conflict') {
      for (const id of cluster.ids) repo.evict(tenant, id);
      return { status: 'conflict' };
    }
  }
  for (const p of written) repo.remember(tenant, p.current);
  return { status: 'done', tombstoned: written.length, released: releases.length };
};

type Part = { readonly streams: readonly StreamAppend[]; readonly claims: readonly ClaimOp[] };

/** One commit when everything fits; otherwise tombstones first, then the releases. */
const plan = (appends: readonly StreamAppend[], releases: readonly ClaimOp[]): Part[] => {
  const room = COMMIT_LIMITS.maxItems - 1; // one item is the idempotency record
  const items = appends.reduce((n, a) => n + a.events.length, 0) + releases.length;
  if (items === 0) return [];
  if (items <= room) return [{ streams: appends, claims: releases }];
  const parts: Part[] = [];
  for (let i = 0; i < appends.length; i += room) parts.push({ streams: appends.slice(i, i + room), claims: [] });
  for (let i = 0; i < releases.length; i += room) parts.push({ streams: [], claims: releases.slice(i, i + room) });
  return parts;
};
