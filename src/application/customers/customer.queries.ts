import type { MergeEvidence, RecordedEvent } from '../../domain/customer/customer.events.js';
import type { CustomerState, MergeRecord } from '../../domain/customer/customer.state.js';
import { nestedMerge } from '../../domain/customer/unmerge.js';
import { normalizeIdentifier } from '../../domain/identity/identifier.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { CorePorts } from '../deps.js';
import type { EventCodec } from '../event-codec.js';
import type { ViewDoc } from '../ports/read-model.port.js';
import type { Customer360Projector } from '../projection/customer360.projector.js';
import { ScratchDocs } from '../projection/rebuild.use-case.js';
import { erasedCustomer, unknownCustomer } from './absent-customer.js';
import { present, type Customer360Response } from './customer360.presenter.js';
import type { CustomerRepository } from './customer.repository.js';

export type Get360Result = { readonly kind: 'view'; readonly customer: Customer360Response } | { readonly kind: 'redirect'; readonly survivorId: string };

export class CustomerQueries {
  constructor(
    private readonly ports: CorePorts,
    private readonly repo: CustomerRepository,
    private readonly codec: EventCodec,
    /** folds a view from the log when the read model has none yet (a projection that lags) */
    private readonly projector?: Pick<Customer360Projector, 'recompute'> | undefined,
  ) {}

  async get360(tenant: string, customerId: string): Promise<Get360Result> {
    // The erasure ledger is asked with the read, not after it: a doc the read model holds for an
    // id an erasure covered (a projection that raced the erasure, or lagged behind a migrated log)
    // is never served. The two point reads go at once, so a read waits for the slower of them,
    // not for both; an erased id is answered without folding its log.
    const [stored, receipt] = await Promise.all([this.ports.readModels.get(tenant, customerId), this.ports.ledger.find(tenant, customerId)]);
    if (receipt) throw erasedCustomer(receipt, customerId);
    const doc = stored ?? (await this.fromLog(tenant, customerId));
    // an erasure still under way (tombstone committed, receipt not yet recorded) reads as absent
    if (!doc) throw unknownCustomer(customerId);
    if (doc.kind !== 'view') return { kind: 'redirect', survivorId: (await this.repo.loadSurvivor(tenant, customerId)).id };
    return { kind: 'view', customer: present(doc, this.ports.clock.now(), this.ports.settings.scoreConfig(tenant), this.ports.settings.phoneRegion(tenant)) };
  }

  /**
   * The doc the projector will write, folded from the log now: a customer whose write was
   * acknowledged is never answered 404 because its view lags (DynamoDB Streams, another
   * process's follower). Nothing is written; undefined when the log holds no such customer.
   */
  private async fromLog(tenant: string, customerId: string): Promise<ViewDoc | undefined> {
    if (!this.projector) return undefined;
    const state = await this.repo.load(tenant, customerId);
    if (state.status !== 'active' && state.status !== 'merged') return undefined;
    const scratch = new ScratchDocs();
    await this.projector.recompute(tenant, customerId, scratch);
    return scratch.docs.get(customerId);
  }

  /** The customer that currently holds an identifier, e.g. email:ada@example.com. */
  async findByIdentifier(tenant: string, type: string, rawValue: string): Promise<Get360Result> {
    // an email earlier builds linked and today's refuse (a wrapper, a trailing dot) is still found
    const id = normalizeIdentifier(type, rawValue, { defaultRegion: this.ports.settings.phoneRegion(tenant), storedEmails: true }, ['identifier']);
    const key = this.ports.hasher.claimKey(tenant, id.type, id.value);
    const owner = (await this.ports.store.readClaims(tenant, [key])).get(key);
    if (!owner) throw new DomainError('CUSTOMER_NOT_FOUND', `no customer holds that ${id.type}`, ['identifier']);
    const survivor = await this.repo.loadSurvivor(tenant, owner);
    return this.get360(tenant, survivor.id);
  }

  /** Why are these identifiers one customer? Every link, merge and rejection with its evidence. */
  /**
   * The unmerge that undid merge `mergeId` of this customer (the survivor's CustomerUnmerged), or
   * undefined: how a merge the customer no longer holds differs from one it never had.
   */
  async unmergeOf(tenant: string, customerId: string, mergeId: string): Promise<{ readonly at: string; readonly restoredId: string } | undefined> {
    const state = await this.repo.load(tenant, customerId);
    if (state.status !== 'active') return undefined;
    const key = await this.ports.keys.get(tenant, customerId);
    for (const e of this.codec.decodeStream(await this.ports.store.readStream(tenant, customerId), key))
      if (e.event.type === 'CustomerUnmerged' && e.event.data.mergeId === mergeId)
        return { at: new Date(e.observedAt).toISOString(), restoredId: e.event.data.absorbedId };
    return undefined;
  }

