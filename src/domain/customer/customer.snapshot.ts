import { z } from 'zod';
import { MergeEvidence } from './customer.events.js';
import type { ClusterIdentifier, CustomerState, MergeRecord } from './customer.state.js';

// A CustomerState as plain JSON, so loading a long stream folds a snapshot plus the tail.
// Snapshots are a cache, never a source of truth: bump SNAPSHOT_SCHEMA whenever evolve or
// CustomerState changes meaning, and every older snapshot is ignored (the stream is folded from
// the start). Like the state, a snapshot holds claim keys and types only, never a personal value.
//
// Maps and Sets become arrays in the fold's own insertion order, not re-sorted: decide iterates
// them into events (CustomerMerged lists the absorbed identifiers and doNotLink in that order), so
// a restored state must iterate exactly like the folded one. The fold is deterministic, so the
// same history always gives the same snapshot.

// 2: a merge's evidence holds no operator's reason any more (it went into the event's pii); a
// snapshot of schema 1 may still hold one, readable, and is folded again rather than read
export const SNAPSHOT_SCHEMA = 2;

// built on first parse, not at import (a Lambda's cold start builds no schema it does not use)
const snapshotSchema = () => {
  const Identifier = z.strictObject({
    type: z.string(),
    key: z.string(),
    observedAt: z.number(),
    origin: z.string(),
    viaMerge: z.string().optional(),
  });

  const Merge = z.strictObject({
    mergeId: z.string(),
    absorbedId: z.string(),
    absorbedMembers: z.array(z.string()),
    absorbedFirstObservedAt: z.number(),
    keys: z.array(z.string()),
    atVersion: z.number().int().nonnegative(),
    observedAt: z.number(),
    eventId: z.string(),
    evidence: MergeEvidence,
  });

  const CustomerSnapshot = z.strictObject({
    schema: z.literal(SNAPSHOT_SCHEMA),
    status: z.enum(['initial', 'active', 'merged', 'erased']),
    id: z.string(),
    version: z.number().int().nonnegative(),
    /** null before registration: the state's +Infinity has no JSON form */
    firstObservedAt: z.number().nullable(),
    identifiers: z.array(Identifier),
    rejections: z.array(z.string()),
    mergedInto: z.string().optional(),
    members: z.array(z.string()),
    merges: z.array(Merge),
    doNotLink: z.array(z.string()),
    lastPlace: z.string().optional(),
    /** absent means false: snapshots from before restrictions existed stay valid */
    restricted: z.boolean().optional(),
    /** absent means none: snapshots from before requested ids were recorded stay valid (their events name none) */
    restrictedThrough: z.string().optional(),
  });
  return CustomerSnapshot;
};
export const CustomerSnapshot = z.lazy(snapshotSchema);
export type CustomerSnapshot = z.infer<ReturnType<typeof snapshotSchema>>;

export const toSnapshot = (s: CustomerState): CustomerSnapshot => ({
  schema: SNAPSHOT_SCHEMA,
  status: s.status,
  id: s.id,
  version: s.version,
  firstObservedAt: Number.isFinite(s.firstObservedAt) ? s.firstObservedAt : null,
  identifiers: [...s.identifiers.values()].map((i) => ({ ...i })),
  rejections: [...s.rejections],
  mergedInto: s.mergedInto,
  members: [...s.members],
  merges: [...s.merges.values()].map((m) => ({ ...m, absorbedMembers: [...m.absorbedMembers], keys: [...m.keys] })),
  doNotLink: [...s.doNotLink],
  lastPlace: s.lastPlace,
  ...(s.restricted ? { restricted: true } : {}),
  ...(s.restrictedThrough !== undefined ? { restrictedThrough: s.restrictedThrough } : {}),
});

export const fromSnapshot = (s: CustomerSnapshot): CustomerState => ({
  status: s.status,
  id: s.id,
  version: s.version,
  firstObservedAt: s.firstObservedAt ?? Number.POSITIVE_INFINITY,
  identifiers: new Map(s.identifiers.map((i): [string, ClusterIdentifier] => [i.key, i])),
  rejections: new Set(s.rejections),
  mergedInto: s.mergedInto,
  members: s.members,
  merges: new Map(s.merges.map((m): [string, MergeRecord] => [m.mergeId, m])),
  doNotLink: new Set(s.doNotLink),
  lastPlace: s.lastPlace,
  restricted: s.restricted === true,
  restrictedThrough: s.restrictedThrough,
});
