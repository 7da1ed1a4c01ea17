import type { RecordedEvent } from '../../domain/customer/customer.events.js';
import { BUILDER_TYPES, Customer360Builder } from '../../domain/projection/customer360.builder.js';
import { emptyView } from '../../domain/projection/customer360.js';
import type { ViewDoc } from '../ports/read-model.port.js';
import type { ViewDocs } from './customer360.projector.js';

// A rebuild's generation in progress. Activity events take the projector's plain path (follow
// pointers to the root view, fold the next version of a member stream) right here, into mutable
// builders, instead of a new doc per event. Everything else (merges, unmerges, erasures,
// duplicates, gaps) goes through the projector, which sees docs through ViewDocs: a doc under
// construction is made when it is read. tryFold must stay what Customer360Projector.applyOne does
// for such an event; the law "rebuild equals live" checks that it does.

const MAX_DEPTH = 32;

type View = Extract<ViewDoc, { kind: 'view' }>;

class Building {
  private made: View | undefined;

  private constructor(
    readonly customerId: string,
    private version: number,
    // a Map, not a record: each cluster's stream ids would give every record its own hidden class
    private readonly applied: Map<string, number>,
    private readonly builder: Customer360Builder,
  ) {}

  static of(doc: View): Building {
    return new Building(doc.customerId, doc.version, new Map(Object.entries(doc.applied)), new Customer360Builder(doc.view));
  }

  static empty(id: string): Building {
    return new Building(id, 0, new Map(), new Customer360Builder(emptyView(id)));
  }

  nextVersion(streamId: string): number {
    return (this.applied.get(streamId) ?? 0) + 1;
  }

  fold(r: RecordedEvent, isRoot: boolean): void {
    if (isRoot && r.version > this.version) this.version = r.version;
    this.applied.set(r.streamId, r.version);
    this.builder.add(r);
    this.made = undefined;
  }

  doc(): View {
    return (this.made ??= { kind: 'view', customerId: this.customerId, version: this.version, applied: Object.fromEntries(this.applied), view: this.builder.build() });
  }
}

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

  /** Folds an activity event as the projector would; false when the projector must take it. */
  tryFold(r: RecordedEvent): boolean {
    if (!BUILDER_TYPES.has(r.event.type)) return false;
    let rootId = r.streamId;
    let d = this.docs.get(rootId);
    for (let depth = 0; d !== undefined && !(d instanceof Building) && d.kind === 'pointer'; depth++) {
      if (depth >= MAX_DEPTH) return false; // the projector reports the broken chain
      rootId = d.mergedInto;
      d = this.docs.get(rootId);
    }
    const b = d === undefined ? Building.empty(rootId) : d instanceof Building ? d : Building.of(d as View);
    // a duplicate or a gap: the projector skips it or reads the stream again
    if (r.version !== b.nextVersion(r.streamId)) return false;
    b.fold(r, r.streamId === rootId);
    if (b !== d) this.docs.set(rootId, b);
    return true;
  }

  /** Every doc, made: the generation to swap in. */
  *made(): IterableIterator<[string, ViewDoc]> {
    for (const [id, d] of this.docs) yield [id, d instanceof Building ? d.doc() : d];
  }
}
