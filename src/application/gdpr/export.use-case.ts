import type { RecordedEvent } from '../../domain/customer/customer.events.js';
import type { CustomerState } from '../../domain/customer/customer.state.js';
import { excludedEventIds } from '../../domain/projection/customer360.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { CustomerQueries } from '../customers/customer.queries.js';
import type { Customer360Response } from '../customers/customer360.presenter.js';
import type { CustomerRepository } from '../customers/customer.repository.js';
import type { CorePorts } from '../deps.js';
import type { MatchBookHeld } from '../matching/match-book.projection.js';
import { isTombstone, type EventCodec } from '../event-codec.js';
import type { AuditEntry } from '../ports/audit.port.js';
import type { QuarantineEntry } from '../ports/quarantine.port.js';
import { DataKeyUnavailable } from '../ports/keys.port.js';
import { clusterKeys } from './erasure-cluster.js';
import { entryNamesCluster, splitBatchEntry, unsearchable, type ScrubTarget } from './quarantine-scrub.js';

// Access requests (GDPR art. 15): everything held about a customer's whole identity cluster, as
// one JSON document. Personal values appear decrypted here, so the audit entry holds ids only.

export const EXPORT_FORMAT = 'c360.customer-export/1';

const iso = (ms: number): string => new Date(ms).toISOString();

export type ExportedEvent = {
  readonly eventId: string;
  readonly streamId: string;
  readonly version: number;
  readonly type: string;
  readonly observedAt: string;
  readonly recordedAt: string;
  readonly source: string;
  readonly channel: string;
  readonly messageId?: string | undefined;
  readonly data: unknown;
  /** the decrypted personal fields; absent when the event has none */
  readonly pii?: unknown;
};

export type ConsentDecision = {
  readonly purpose: string;
  readonly status: 'granted' | 'withdrawn';
  readonly at: string;
  readonly source: string;
  readonly eventId: string;
  readonly streamId: string;
};

export class ExportUseCase {
  constructor(
    private readonly ports: CorePorts,
    private readonly repo: CustomerRepository,
    private readonly codec: EventCodec,
    private readonly queries: CustomerQueries,
    /** the match book's entries naming the cluster's customers; without it the export says none are held */
    private readonly matchBook?: (tenant: string, customerIds: readonly string[]) => Promise<MatchBookHeld>,
  ) {}

