import type { CustomerEvent, RecordedEvent } from '../../domain/customer/customer.events.js';
import { blockingKeys, candidatePairs } from '../../domain/matching/blocking.js';
import {
  addFieldCounts,
  coverageAtFit,
  coverageUnknown,
  countCarrying,
  dueFields,
  type FieldCounts,
  fieldDeltaOf,
  refitAttempted,
} from '../../domain/matching/coverage.js';
import { fitModelComparing } from '../../domain/matching/estimate.js';
import {
  bestFirst,
  bookOfEntries,
  buildBook,
  candidatesOf,
  customerEntriesOf,
  emptyBook,
  evolveBook,
  isEmptyEntry,
  type MatchBook,
  type MatchBookEntry,
  type MatchChange,
  type Suggestion,
} from '../../domain/matching/match-book.js';
import type { MatchField, MatchRecord } from '../../domain/matching/match-record.js';
import { DEFAULT_THRESHOLDS, type FieldWeight, type MatchModel } from '../../domain/matching/match-model.js';
import { answerSuggestion, termFrequencyKey } from '../../domain/matching/term-frequency.js';
import { MATCH_IDENTIFIERS, MATCH_TRAITS, matchRecordOfView } from '../../domain/matching/view-record.js';
import type { CorePorts } from '../deps.js';
import { decodeReadable } from '../event-codec.js';
import { KeyedLock } from '../keyed-lock.js';
import { matchBookNamespace, type ViewDoc } from '../ports/read-model.port.js';

// The match book kept as a read model of the log, beside the views and through the same port (so
// every store keeps it): one entry per customer (its normalised record, its suggestions and the
// decisions naming it), one per blocking key, and the tenant's model. After a commit is projected,
// each customer whose record may have changed is scored against the candidates its blocking keys
// give, and only the entries that change are written: the cost of a call does not grow with the
// tenant. The pure `evolveBook` decides every change, over the part of the book the change can
// touch (`bookOfEntries`). A full rebuild fits the model again and writes the whole book.
//
// The model is fitted again as the tenant grows (twice the records it was fitted on, up to
// `refitUpTo`) and, at any size, when a field it was fitted without (or with on few records) is now
// carried by enough records (the pure rule in coverage.ts): a model fitted before the tenant's
// dates of birth arrived would otherwise never compare them, where a model fitted afresh (a
// rebuild) does. Such a refit reads every view, so it runs inline (after the commit that made it due) only
// while the tenant holds at most `refitInlineUpTo` records; past that, the model entry records that
// a refit is due (`refitDue`, the metric match_book_refit_due) and a rebuild (`c360 rebuild`) fits
// it. Each time a field is due counts as one of its refits before the refit runs: a refit that
// fails is not tried again on every later call, only at the field's next due point or a rebuild.

type CustomerEntry = Extract<MatchBookEntry, { type: 'customer' }>;
type BlockEntry = Extract<MatchBookEntry, { type: 'block' }>;
type ModelEntry = Extract<MatchBookEntry, { type: 'model' }>;
type MatchDoc = Extract<ViewDoc, { kind: 'match' }>;

/** The actor an auto-merge is recorded under: an unmerge of one of its merges undoes an auto-merge. */
export const AUTO_MERGE_ACTOR = 'system:auto-merge';

const MODEL_ID = 'model';
const customerDoc = (id: string) => `c:${id}`;
const blockDoc = (key: string) => `b:${key}`;

/** the types of the events after which a customer's match record, or a decision about it, may have changed */
export const MATCH_BOOK_EVENTS: ReadonlySet<string> = new Set([
  'TraitsUpdated',
  'IdentifierLinked',
  'IdentifierUnlinked',
  'CustomerMerged',
  'CustomerMergedInto',
  'CustomerUnmerged',
  'CustomerRestored',
  'CustomerErased',
  'MatchRejected',
]);
/** finer: a trait update naming no trait the record reads, or an identifier of another type (an anonymous id, a device), changes nothing */
const relevant = (r: RecordedEvent): boolean => {
  const e = r.event;
  if (e.type === 'TraitsUpdated') return e.data.names.some((n) => MATCH_TRAITS.has(n));
  if (e.type === 'IdentifierLinked' || e.type === 'IdentifierUnlinked') return MATCH_IDENTIFIERS.has(e.data.type);
  return MATCH_BOOK_EVENTS.has(e.type);
};

