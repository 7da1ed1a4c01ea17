import type { EventOf, RecordedEvent } from '../../domain/customer/customer.events.js';
import { BUILDER_TYPES, Customer360Builder } from '../../domain/projection/customer360.builder.js';
import { emptyView } from '../../domain/projection/customer360.js';
import type { ViewDoc } from '../ports/read-model.port.js';
import type { ViewDocs } from './customer360.projector.js';

// A rebuild's generation in progress. The events of the plain path take it right here, into
// mutable builders, instead of a new doc per event: activity (follow pointers to the root view,
// fold the next version of a member stream) and a merge whose two views are complete up to it
// (join them, point the absorbed customer and its members at the survivor). Everything else
// (unmerges, restores, erasures, the absorbed side's CustomerMergedInto, duplicates, gaps,
// merges that arrive early) goes through the projector, which sees docs through ViewDocs: a doc
// under construction is made when it is read, and becomes a builder again on its next event.
// tryFold must stay what Customer360Projector.applyOne (and joinMerge) does for such an event;
// the laws "rebuild equals live" and "the generation equals the projector" check that it does.

const MAX_DEPTH = 32;

/** The event types tryFold may take: run any batch of others through the projector before one. */
export const GENERATION_TYPES: ReadonlySet<string> = new Set([...BUILDER_TYPES, 'CustomerMerged']);

type View = Extract<ViewDoc, { kind: 'view' }>;
type MergeData = EventOf<'CustomerMerged'>['data'];

class Building {
  private made: View | undefined;

  private constructor(
    readonly customerId: string,
    private version: number,
    // a Map, not a record: each cluster's stream ids would give every record its own hidden class
    readonly applied: Map<string, number>,
    private readonly builder: Customer360Builder,
  ) {}

  static of(doc: View): Building {
    return new Building(doc.customerId, doc.version, new Map(Object.entries(doc.applied)), new Customer360Builder(doc.view));
  }

  static empty(id: string): Building {
    return new Building(id, 0, new Map(), new Customer360Builder(emptyView(id)));
  }

  fold(r: RecordedEvent, isRoot: boolean): void {
    if (isRoot && r.version > this.version) this.version = r.version;
    this.applied.set(r.streamId, r.version);
    this.builder.add(r);
    this.made = undefined;
  }

  /** joinMerge's view: `{ ...own.applied, ...absorbed.applied, [absorbedId]: absorbedVersion + 1, [own]: version }`. */
  absorb(absorbed: Building, version: number, merge: MergeData): void {
    for (const [id, v] of absorbed.applied) this.applied.set(id, v);
    // the absorbed stream's next and last event is its CustomerMergedInto (same commit)
    this.applied.set(merge.absorbedId, merge.absorbedVersion + 1);
    this.applied.set(this.customerId, version);
    this.version = version;
    this.builder.absorb(absorbed.builder);
    this.made = undefined;
  }

  doc(): View {
    return (this.made ??= {
      kind: 'view',
      customerId: this.customerId,
      version: this.version,
      applied: Object.fromEntries(this.applied),
      view: this.builder.build(),
    });
  }
}

const appliedOf = (d: ViewDoc | Building, id: string): number | undefined => (d instanceof Building ? d.applied.get(id) : d.applied[id]);
const isView = (d: ViewDoc | Building | undefined): d is View | Building => d !== undefined && (d instanceof Building || d.kind === 'view');

export class Generation implements ViewDocs {
  private readonly docs = new Map<string, ViewDoc | Building>();

  async get(_tenant: string, id: string): Promise<ViewDoc | undefined> {
    const d = this.docs.get(id);
    return d instanceof Building ? d.doc() : d;
  }

  async put(_tenant: string, doc: ViewDoc): Promise<boolean> {
    this.docs.set(doc.customerId, doc);
    return true;
  }

  async delete(_tenant: string, id: string): Promise<void> {
    this.docs.delete(id);
  }

  get size(): number {
    return this.docs.size;
  }

  /** Folds an event as the projector would; false when the projector must take it. */
  tryFold(r: RecordedEvent): boolean {
    const e = r.event;
    if (e.type === 'CustomerMerged') return this.tryMerge(r, e.data);
    if (!BUILDER_TYPES.has(e.type)) return false;
    let rootId = r.streamId;
    let d = this.docs.get(rootId);
    for (let depth = 0; d !== undefined && !(d instanceof Building) && d.kind === 'pointer'; depth++) {
      if (depth >= MAX_DEPTH) return false; // the projector reports the broken chain
      rootId = d.mergedInto;
      d = this.docs.get(rootId);
    }
    const b = d === undefined ? Building.empty(rootId) : d instanceof Building ? d : Building.of(d as View);
    // a duplicate or a gap: the projector skips it or reads the stream again
    if (r.version !== (b.applied.get(r.streamId) ?? 0) + 1) return false;
    b.fold(r, r.streamId === rootId);
    if (b !== d) this.docs.set(rootId, b);
    return true;
  }

  /** joinMerge: both views complete up to the merge are joined; otherwise the projector folds the cluster again. */
  private tryMerge(r: RecordedEvent, merge: MergeData): boolean {
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
    for (const m of merge.absorbedMembers) this.docs.set(m, pointer(m, gone.applied.get(m)!));
    return true;
  }

  /** Every doc, made: the generation to swap in. */
  *made(): IterableIterator<[string, ViewDoc]> {
    for (const [id, d] of this.docs) yield [id, d instanceof Building ? d.doc() : d];
  }
}