  async export(tenant: string, customerId: string, options: { readonly actor: string }) {
    let survivor: CustomerState;
    try {
      survivor = await this.survivorOf(tenant, customerId);
    } catch (e) {
      if (e instanceof DomainError) await this.audit(tenant, options.actor, customerId, 'refused', { code: e.code });
      throw e;
    }
    const streamIds = [survivor.id, ...survivor.members];
    const decoded: { readonly r: RecordedEvent; readonly recordedAt: number }[] = [];
    for (const id of streamIds) {
      const key = await this.ports.keys.get(tenant, id);
      const stream = await this.ports.store.readStream(tenant, id);
      if (stream.some(isTombstone)) {
        // erased by another process since this one cached the customer: nothing is held to export
        for (const member of streamIds) this.repo.evict(tenant, member);
        await this.audit(tenant, options.actor, customerId, 'refused', { code: 'CUSTOMER_ERASED' });
        throw new DomainError('CUSTOMER_ERASED', `customer ${customerId} was erased; nothing is held to export`, ['customerId']);
      }
      for (const stored of stream) decoded.push({ r: this.codec.decode(stored, key), recordedAt: stored.recordedAt });
    }
    // events an unmerge gave back to the other customer are theirs (their copies live in that
    // customer's stream, under that customer's key): art. 15(4), they stay out, pii and data alike
    const givenAway = excludedEventIds(decoded.map((d) => d.r));
    const events: ExportedEvent[] = [];
    const consentHistory: ConsentDecision[] = [];
    for (const { r, recordedAt } of decoded) {
      if (givenAway.has(r.eventId)) continue;
      events.push(exported(r, recordedAt, streamIds));
      if (r.event.type === 'ConsentGranted' || r.event.type === 'ConsentWithdrawn') {
        const status = r.event.type === 'ConsentGranted' ? 'granted' : 'withdrawn';
        consentHistory.push({
          purpose: r.event.data.purpose,
          status,
          at: iso(r.observedAt),
          source: shownSource(r.source),
          eventId: r.eventId,
          streamId: r.streamId,
        });
      }
    }
    consentHistory.sort((a, b) => a.at.localeCompare(b.at) || a.eventId.localeCompare(b.eventId));
    const quarantined = await this.quarantinedFor(tenant, survivor);
    const view = shownView(await this.viewOf(tenant, survivor.id));
    const explained = await this.queries.explain(tenant, survivor.id);
    // customers this one must never be linked with, or gave back by an unmerge: outside the cluster, not by id
    const own = (id: string) => (streamIds.includes(id) ? id : ANOTHER_CUSTOMER);
    const identity =
      explained.status === 'active'
        ? {
            ...explained,
            identifiers: explained.identifiers.map((i) => ({
              ...i,
              ...(i.linkedBy ? { linkedBy: { ...i.linkedBy, source: shownSource(i.linkedBy.source) } } : {}),
              ...(i.viaMerge ? { viaMerge: { ...i.viaMerge, evidence: shownEvidence(i.viaMerge.evidence) } } : {}),
            })),
            merges: explained.merges.map((m) => ({ ...m, evidence: shownEvidence(m.evidence) })),
            doNotLink: explained.doNotLink.map(own),
            unmerges: explained.unmerges.map((u) => ({
              ...u,
              restoredId: own(u.restoredId),
              ...(u.actor === undefined ? {} : { actor: shownActor(u.actor) }),
            })),
          }
        : explained;
    const held = this.matchBook ? await this.matchBook(tenant, streamIds) : { customers: [], blocking: [] };
    const matching = ownMatching(held, streamIds);
    const document = {
      format: EXPORT_FORMAT,
      metadata: {
        tenant,
        requestedId: customerId,
        customerId: survivor.id,
        customers: streamIds,
        exportedAt: iso(this.ports.clock.now()),
        actors: ACTORS_NOTE,
        counts: {
          streams: streamIds.length,
          events: events.length,
          /** events of these streams that an unmerge gave to another customer: left out of `events` */
          eventsGivenAway: decoded.length - events.length,
          identifiers: identity.status === 'active' ? identity.identifiers.length : 0,
          merges: survivor.merges.size,
          consentDecisions: consentHistory.length,
          quarantined: quarantined.length,
          // a pair between two of the cluster's customers is held by both: counted once
          matchSuggestions: new Set(held.customers.flatMap((c) => c.suggestions.map((s) => s.customerIds.join(' ')))).size,
        },
      },
      customer360: view.customer,
      ...(view.note ? { customer360Note: view.note } : {}),
      identity,
      consents: { current: view.customer?.consents ?? {}, history: consentHistory },
      events,
      quarantine: {
        entries: quarantined,
        note: `refused payloads that carry one of this customer's identifiers (matched by keyed hash, as erasure matches them), whether or not they parse: emails, phone numbers and id values found in the raw body are recorded as keyed hashes when it is quarantined. An entry keeping a batch's calls (its refused calls, or a whole batch body refused for its number of calls) shows only the calls that carry one of them, matched call by call the same way, with the batch's shared fields (its context goes with every call); "otherCalls" says how many calls of other people the entry also holds, not shown. In an entry keeping a batch's refused calls, "refused[].index" and the issue paths (batch[<index>]) name each call by its index in the request it came in, not by its place in "batch"`,
      },
      engagement: { decisions: view.customer?.engagement.decisions ?? [] },
      matching: {
        ...matching,
        note: `the probabilistic matching's read model: each customer's normalised record, the suggested pairs naming it (probability, weight and verdict), the pairs people rejected and the auto-merges undone; and the blocking entries listing it, by key, with how many other customers share the key. A pair with someone outside this cluster names them only as "${ANOTHER_CUSTOMER}", without the per-field comparison of their values (as a rejection event does); a pair within the cluster is shown whole`,
      },
    };
    await this.audit(tenant, options.actor, survivor.id, 'ok', { requestedId: customerId, customers: streamIds.length, events: events.length });
    return document;
  }