export type MatchBookOptions = {
  /** the seed the model is fitted from */
  readonly seed: number;
  /**
   * the model is fitted again (and the book rebuilt) when the tenant holds twice the records it was
   * fitted on, as long as it holds at most this many; beyond, only a field the model could not
   * compare arriving on enough records (COVERAGE_RULE), or a rebuild, fits it again
   */
  readonly refitUpTo: number;
  /**
   * a refit for a field (COVERAGE_RULE) runs inline only while the tenant holds at most this many
   * records (the model entry counts them up to here); beyond, it is recorded as due and left to a
   * rebuild. Default: 10 times `refitUpTo`
   */
  readonly refitInlineUpTo?: number | undefined;
  /** a model set in configuration instead of one fitted to the tenant's records: never fitted again */
  readonly model?: MatchModel | undefined;
};

export const DEFAULT_MATCH_BOOK_OPTIONS: MatchBookOptions = { seed: 19, refitUpTo: 5_000 };

/** How many rounds of `scan` entries a review-queue page that has found no pair yet reads before it answers empty (with a next page). */
export const QUEUE_EMPTY_SCANS = 10;

/** Where a page of the review queue ended: after this customer's pair with `otherId`, or (without it) after all of its pairs. */
export type QueuePosition = { readonly customerId: string; readonly otherId?: string | undefined };

/** The match book's entries about some customers, as an access export lists them. */
export type MatchBookHeld = {
  readonly customers: readonly {
    readonly customerId: string;
    readonly record?: MatchRecord | undefined;
    readonly suggestions: readonly Suggestion[];
    readonly rejected: readonly string[];
    readonly autoMergeUndone: readonly string[];
  }[];
  /** the blocking entries listing them: the key, and how many other customers it lists (not who) */
  readonly blocking: readonly { readonly customerId: string; readonly key: string; readonly sharedWith: number }[];
};

class Conflict extends Error {}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const sameIds = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const isEmptyRecord = (r: MatchRecord): boolean => Object.keys(r).length === 0;

export class MatchBookProjection {
  private readonly lock = new KeyedLock();

  constructor(
    private readonly ports: Pick<CorePorts, 'store' | 'readModels' | 'metrics'>,
    private readonly options: MatchBookOptions = DEFAULT_MATCH_BOOK_OPTIONS,
  ) {}

  // ---- reading

  /** The tenant's model: the stored one, or (the first time) one fitted now, with the book built. */
  async model(tenant: string): Promise<MatchModel> {
    const stored = await this.modelEntry(tenant);
    if (stored) return stored.entry.model;
    return this.lock.run([tenant], async () => (await this.modelEntry(tenant))?.entry.model ?? (await this.rebuildLocked(tenant)).model);
  }

  /**
   * One customer's suggestions, best first, with the model that scored them and the fields a refit
   * is due for, left to a rebuild (see `refitInlineUpTo`).
   */
  async suggestionsOf(
    tenant: string,
    customerId: string,
  ): Promise<{ readonly model: MatchModel; readonly suggestions: readonly Suggestion[]; readonly refitDue: readonly MatchField[] }> {
    const stored = await this.modelEntry(tenant);
    const model = stored?.entry.model ?? (await this.model(tenant));
    const entry = await this.customer(tenant, customerId);
    const record = entry?.entry.record;
    const suggestions = await this.answered(
      tenant,
      model,
      (entry?.entry.suggestions ?? []).map((s) => ({ s, record })),
    );
    return { model, suggestions: suggestions.sort(bestFirst), refitDue: stored?.entry.refitDue ?? [] };
  }

  /**
   * Stored suggestions as they are answered (term-frequency.ts): each adjusted for how many records
   * now hold the value an adjusted level agreed on (its blocking entry, read once per key), and
   * left out once below the review threshold or resting on one field; in the order given. `record`:
   * either customer's record (both hold the value).
   */
  private async answered(
    tenant: string,
    model: MatchModel,
    pairs: readonly { readonly s: Suggestion; readonly record: MatchRecord | undefined }[],
    holders: Map<string, number | undefined> = new Map(),
  ): Promise<Suggestion[]> {
    const keyOf = (f: FieldWeight, record: MatchRecord | undefined) => (record ? termFrequencyKey(f, record) : undefined);
    const keys = new Set<string>();
    for (const { s, record } of pairs) for (const f of s.score.fields) keys.add(keyOf(f, record) ?? '');
    keys.delete('');
    await Promise.all(
      [...keys]
        .filter((k) => !holders.has(k))
        .map(async (k) => {
          const doc = await this.get(tenant, blockDoc(k));
          holders.set(k, doc?.entry.type === 'block' ? doc.entry.ids.length : undefined);
        }),
    );
    const out: Suggestion[] = [];
    for (const { s, record } of pairs) {
      const answer = answerSuggestion(model, s, (f) => {
        const k = keyOf(f, record);
        return k === undefined ? undefined : holders.get(k);
      });
      if (answer) out.push(answer);
    }
    return out;
  }

