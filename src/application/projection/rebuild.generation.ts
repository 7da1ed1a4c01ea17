import type { CustomerEvent, EventMeta, EventOf, RecordedEvent } from '../../domain/customer/customer.events.js';
import { BUILDER_TYPES, Customer360Builder } from '../../domain/projection/customer360.builder.js';
import type { ViewDoc } from '../ports/read-model.port.js';
import type { ViewDocs } from './customer360.projector.js';

// A rebuild's generation in progress. The events of the plain path take it right here, into
// mutable builders, instead of a new doc per event: activity (follow pointers to the root view,
// fold the next version of a member stream) and a merge whose two views are complete up to it
// (join them, point the absorbed customer and its members at the survivor); the absorbed side's
// CustomerMergedInto that such a merge already covers is skipped, as the projector skips it.
// Everything else (unmerges, restores, erasures, duplicates, gaps, merges that arrive early)
// goes through the projector, which sees docs through ViewDocs: a doc under construction is made
// when it is read, and becomes a builder again on its next event. tryFold must stay what
// Customer360Projector.applyOne (and joinMerge) does for such an event; the laws "rebuild equals
// live" (projection.laws.test.ts) and "rebuild generation" (rebuild.laws.test.ts) check it does.

const MAX_DEPTH = 32;

/** The event types tryFold may take: run any batch of others through the projector before one. */
export const GENERATION_TYPES: ReadonlySet<string> = new Set([...BUILDER_TYPES, 'CustomerMerged', 'CustomerMergedInto']);

type View = Extract<ViewDoc, { kind: 'view' }>;
type MergeData = EventOf<'CustomerMerged'>['data'];

/** A member stream of a doc under construction: the last version folded (its entry in `applied`). */
class Member {
  /** the generation's epoch when this became its stream's route */
  routed = -1;

  constructor(
    readonly streamId: string,
    public version: number,
    readonly building: Building,
  ) {}
}

class Building {
  private made: View | undefined;
  /** false once absorbed into another: routes to it are stale */
  live = true;

  private constructor(
    readonly customerId: string,
    private version: number,
    /** the doc's `applied`, in its order; a Map: each cluster's stream ids would give a record its own hidden class */
    readonly applied: Map<string, Member>,
    private readonly builder: Customer360Builder,
  ) {}

  static of(doc: View): Building {
    const b = new Building(doc.customerId, doc.version, new Map(), new Customer360Builder(doc.view));
    for (const [id, v] of Object.entries(doc.applied)) b.applied.set(id, new Member(id, v, b));
    return b;
  }

  static empty(id: string): Building {
    return new Building(id, 0, new Map(), Customer360Builder.empty(id));
  }

  /** The member `streamId`, added (at version 0, not folded yet) when it is new to this doc. */
  member(streamId: string): Member {
    let m = this.applied.get(streamId);
    if (m === undefined) this.applied.set(streamId, (m = new Member(streamId, 0, this)));
    return m;
  }

  fold(m: Member, r: EventMeta, e: CustomerEvent): void {
    if (m.streamId === this.customerId && r.version > this.version) this.version = r.version;
    m.version = r.version;
    this.builder.addEvent(r, e);
    this.made = undefined;
  }

  /** joinMerge's view: `{ ...own.applied, ...absorbed.applied, [absorbedId]: absorbedVersion + 1, [own]: version }`. */
  absorb(absorbed: Building, version: number, merge: MergeData): void {
    for (const [id, m] of absorbed.applied) this.member(id).version = m.version;
    // the absorbed stream's next and last event is its CustomerMergedInto (same commit)
    this.member(merge.absorbedId).version = merge.absorbedVersion + 1;
    this.member(this.customerId).version = version;
    this.version = version;
    this.builder.absorb(absorbed.builder);
    this.made = undefined;
    absorbed.live = false;
  }

  doc(): View {
    if (this.made) return this.made;
    const applied: [string, number][] = [];
    for (const [id, m] of this.applied) applied.push([id, m.version]);
    return (this.made = { kind: 'view', customerId: this.customerId, version: this.version, applied: Object.fromEntries(applied), view: this.builder.build() });
  }
}

const appliedOf = (d: ViewDoc | Building, id: string): number | undefined => (d instanceof Building ? d.applied.get(id)?.version : d.applied[id]);
const isView = (d: ViewDoc | Building | undefined): d is View | Building => d !== undefined && (d instanceof Building || d.kind === 'view');