  private async survivorOf(tenant: string, customerId: string): Promise<CustomerState> {
    const erased = await this.ports.ledger.find(tenant, customerId);
    if (erased)
      throw new DomainError('CUSTOMER_ERASED', `customer ${customerId} was erased (erasure ${erased.erasureId}); nothing is held to export`, ['customerId']);
    const survivor = await this.repo.loadSurvivor(tenant, customerId);
    if (survivor.status === 'erased') throw new DomainError('CUSTOMER_ERASED', `customer ${customerId} was erased; nothing is held to export`, ['customerId']);
    if (survivor.status !== 'active') throw new DomainError('CUSTOMER_NOT_FOUND', `no customer ${customerId}`, ['customerId']);
    return survivor;
  }

  /** Quarantined payloads naming one of the cluster's identifiers: a scan of the tenant's quarantine, bounded by its retention. */
  private async quarantinedFor(tenant: string, survivor: CustomerState) {
    const states = new Map<string, CustomerState>([[survivor.id, survivor]]);
    for (const id of survivor.members) states.set(id, await this.repo.load(tenant, id));
    const target = { ...clusterKeys({ survivorId: survivor.id, ids: [...states.keys()], states }), erasureId: '' };
    const found: QuarantineEntry[] = [];
    let after: string | undefined;
    do {
      const page = await this.ports.quarantine.list(tenant, { after, limit: 200 });
      for (const e of page.entries) {
        if (entryNamesCluster(this.ports, tenant, e, target)) found.push(e);
        // an access request answered without it could be incomplete, and would not say so
        else if (unsearchable(e))
          throw new DataKeyUnavailable(
            `quarantine entry ${e.id} is under a key wrapped by a master key this process does not hold, so it cannot be searched for this export; add that master key to the keyring as a previous key`,
          );
      }
      after = page.next;
    } while (after !== undefined);
    return found.map((e) => ({ id: e.id, receivedAt: iso(e.receivedAt), source: e.source, status: e.status, ...ownCalls(this.ports, tenant, e, target) }));
  }

  /** The 360 view as the API presents it; with asynchronous projection it may not exist yet. */
  private async viewOf(tenant: string, id: string): Promise<{ customer: Customer360Response | null; note?: string }> {
    try {
      const got = await this.queries.get360(tenant, id);
      if (got.kind === 'view') return { customer: got.customer };
    } catch (e) {
      if (!(e instanceof DomainError) || e.code !== 'CUSTOMER_NOT_FOUND') throw e;
    }
    return { customer: null, note: 'the 360 view has not caught up with this customer yet; the events above hold everything it would show' };
  }

  private async audit(
    tenant: string,
    actor: string,
    customerId: string,
    outcome: AuditEntry['outcome'],
    detail: Record<string, string | number | boolean>,
  ): Promise<void> {
    const { code, ...rest } = detail;
    await this.ports.audit.append({
      id: this.ports.ids.newId(),
      tenant,
      at: this.ports.clock.now(),
      actor,
      action: 'customer.export',
      customerId,
      outcome,
      ...(typeof code === 'string' ? { code } : {}),
      detail: rest,
    });
  }
}

/**
 * What the subject is shown of a quarantine entry naming them (art. 15(4)). An entry keeping a
 * batch's calls, several people's (splitBatchEntry), keeps only the calls that name the cluster,
 * each matched alone as erasure matches an entry, with their reasons; the batch's shared fields
 * stay (its context goes with each call), and `otherCalls` counts the calls left out. Any other
 * entry is one call or a text, shown whole.
 */