  /**
   * Every pair the stored book suggests, each once (held by its first customer), with the model that
   * scored them and the fields a refit is due for: what `c360 match` lists, so that every pair it
   * lists is one `suggestionsOf` answers and accept takes. Reads only: a tenant whose book was never
   * built answers no model and no pair (nothing is fitted or written here).
   */
  async everySuggestion(
    tenant: string,
  ): Promise<{ readonly model?: MatchModel | undefined; readonly suggestions: readonly Suggestion[]; readonly refitDue: readonly MatchField[] }> {
    const stored = await this.modelEntry(tenant);
    if (!stored) return { suggestions: [], refitDue: [] };
    const model = stored.entry.model;
    const out: Suggestion[] = [];
    const holders = new Map<string, number | undefined>();
    let after: string | undefined = 'c:';
    do {
      const page = await this.ports.readModels.list(matchBookNamespace(tenant), { after, limit: 500 });
      const pairs: { s: Suggestion; record: MatchRecord | undefined }[] = [];
      let end = false;
      for (const doc of page.docs) {
        // past the customers' entries: every pair was read
        if (!doc.customerId.startsWith('c:')) {
          end = true;
          break;
        }
        const id = doc.customerId.slice(2);
        if (doc.kind === 'match' && doc.entry.type === 'customer')
          for (const s of doc.entry.suggestions) if (s.customerIds[0] === id) pairs.push({ s, record: doc.entry.record });
      }
      out.push(...(await this.answered(tenant, model, pairs, holders)));
      if (end) break;
      after = page.next;
    } while (after !== undefined);
    return { model, suggestions: out, refitDue: stored.entry.refitDue ?? [] };
  }

  /**
   * The review queue: the tenant's suggested pairs, each once (held by its first customer), in the
   * order of their two customer ids, at most `limit` to a page. `after` is the position a page
   * answered as `next`: the pair it ended on. A page reads at most `scan` customers' entries (most
   * customers have no suggestion); one that reads them all before it is full ends there, with a
   * `next` after the last customer read, so no page costs the whole tenant. A page that has found
   * no pair by then reads on, `scan` entries at a time, until it finds one or the book ends, up to
   * QUEUE_EMPTY_SCANS times `scan` entries: only a book with no pair among that many customers
   * answers an empty page with a `next`.
   */
  async queue(
    tenant: string,
    options: {
      readonly after?: QueuePosition | undefined;
      readonly limit: number;
      readonly scan?: number | undefined;
      /** the pairs of one customer the queue may show, of those the book answers (in their order) */
      readonly keep?: ((pairs: readonly Suggestion[]) => Promise<readonly Suggestion[]>) | undefined;
    },
  ): Promise<{ readonly suggestions: readonly Suggestion[]; readonly next?: QueuePosition | undefined }> {
    const model = await this.model(tenant);
    const limit = Math.max(1, options.limit);
    const scan = Math.max(1, options.scan ?? 2_000);
    let budget = scan;
    // a page that has found no pair yet reads on, up to QUEUE_EMPTY_SCANS times `scan` entries in all
    let rounds = QUEUE_EMPTY_SCANS - 1;
    const out: Suggestion[] = [];
    const holders = new Map<string, number | undefined>();
    const keep = options.keep ?? (async (pairs: readonly Suggestion[]) => pairs);
    const owned = async (id: string, entry: MatchBookEntry, otherAfter?: string) => {
      if (entry.type !== 'customer' || !entry.suggestions.some((s) => s.customerIds[0] === id)) return [];
      const answered = await this.answered(
        tenant,
        model,
        entry.suggestions
          .filter((s) => s.customerIds[0] === id && (otherAfter === undefined || s.customerIds[1] > otherAfter))
          .sort((x, y) => (x.customerIds[1] < y.customerIds[1] ? -1 : 1))
          .map((s) => ({ s, record: entry.record })),
        holders,
      );
      return answered.length === 0 ? answered : keep(answered);
    };
    /** takes a customer's pairs; true when the page is full and more follow */
    const take = (pairs: readonly Suggestion[]): boolean => {
      for (const s of pairs) {
        if (out.length === limit) return true;
        out.push(s);
      }
      return false;
    };
    const at = (s: Suggestion): QueuePosition => ({ customerId: s.customerIds[0], otherId: s.customerIds[1] });
    const after = options.after;
    // the rest of the customer a page ended within
    if (after?.otherId !== undefined) {
      const doc = await this.get(tenant, customerDoc(after.customerId));
      if (doc && take(await owned(after.customerId, doc.entry, after.otherId))) return { suggestions: out, next: at(out.at(-1)!) };
    }
    const cursor = after ? customerDoc(after.customerId) : 'c:';
    for (let from = cursor; ; ) {
      const page = await this.ports.readModels.list(matchBookNamespace(tenant), { after: from, limit: Math.min(200, budget) });
      for (const doc of page.docs) {
        // past the customers' entries: the queue ends
        if (!doc.customerId.startsWith('c:')) return { suggestions: out };
        const id = doc.customerId.slice(2);
        // the page is full and this customer holds more: the next page starts after the last pair shown
        if (doc.kind === 'match' && take(await owned(id, doc.entry))) return { suggestions: out, next: at(out.at(-1)!) };
        from = doc.customerId;
        if (--budget === 0) {
          if (out.length > 0 || rounds === 0) return { suggestions: out, next: { customerId: id } };
          rounds--;
          budget = scan;
        }
      }
      if (page.next === undefined) return { suggestions: out };
    }
  }