export class Generation implements ViewDocs {
  private readonly docs = new Map<string, ViewDoc | Building>();
  /**
   * Where each stream's events went last (a cache of following its pointers to the root's doc).
   * Valid while its doc is live and no doc was written by the projector since (`epoch`), which
   * may re-point any stream; an in-place merge retires the absorbed doc's routes.
   */
  private readonly routes = new Map<string, Member>();
  private epoch = 0;
  /** events skipped as already folded, as the projector skips them (and counts them: projection_duplicate_skipped) */
  skipped = 0;
  /** ids whose docs the projector deleted: erased clusters, whose later events it passes over */
  private readonly deleted = new Set<string>();

  async get(_tenant: string, id: string): Promise<ViewDoc | undefined> {
    const d = this.docs.get(id);
    return d instanceof Building ? d.doc() : d;
  }

  async put(_tenant: string, doc: ViewDoc): Promise<boolean> {
    this.epoch++;
    this.docs.set(doc.customerId, doc);
    return true;
  }

  async delete(_tenant: string, id: string): Promise<void> {
    this.epoch++;
    this.docs.delete(id);
    this.deleted.add(id);
  }

  deletedHere(id: string): boolean {
    return this.deleted.has(id);
  }

  get size(): number {
    return this.docs.size;
  }

  /** Folds an event as the projector would; false when the projector must take it. */
  tryFold(r: RecordedEvent): boolean {
    return this.tryFoldEvent(r, r.event);
  }

  /** tryFold, for an event and its envelope apart (a stored event's: no RecordedEvent per event). */
  tryFoldEvent(r: EventMeta, e: CustomerEvent): boolean {
    if (e.type === 'CustomerMerged') return this.tryMerge(r, e.data);
    if (e.type === 'CustomerMergedInto') {
      // after a merge joined in place (same commit) the pointer is there already: the projector skips it
      const own = this.docs.get(r.streamId);
      if (own === undefined || (appliedOf(own, r.streamId) ?? 0) < r.version) return false;
      this.skipped++;
      return true;
    }
    if (!BUILDER_TYPES.has(e.type)) return false;
    const route = this.routes.get(r.streamId);
    if (route !== undefined && route.routed === this.epoch && route.building.live) {
      const m = route;
      // a duplicate or a gap: the projector skips it or reads the stream again
      if (r.version !== m.version + 1) return false;
      m.building.fold(m, r, e);
      return true;
    }
    let rootId = r.streamId;
    let d = this.docs.get(rootId);
    for (let depth = 0; d !== undefined && !(d instanceof Building) && d.kind === 'pointer'; depth++) {
      if (depth >= MAX_DEPTH) return false; // the projector reports the broken chain
      rootId = d.mergedInto;
      d = this.docs.get(rootId);
    }
    const b = d === undefined ? Building.empty(rootId) : d instanceof Building ? d : Building.of(d as View);
    if (r.version !== (b.applied.get(r.streamId)?.version ?? 0) + 1) return false;
    const m = b.member(r.streamId);
    b.fold(m, r, e);
    if (b !== d) this.docs.set(rootId, b);
    m.routed = this.epoch;
    this.routes.set(r.streamId, m);
    return true;
  }

  /** joinMerge: both views complete up to the merge are joined; otherwise the projector folds the cluster again. */
  private tryMerge(r: EventMeta, merge: MergeData): boolean {
    if (merge.absorbedId === r.streamId) return false;
    const own = this.docs.get(r.streamId);
    if (!isView(own) || appliedOf(own, r.streamId) !== r.version - 1) return false;
    const absorbed = this.docs.get(merge.absorbedId);
    if (!isView(absorbed) || appliedOf(absorbed, merge.absorbedId) !== merge.absorbedVersion) return false;
    for (const m of merge.absorbedMembers) if (appliedOf(absorbed, m) === undefined) return false;
    const survivor = own instanceof Building ? own : Building.of(own);
    const gone = absorbed instanceof Building ? absorbed : Building.of(absorbed);
    survivor.absorb(gone, r.version, merge);
    if (survivor !== own) this.docs.set(r.streamId, survivor);
    const pointer = (id: string, version: number): ViewDoc => ({
      kind: 'pointer',
      customerId: id,
      version,
      applied: { [id]: version },
      mergedInto: r.streamId,
    });
    this.docs.set(merge.absorbedId, pointer(merge.absorbedId, merge.absorbedVersion + 1));
    for (const m of merge.absorbedMembers) this.docs.set(m, pointer(m, gone.applied.get(m)!.version));
    return true;
  }

  /** Every doc, made: the generation to swap in. */
  *made(): IterableIterator<[string, ViewDoc]> {
    for (const [id, d] of this.docs) yield [id, d instanceof Building ? d.doc() : d];
  }
}
