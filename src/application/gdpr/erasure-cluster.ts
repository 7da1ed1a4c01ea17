import type { CustomerState } from '../../domain/customer/customer.state.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { Write } from '../commands/command-pipeline.js';
import { PendingStream, type EventStamp } from '../commands/pending-stream.js';
import type { CustomerRepository } from '../customers/customer.repository.js';
import type { CorePorts } from '../deps.js';
import type { ClaimOp } from '../ports/event-store.port.js';

// The identity cluster an erasure covers, and its tombstone: CustomerErased on every stream and
// every identifier claim released, in one atomic commit when it fits the store's limits.

export type Cluster = {
  readonly survivorId: string;
  /**
   * survivor first, then its members (transitively absorbed) in the order it lists them, then any
   * id on the merged-into path from the requested id that the survivor no longer lists (read
   * before an unmerge committed): the tombstone then carries that id's stale version and loses
   * its commit, so the cluster is resolved again rather than leaving the requested id out
   */
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
  // each stream is read once, at its own moment: a merge or unmerge may commit between two reads
  const path: CustomerState[] = [];
  for (let depth = 0; survivor.mergedInto !== undefined; depth++) {
    if (depth >= MAX_POINTER_DEPTH)
      throw new DomainError('POINTER_CHAIN_TOO_DEEP', `merged-into chain from ${id} is longer than ${MAX_POINTER_DEPTH}`, ['customerId']);
    path.push(survivor);
    survivor = await loadFresh(repo, tenant, survivor.mergedInto);
  }
  const states = new Map<string, CustomerState>([[survivor.id, survivor]]);
  for (const m of survivor.members) if (!states.has(m)) states.set(m, path.find((p) => p.id === m) ?? (await loadFresh(repo, tenant, m)));
  for (const p of path) if (!states.has(p.id)) states.set(p.id, p);
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

export type TombstoneRequest = { readonly erasureId: string; readonly requestedId: string; readonly actor: string; readonly now: number };

export type Tombstoned = { readonly cluster: Cluster; readonly tombstoned: number; readonly released: number };

/**
 * The tombstone as a write: CustomerErased on every stream of the cluster and every claim it holds
 * released. Too big for one commit, it lands in parts: every tombstone first, then the releases,
 * always before any key goes.
 */
export const tombstoneWrite = async (ports: CorePorts, tenant: string, cluster: Cluster, req: TombstoneRequest): Promise<Write<Tombstoned>> => {
  const stamp: EventStamp = { observedAt: req.now, source: `operator:${req.actor}`, sourcePriority: 0, channel: 'other' };
  const eventIdFor = (streamId: string, index: number) => ports.hasher.digest(`${tenant}|erase|${req.erasureId}|${streamId}|${index}`);
  const pending = cluster.ids.map((id) => new PendingStream(cluster.states.get(id)!, eventIdFor));
  for (const p of pending) p.run({ type: 'Erase', erasureId: req.erasureId, requestedId: req.requestedId }, stamp);
  const members = new Set(cluster.ids);
  const owners = await ports.store.readClaims(tenant, [...clusterKeys(cluster).keys]);
  const releases: ClaimOp[] = [...owners].filter(([, owner]) => members.has(owner)).map(([key, owner]) => ({ op: 'release', key, expectedOwner: owner }));
  return {
    kind: 'write',
    streams: pending,
    claims: releases,
    // the erasure deletes the views itself
    project: false,
    parts: { key: `erase:${req.erasureId}` },
    committed: () => ({ cluster, tombstoned: pending.filter((p) => p.recorded.length > 0).length, released: releases.length }),
  };
};