  /**
   * What the book holds about these customers (an access export): each one's entry (its normalised
   * record, its suggestions and the decisions naming it; every pair is held by both sides, so these
   * cover every entry naming them) and the blocking entries listing them, each with its key (made of
   * their values) and how many other customers share it. Reads only: a tenant whose book was never
   * built answers nothing, and no model is fitted for it.
   */
  async heldAbout(tenant: string, customerIds: readonly string[]): Promise<MatchBookHeld> {
    const customers: MatchBookHeld['customers'][number][] = [];
    const blocking: MatchBookHeld['blocking'][number][] = [];
    for (const id of customerIds) {
      const found = await this.customer(tenant, id);
      if (!found) continue;
      const { record, suggestions, rejected, autoMergeUndone } = found.entry;
      customers.push({ customerId: id, ...(record ? { record } : {}), suggestions, rejected, autoMergeUndone });
      for (const key of record ? blockingKeys(record) : []) {
        const block = await this.get(tenant, blockDoc(key));
        if (block?.entry.type === 'block' && block.entry.ids.includes(id)) blocking.push({ customerId: id, key, sharedWith: block.entry.ids.length - 1 });
      }
    }
    return { customers, blocking };
  }

  // ---- keeping it

  /**
   * Folds committed (and projected) events into the book. Answers the customers whose record was
   * scored again: the ones an auto-merge may now join.
   */
  async apply(tenant: string, events: readonly RecordedEvent[]): Promise<readonly string[]> {
    const changed = events.filter(relevant);
    if (changed.length === 0) return [];
    return this.lock.run([tenant], async () => {
      const modelEntry = await this.modelEntry(tenant);
      // the first time: fitted and built from the views and the log, these events included
      if (!modelEntry) return (await this.rebuildLocked(tenant)).customers;
      const model = modelEntry.entry.model;
      const changes = await this.changesOf(tenant, changed);
      let delta = 0;
      let fields: FieldCounts = {};
      const rescored: string[] = [];
      for (const change of changes) {
        const r = await this.retrying(() => this.change(tenant, model, change));
        delta += r.delta;
        fields = addFieldCounts(fields, r.fields);
        if (r.rescored) rescored.push(r.rescored);
      }
      // fitted again as the tenant grows, or for a field that arrived since: the decisions are the
      // book's own, so the log is not read again
      const refit = await this.count(tenant, delta, fields);
      if (refit) {
        if (refit.due.length > 0) this.ports.metrics.increment('match_book_refit_for_field');
        return (await this.rebuildLocked(tenant, 'book')).customers;
      }
      return rescored;
    });
  }

  /** Erasure: every entry naming the customers goes, decisions included. */
  async erase(tenant: string, customerIds: readonly string[]): Promise<void> {
    await this.lock.run([tenant], async () => {
      const modelEntry = await this.modelEntry(tenant);
      if (!modelEntry) return;
      let delta = 0;
      let fields: FieldCounts = {};
      for (const id of customerIds) {
        const r = await this.retrying(() => this.change(tenant, modelEntry.entry.model, { type: 'CustomerErased', customerId: id }));
        delta += r.delta;
        fields = addFieldCounts(fields, r.fields);
      }
      await this.count(tenant, delta, fields, false);
    });
  }

  /** Fits the model again to the tenant's current views and writes the whole book (decisions read from the log). */
  /**
   * `gathered`: what a full rebuild's pass over the log already holds (a store whose log reads in
   * commit order, `EventStore.logInCommitOrder`): the decisions it saw through `through`, and the
   * view docs it wrote, which stand for the store's while the log has nothing after `through`.
   * What the log gained meanwhile is read here, under the book's lock, where the decisions were
   * read before: right before the book is built. Without it, both come from the log and the store.
   */
  async rebuild(tenant: string, gathered?: GatheredByRebuild): Promise<{ readonly model: MatchModel; readonly customers: readonly string[] }> {
    return this.lock.run([tenant], () => this.rebuildLocked(tenant, gathered ?? 'log'));
  }

  /**
   * The refit a rebuild would make that was left to one: the fields due (past `refitInlineUpTo`,
   * or none), for showing beside the model.
   */
  async refitDue(tenant: string): Promise<readonly MatchField[]> {
    return (await this.modelEntry(tenant))?.entry.refitDue ?? [];
  }