const ownCalls = (
  ports: CorePorts,
  tenant: string,
  e: QuarantineEntry,
  target: ScrubTarget,
): { readonly reason: QuarantineEntry['reason']; readonly payload: unknown; readonly otherCalls?: number } => {
  const split = splitBatchEntry(ports, tenant, e, target);
  const otherCalls = split?.targets.filter((t) => !t).length ?? 0;
  if (!split || otherCalls === 0) return { reason: e.reason, payload: e.payload };
  return { ...split.keeping(split.targets), otherCalls };
};

/** What an export says in place of a customer outside the cluster (GDPR art. 15(4): another person's data stays out). */
export const ANOTHER_CUSTOMER = 'another customer';

type HeldCustomer = MatchBookHeld['customers'][number];
type HeldSuggestion = HeldCustomer['suggestions'][number];

/** One pair as the export shows it: whole within the cluster, else the other side unnamed and its field comparisons left out. */
export type ExportedSuggestion =
  | HeldSuggestion
  | {
      readonly customerIds: readonly [string, typeof ANOTHER_CUSTOMER];
      readonly verdict: HeldSuggestion['verdict'];
      readonly score: { readonly modelVersion: string; readonly weight: number; readonly probability: number };
    };

/**
 * The match book's entries reduced to the subject's own data: their records, blocking keys and every
 * pair within the cluster as held; a pair with a customer outside it keeps that it exists, its
 * probability, weight and verdict, and loses the other's id and the per-field levels (which describe
 * the other's values). A decision with an outsider keeps that it was made, not with whom.
 */
const ownMatching = (held: MatchBookHeld, cluster: readonly string[]) => {
  const mine = new Set(cluster);
  const other = (ids: readonly string[]) => ids.map((id) => (mine.has(id) ? id : ANOTHER_CUSTOMER));
  return {
    customers: held.customers.map((c: HeldCustomer) => ({
      ...c,
      suggestions: c.suggestions.map((s): ExportedSuggestion => {
        if (s.customerIds.every((id) => mine.has(id))) return s;
        const { modelVersion, weight, probability } = s.score;
        return { customerIds: [c.customerId, ANOTHER_CUSTOMER], verdict: s.verdict, score: { modelVersion, weight, probability } };
      }),
      rejected: other(c.rejected),
      autoMergeUndone: other(c.autoMergeUndone),
    })),
    blocking: held.blocking,
  };
};

/**
 * An event's data as the subject may see it: where it names a customer outside the cluster (a
 * rejected match, a merge since undone, the survivor an unmerged customer was once merged into),
 * that customer is "another customer", and what the event lists of theirs (members, claim keys of
 * their identifiers, their events) is left out.
 */
const ownData = (r: RecordedEvent, cluster: readonly string[]): RecordedEvent['event']['data'] => {
  const outside = (id: string) => !cluster.includes(id);
  const e = r.event;
  switch (e.type) {
    case 'MatchRejected':
      return outside(e.data.otherId) ? { ...e.data, otherId: ANOTHER_CUSTOMER } : e.data;
    case 'CustomerMerged':
      return outside(e.data.absorbedId)
        ? {
            ...e.data,
            absorbedId: ANOTHER_CUSTOMER,
            absorbedMembers: e.data.absorbedMembers.filter((id) => !outside(id)),
            absorbedDoNotLink: [],
            identifiers: [],
          }
        : e.data;
    case 'CustomerUnmerged':
      return outside(e.data.absorbedId) ? { ...e.data, absorbedId: ANOTHER_CUSTOMER, reassignedEventIds: [], transferredKeys: [] } : e.data;
    case 'CustomerRestored':
      return outside(e.data.fromId) ? { ...e.data, fromId: ANOTHER_CUSTOMER } : e.data;
    case 'CustomerMergedInto':
      return outside(e.data.survivorId) ? { ...e.data, survivorId: ANOTHER_CUSTOMER } : e.data;
    default:
      return e.data;
  }
};