  async explain(tenant: string, customerId: string) {
    const state = await this.repo.load(tenant, customerId);
    if (state.status === 'initial') throw new DomainError('CUSTOMER_NOT_FOUND', `no customer ${customerId}`, ['customerId']);
    if (state.status === 'erased') throw new DomainError('CUSTOMER_ERASED', `customer ${customerId} was erased`, ['customerId']);
    if (state.status === 'merged') {
      const survivor = await this.repo.loadSurvivor(tenant, customerId);
      return { customerId, status: 'merged' as const, survivorId: survivor.id };
    }
    const events: RecordedEvent[] = [];
    for (const id of [state.id, ...state.members]) {
      const key = await this.ports.keys.get(tenant, id);
      events.push(...this.codec.decodeStream(await this.ports.store.readStream(tenant, id), key));
    }
    if (events.some((e) => e.event.type === 'CustomerErased')) {
      // erased by another process since this one cached the customer
      for (const id of [state.id, ...state.members]) this.repo.evict(tenant, id);
      throw new DomainError('CUSTOMER_ERASED', `customer ${customerId} was erased`, ['customerId']);
    }
    const memberStates = new Map<string, CustomerState>((await Promise.all(state.members.map((id) => this.repo.load(tenant, id)))).map((m) => [m.id, m]));
    const iso = (ms: number) => new Date(ms).toISOString();
    // an operator's reason is personal data, in the event's pii: readable while the key is
    const mergeReasons = new Map(
      events.flatMap((e) =>
        e.event.type === 'CustomerMerged' && e.event.pii?.reason !== undefined ? [[e.event.data.mergeId, e.event.pii.reason] as const] : [],
      ),
    );
    const evidenceOf = (m: MergeRecord): MergeEvidence => {
      const reason = mergeReasons.get(m.mergeId);
      return reason === undefined ? m.evidence : { ...m.evidence, reason };
    };
    const links = new Map(events.flatMap((e) => (e.event.type === 'IdentifierLinked' ? [[e.event.data.key, e] as const] : [])));
    return {
      customerId,
      status: 'active' as const,
      members: state.members,
      identifiers: [...state.identifiers.values()].map((i) => {
        const link = links.get(i.key);
        const merge = i.viaMerge ? state.merges.get(i.viaMerge) : undefined;
        return {
          type: i.type,
          // the claim key, as merges' evidence names the identifiers that tied two customers
          key: i.key,
          value: link?.event.type === 'IdentifierLinked' ? (link.event.pii?.value ?? null) : null,
          claimedBy: i.origin,
          linkedAt: iso(i.observedAt),
          linkedBy: link ? { eventId: link.eventId, messageId: link.messageId, source: link.source, observedAt: iso(link.observedAt) } : undefined,
          viaMerge: merge ? { mergeId: merge.mergeId, absorbedId: merge.absorbedId, at: iso(merge.observedAt), evidence: evidenceOf(merge) } : undefined,
        };
      }),
      merges: [...state.merges.values()].map((m) => ({
        mergeId: m.mergeId,
        absorbedId: m.absorbedId,
        absorbedMembers: m.absorbedMembers,
        at: iso(m.observedAt),
        evidence: evidenceOf(m),
      })),
      /**
       * merges held inside the cluster: made by a member before it was absorbed itself. Each names
       * its holder and the merges to undo first (outermost first) before the holder can undo it.
       */
      nestedMerges: [...memberStates.values()].flatMap((m) =>
        [...m.merges.values()].map((r) => ({
          mergeId: r.mergeId,
          heldBy: m.id,
          absorbedId: r.absorbedId,
          absorbedMembers: r.absorbedMembers,
          at: iso(r.observedAt),
          evidence: evidenceOf(r),
          undoFirst: nestedMerge(r.mergeId, state, memberStates)?.undoFirst ?? [],
        })),
      ),
      /** the merges of this customer undone, each with who undid it and why */
      unmerges: events.flatMap((e) =>
        e.event.type === 'CustomerUnmerged' && e.streamId === state.id
          ? [
              {
                mergeId: e.event.data.mergeId,
                restoredId: e.event.data.absorbedId,
                at: iso(e.observedAt),
                actor: e.event.data.actor,
                reason: e.event.pii?.reason,
              },
            ]
          : [],
      ),
      rejections: events.flatMap((e) =>
        e.event.type === 'IdentifierRejected'
          ? [
              {
                type: e.event.data.type,
                value: e.event.pii?.value ?? null,
                reason: e.event.data.reason,
                detail: e.event.data.detail,
                at: iso(e.observedAt),
                messageId: e.messageId,
              },
            ]
          : [],
      ),
      doNotLink: [...state.doNotLink],
    };
  }
}