  /** decisions from the log (a first build, a full rebuild) or from the stored book (a refit); each field's refits as counted in the model entry */
  private async rebuildLocked(
    tenant: string,
    decisionsFrom: 'log' | 'book' | GatheredByRebuild = 'log',
  ): Promise<{ readonly model: MatchModel; readonly customers: readonly string[] }> {
    const gathered = typeof decisionsFrom === 'object' ? decisionsFrom : undefined;
    // the views a rebuild wrote are the store's only while nothing came in after its pass
    const views = gathered && (await this.catchUp(tenant, gathered)) === 0 ? gathered.views : undefined;
    const previous = await this.modelEntry(tenant);
    const records: Record<string, MatchRecord> = {};
    const take = (doc: ViewDoc) => {
      if (doc.kind !== 'view') return;
      const r = matchRecordOfView(doc.view);
      if (!isEmptyRecord(r)) records[doc.customerId] = r;
    };
    if (views) for (const doc of views) take(doc);
    else {
      let after: string | undefined;
      do {
        const page = await this.ports.readModels.list(tenant, { after, limit: 500 });
        for (const doc of page.docs) take(doc);
        after = page.next;
      } while (after !== undefined);
    }
    const ids = Object.keys(records).sort();
    const list = ids.map((id) => records[id]!);
    const pairs = candidatePairs(list);
    // the fit compares every candidate pair: the book scores those vectors rather than compare again
    const fitted = this.options.model
      ? undefined
      : fitModelComparing({
          version: `fitted-seed-${this.options.seed}-on-${ids.length}`,
          records: list,
          candidates: pairs,
          seed: this.options.seed,
          randomPairs: 20_000,
          iterations: 20,
          ...DEFAULT_THRESHOLDS,
        });
    const model = this.options.model ?? fitted!.model;
    const decisions =
      decisionsFrom === 'log'
        ? await this.decisionsFromLog(tenant)
        : decisionsFrom === 'book'
          ? await this.decisionsFromBook(tenant)
          : (await this.catchUp(tenant, decisionsFrom), decisionsFrom.seen.decisions());
    const book = buildBook(model, records, decisions, undefined, fitted && { pairs, vectors: fitted.vectors });
    const coverage = coverageAtFit(list, previous?.entry.coverage?.refits ?? {});
    const docs: MatchDoc[] = [this.doc(MODEL_ID, { type: 'model', model, fittedOn: ids.length, records: ids.length, coverage }, 1)];
    for (const [id, entry] of customerEntriesOf(book)) docs.push(this.doc(customerDoc(id), entry, 1));
    for (const [key, members] of Object.entries(book.blocks)) docs.push(this.doc(blockDoc(key), { type: 'block', key, ids: members }, 1));
    await this.ports.readModels.replaceAll(matchBookNamespace(tenant), docs);
    this.ports.metrics.increment('match_book_rebuilt');
    return { model, customers: ids };
  }

  /** Feeds `gathered.seen` what the log holds after `gathered.through`, moving it on; the number of events read. */
  private async catchUp(tenant: string, gathered: GatheredByRebuild): Promise<number> {
    let read = 0;
    for (;;) {
      const page = await this.ports.store.readAll(tenant, { after: gathered.through, limit: 1_000 });
      for (const s of page.events) if (MatchDecisionsSeen.TYPES.has(s.type)) gathered.seen.see(s.streamId, decodeReadable(s).event);
      read += page.events.length;
      gathered.through = page.events.at(-1)?.position ?? gathered.through;
      if (!page.next || page.events.length === 0) return read;
    }
  }

  /** Rejections and undone auto-merges, from the log; none naming an erased customer. */
  private async decisionsFromLog(tenant: string) {
    const seen = new MatchDecisionsSeen();
    let after: string | undefined;
    for (;;) {
      const page = await this.ports.store.readAll(tenant, { after, limit: 1_000 });
      for (const s of page.events) if (MatchDecisionsSeen.TYPES.has(s.type)) seen.see(s.streamId, decodeReadable(s).event);
      if (!page.next || page.events.length === 0) break;
      after = page.next;
    }
    return seen.decisions();
  }

  /** Rejections and undone auto-merges as the stored book holds them (each pair is on both sides). */
  private async decisionsFromBook(tenant: string) {
    const decisions: Extract<MatchChange, { type: 'SuggestionRejected' | 'AutoMergeUndone' }>[] = [];
    let after: string | undefined = 'c:';
    do {
      const page = await this.ports.readModels.list(matchBookNamespace(tenant), { after, limit: 500 });
      for (const doc of page.docs) {
        if (!doc.customerId.startsWith('c:')) return decisions;
        if (doc.kind !== 'match' || doc.entry.type !== 'customer') continue;
        const id = doc.customerId.slice(2);
        for (const o of doc.entry.rejected) if (id < o) decisions.push({ type: 'SuggestionRejected', customerIds: [id, o] });
        for (const o of doc.entry.autoMergeUndone) if (id < o) decisions.push({ type: 'AutoMergeUndone', customerIds: [id, o] });
      }
      after = page.next;
    } while (after !== undefined);
    return decisions;
  }