/**
 * What an export names as the actor of an action the controller's staff took (a merge, an unmerge,
 * a consent or restriction recorded through the API or the CLI, a rejected match): its kind,
 * "operator", not the credential id or account that took it (`env-admin-token`, a credentials
 * file's id, `cli:<os user>`), which identify the controller's staff, not the subject's data
 * (art. 15 asks for the data, its purposes, recipients and source). The audit log keeps who, for
 * the controller. An automated decision keeps its name (`system:auto-merge`): it is one.
 */
export const OPERATOR_ACTOR = 'operator';

const shownActor = (actor: string): string => (actor === 'system' || actor.startsWith('system:') ? actor : OPERATOR_ACTOR);

/** an event's source as the export shows it: `operator:<actor>` as its kind; a source system's name (web, crm, a consent's `source`) as it is */
const shownSource = (source: string): string => (source.startsWith('operator:') ? shownActor(source.slice('operator:'.length)) : source);

const shownEvidence = <E extends { readonly actor?: string | undefined }>(evidence: E): E =>
  evidence.actor === undefined ? evidence : { ...evidence, actor: shownActor(evidence.actor) };

/** the 360 view with the sources of its identifiers, traits and consents shown as shownSource shows an event's */
const shownView = (view: { customer: Customer360Response | null; note?: string }): { customer: Customer360Response | null; note?: string } => {
  const c = view.customer;
  if (!c) return view;
  const customer: Customer360Response = {
    ...c,
    identifiers: c.identifiers.map((i) => ({ ...i, source: shownSource(i.source) })),
    traits: Object.fromEntries(Object.entries(c.traits).map(([k, t]) => [k, { ...t, source: shownSource(t.source) }])),
    consents: Object.fromEntries(Object.entries(c.consents).map(([k, t]) => [k, { ...t, source: shownSource(t.source) }])),
  };
  return { ...view, customer };
};

const ACTORS_NOTE = `an action of the controller's staff (a merge or unmerge, a consent or restriction recorded by an operator, a rejected match) names its actor and source as "${OPERATOR_ACTOR}", not the account or credential that took it; an automated decision names the system ("system:auto-merge"); a call's source is the system it came from (web, crm, ...)`;

/** the actor of an event's data (a merge's evidence, an unmerge, a restriction or its lift, a rejected match) as shownActor shows it */
const shownActors = (type: RecordedEvent['event']['type'], data: RecordedEvent['event']['data']): RecordedEvent['event']['data'] => {
  switch (type) {
    case 'CustomerMerged': {
      const d = data as Extract<RecordedEvent['event'], { type: 'CustomerMerged' }>['data'];
      return { ...d, evidence: shownEvidence(d.evidence) };
    }
    case 'CustomerUnmerged':
    case 'ProcessingRestricted':
    case 'ProcessingRestrictionLifted':
    case 'MatchRejected': {
      const d = data as { readonly actor?: string | undefined };
      return d.actor === undefined ? data : ({ ...d, actor: shownActor(d.actor) } as typeof data);
    }
    default:
      return data;
  }
};

const exported = (r: RecordedEvent, recordedAt: number, cluster: readonly string[]): ExportedEvent => {
  const pii = (r.event as { pii?: unknown }).pii;
  const data = shownActors(r.event.type, ownData(r, cluster));
  return {
    eventId: r.eventId,
    streamId: r.streamId,
    version: r.version,
    type: r.event.type,
    observedAt: iso(r.observedAt),
    recordedAt: iso(recordedAt),
    source: shownSource(r.source),
    channel: r.channel,
    ...(r.messageId !== undefined ? { messageId: r.messageId } : {}),
    data,
    ...(pii !== undefined ? { pii } : {}),
  };
};

export type CustomerExport = Awaited<ReturnType<ExportUseCase['export']>>;