  /** The changes the events make, decisions first (so a re-scored pair already knows them). */
  private async changesOf(tenant: string, events: readonly RecordedEvent[]): Promise<MatchChange[]> {
    const decisions: MatchChange[] = [];
    const erased = new Set<string>();
    const touched = new Set<string>();
    for (const r of events) {
      const e = r.event;
      if (e.type === 'MatchRejected') decisions.push({ type: 'SuggestionRejected', customerIds: [r.streamId, e.data.otherId] });
      else if (e.type === 'CustomerErased') erased.add(r.streamId);
      else {
        touched.add(r.streamId);
        if (e.type === 'CustomerUnmerged' && (await this.wasAutoMerge(tenant, r.streamId, e.data.mergeId))) {
          decisions.push({ type: 'AutoMergeUndone', customerIds: [r.streamId, e.data.absorbedId] });
          touched.add(e.data.absorbedId);
        }
      }
    }
    const records: MatchChange[] = [];
    const seen = new Set<string>();
    const visit = async (id: string, hops: number): Promise<void> => {
      if (seen.has(id) || erased.has(id)) return;
      seen.add(id);
      const doc = await this.ports.readModels.get(tenant, id);
      if (doc?.kind === 'view') {
        const record = matchRecordOfView(doc.view);
        records.push(isEmptyRecord(record) ? { type: 'CustomerRemoved', customerId: id } : { type: 'RecordChanged', customerId: id, record });
        return;
      }
      records.push({ type: 'CustomerRemoved', customerId: id });
      if (doc?.kind === 'pointer' && hops < 8) await visit(doc.mergedInto, hops + 1);
    };
    for (const id of [...touched].sort()) await visit(id, 0);
    // a decision about a customer erased since (its views are gone) is not kept: no entry may name it
    const standing: MatchChange[] = [];
    for (const d of decisions)
      if (d.type === 'SuggestionRejected' || d.type === 'AutoMergeUndone') {
        const docs = await Promise.all(d.customerIds.map((id) => (erased.has(id) ? undefined : this.ports.readModels.get(tenant, id))));
        if (docs.every((doc) => doc !== undefined)) standing.push(d);
      }
    return [...standing, ...[...erased].sort().map((customerId): MatchChange => ({ type: 'CustomerErased', customerId })), ...records];
  }

  private async wasAutoMerge(tenant: string, survivorId: string, mergeId: string): Promise<boolean> {
    for (const s of await this.ports.store.readStream(tenant, survivorId)) {
      if (s.type !== 'CustomerMerged') continue;
      const e = decodeReadable(s).event;
      if (e.type === 'CustomerMerged' && e.data.mergeId === mergeId) return e.data.evidence.actor === AUTO_MERGE_ACTOR;
    }
    return false;
  }

  /**
   * One change, over the part of the book it can touch; writes the entries that changed, each
   * compare-and-swap against what was read. Answers how the number of records, and of records
   * carrying each field, moved and, for a record scored again, its customer.
   */
  private async change(tenant: string, model: MatchModel, change: MatchChange): Promise<{ delta: number; fields: FieldCounts; rescored?: string }> {
    const focus = change.type === 'SuggestionRejected' || change.type === 'AutoMergeUndone' ? [...change.customerIds] : [change.customerId];
    const customers = new Map<string, { doc?: MatchDoc | undefined; entry: CustomerEntry }>();
    const load = async (ids: Iterable<string>) => {
      const missing = [...new Set(ids)].filter((id) => !customers.has(id));
      const found = await Promise.all(missing.map((id) => this.customer(tenant, id)));
      missing.forEach((id, i) => customers.set(id, found[i] ?? { entry: { type: 'customer', suggestions: [], rejected: [], autoMergeUndone: [] } }));
    };
    await load(focus);
    const record = change.type === 'RecordChanged' ? change.record : undefined;
    const focused = customers.get(focus[0]!)!.entry;
    // a record seen again unchanged: nothing moves (most calls carry no new personal field)
    if (change.type === 'RecordChanged' && same(focused.record, record)) return { delta: 0, fields: {} };
    if (change.type === 'CustomerRemoved' && focused.record === undefined && focused.suggestions.length === 0) return { delta: 0, fields: {} };
    if (change.type === 'CustomerErased' && isEmptyEntry(focused)) return { delta: 0, fields: {} };
    await load(focus.flatMap((id) => partners(customers.get(id)!.entry, id)));
    const keys = new Set<string>();
    for (const id of focus) {
      const old = customers.get(id)!.entry.record;
      if (old) for (const k of blockingKeys(old)) keys.add(k);
    }
    if (record) for (const k of blockingKeys(record)) keys.add(k);
    const blocks = new Map<string, { doc?: MatchDoc | undefined; entry: BlockEntry }>();
    await Promise.all(
      [...keys].map(async (key) => {
        const doc = await this.get(tenant, blockDoc(key));
        blocks.set(key, { doc, entry: doc?.entry.type === 'block' ? doc.entry : { type: 'block', key, ids: [] } });
      }),
    );
    // the candidates come from the blocks alone; the part of the book read holds those blocks
    const blockEntries = [...blocks.values()].map((b) => b.entry);
    const blocksRead = bookOfEntries(new Map(), blockEntries).blocks;
    if (record) await load(candidatesOf({ ...emptyBook, blocks: blocksRead }, change.type === 'RecordChanged' ? change.customerId : '', record));
    const before: MatchBook = { ...bookOfEntries(new Map([...customers].map(([id, c]) => [id, c.entry])), []), blocks: blocksRead };
    const after = evolveBook(model, before, change);
    // only the customers a pair with the focus names can change (every change is about the focus's
    // pairs): the others among the candidates read are left alone, unexamined
    const named = new Set(focus);
    for (const book of [before, after]) for (const pair of Object.values(book.suggestions)) namedWith(pair.customerIds, focus, named);
    if (change.type === 'CustomerErased') for (const id of customers.keys()) named.add(id);
    let delta = 0;
    let fields: FieldCounts = {};
    const writes: Promise<void>[] = [];
    const nextEntries = customerEntriesOf(after, named);
    for (const [id, c] of customers) {
      if (!named.has(id)) continue;
      const next = nextEntries.get(id) ?? emptyEntry;
      if (same(next, c.entry)) continue;
      delta += (next.record ? 1 : 0) - (c.entry.record ? 1 : 0);
      fields = addFieldCounts(fields, fieldDeltaOf(c.entry.record, next.record));
      writes.push(this.write(tenant, customerDoc(id), c.doc, isEmptyEntry(next) ? undefined : next));
    }
    for (const [key, b] of blocks) {
      const ids = after.blocks[key] ?? [];
      if (sameIds(ids, b.entry.ids)) continue;
      writes.push(this.write(tenant, blockDoc(key), b.doc, ids.length === 0 ? undefined : { type: 'block', key, ids }));
    }
    await Promise.all(writes);
    return change.type === 'RecordChanged' ? { delta, fields, rescored: change.customerId } : { delta, fields };
  }

  /**
   * Counts records, and records carrying each watched field, in the model entry. Answers a refit
   * when the model is due to be fitted again inline: grown, or `due` for fields enough records now
   * carry (each counted as a refit for the field in the same write, before the refit runs). Past
   * `refitInlineUpTo` records a field's refit is recorded as due in the entry instead.
   */
  private async count(tenant: string, delta: number, fields: FieldCounts, mayRefit = true): Promise<{ readonly due: readonly MatchField[] } | undefined> {
    if (delta === 0 && Object.keys(fields).length === 0) return undefined;
    const inlineUpTo = this.options.refitInlineUpTo ?? 10 * this.options.refitUpTo;
    return this.retrying(async () => {
      const m = await this.modelEntry(tenant);
      if (!m || this.options.model) return undefined;
      const { entry } = m;
      const coverage = entry.coverage ?? coverageUnknown(Object.keys(entry.model.fields));
      let counted = countCarrying(coverage, fields, entry.fittedOn);
      // past the size up to which a refit may run inline, the number of records is not kept, and
      // only a record carrying a watched field (one the model could not compare, and only until it
      // has had its refits or stayed thin for long) writes the model entry: not every new customer
      // of a large tenant
      const counting = entry.records <= inlineUpTo;
      const records = counting ? Math.max(0, entry.records + delta) : entry.records;
      if (records === entry.records && counted === coverage) return undefined;
      const due = mayRefit ? dueFields(counted, entry.fittedOn) : [];
      // grown: twice the records it was fitted on, or than a refit for growth was last tried at (it failed)
      const grown = mayRefit && records >= 2 * Math.max(1, entry.fittedOn, entry.grownAt ?? 0) && records <= this.options.refitUpTo;
      const inline = records <= inlineUpTo;
      if (due.length > 0) counted = refitAttempted(counted, due);
      const left = due.length > 0 && !inline ? [...new Set([...(entry.refitDue ?? []), ...due])] : entry.refitDue;
      await this.write(tenant, MODEL_ID, m.doc, {
        ...entry,
        records,
        coverage: counted,
        ...(left ? { refitDue: left } : {}),
        ...(grown ? { grownAt: records } : {}),
      });
      if (due.length > 0 && !inline) this.ports.metrics.increment('match_book_refit_due');
      return grown || (due.length > 0 && inline) ? { due: inline ? due : [] } : undefined;
    });
  }

  private async retrying<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (e) {
        // another process changed an entry this one read: read again and decide again
        if (!(e instanceof Conflict) || attempt >= 8) throw e;
        this.ports.metrics.increment('match_book_conflict');
      }
    }
  }

  private async write(tenant: string, id: string, read: MatchDoc | undefined, entry: MatchBookEntry | undefined): Promise<void> {
    const ns = matchBookNamespace(tenant);
    if (entry === undefined) {
      if (read) await this.ports.readModels.delete(ns, id);
      return;
    }
    const ok = await this.ports.readModels.put(ns, this.doc(id, entry, (read?.version ?? 0) + 1), read ? { version: read.version, appliedSum: 0 } : null);
    if (!ok) throw new Conflict(`match book entry ${id} changed while it was being written`);
  }

  private doc(id: string, entry: MatchBookEntry, version: number): MatchDoc {
    return { kind: 'match', customerId: id, version, applied: {}, entry };
  }

  private async get(tenant: string, id: string): Promise<MatchDoc | undefined> {
    const doc = await this.ports.readModels.get(matchBookNamespace(tenant), id);
    return doc?.kind === 'match' ? doc : undefined;
  }

  private async customer(tenant: string, id: string): Promise<{ doc: MatchDoc; entry: CustomerEntry } | undefined> {
    const doc = await this.get(tenant, customerDoc(id));
    return doc?.entry.type === 'customer' ? { doc, entry: doc.entry } : undefined;
  }

  private async modelEntry(tenant: string): Promise<{ doc: MatchDoc; entry: ModelEntry } | undefined> {
    const doc = await this.get(tenant, MODEL_ID);
    return doc?.entry.type === 'model' ? { doc, entry: doc.entry } : undefined;
  }
}

const emptyEntry: CustomerEntry = { type: 'customer', suggestions: [], rejected: [], autoMergeUndone: [] };

/** Adds both customers of a pair to `into` when one of them is in `focus`. */
const namedWith = (pair: readonly [string, string], focus: readonly string[], into: Set<string>): void => {
  if (focus.includes(pair[0]) || focus.includes(pair[1])) into.add(pair[0]).add(pair[1]);
};

/** Every customer an entry shares a pair with: suggestions and decisions. */
const partners = (e: CustomerEntry, id: string): string[] => [
  ...e.suggestions.map((s) => (s.customerIds[0] === id ? s.customerIds[1] : s.customerIds[0])),
  ...e.rejected,
  ...e.autoMergeUndone,
];

type MatchDecision = Extract<MatchChange, { type: 'SuggestionRejected' | 'AutoMergeUndone' }>;

/** What a full rebuild's pass over the log hands the match book (see MatchBookProjection.rebuild). */
export type GatheredByRebuild = {
  readonly seen: MatchDecisionsSeen;
  /** the last log position the pass read (moved on by the book's catch-up) */
  through: string | undefined;
  /** the view docs the rebuild wrote */
  readonly views: Iterable<ViewDoc>;
};

/**
 * The match book's decisions (rejections, undone auto-merges) gathered from a pass over the whole
 * log in log order: the book's own, or a rebuild's of the views, which so reads the log once.
 */
export class MatchDecisionsSeen {
  /** the only event types it looks at */
  static readonly TYPES: ReadonlySet<string> = new Set(['MatchRejected', 'CustomerMerged', 'CustomerUnmerged', 'CustomerErased']);
  private readonly found: MatchDecision[] = [];
  private readonly autoMerges = new Set<string>();
  private readonly erased = new Set<string>();

  see(streamId: string, e: CustomerEvent): void {
    if (e.type === 'MatchRejected') this.found.push({ type: 'SuggestionRejected', customerIds: [streamId, e.data.otherId] });
    else if (e.type === 'CustomerMerged' && e.data.evidence.actor === AUTO_MERGE_ACTOR) this.autoMerges.add(e.data.mergeId);
    else if (e.type === 'CustomerUnmerged' && this.autoMerges.has(e.data.mergeId))
      this.found.push({ type: 'AutoMergeUndone', customerIds: [streamId, e.data.absorbedId] });
    else if (e.type === 'CustomerErased') this.erased.add(streamId);
  }

  /** none naming an erased customer */
  decisions(): MatchDecision[] {
    return this.found.filter((d) => !d.customerIds.some((id) => this.erased.has(id)));
  }
}
