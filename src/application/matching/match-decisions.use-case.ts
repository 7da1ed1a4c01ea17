import type { CustomerState } from '../../domain/customer/customer.state.js';
import { pairKey } from '../../domain/matching/match-book.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { CommandPipeline } from '../commands/command-pipeline.js';
import { PendingStream } from '../commands/pending-stream.js';
import { absentCustomer } from '../customers/absent-customer.js';
import type { CustomerRepository } from '../customers/customer.repository.js';
import type { CorePorts } from '../deps.js';
import type { EventCodec } from '../event-codec.js';

// A person's decision about a suggested match, recorded in the log (so a rebuild of the match book
// keeps it): a rejection goes on the customer's survivor stream as MatchRejected, ids only.

export type RejectOutcome = { readonly customerId: string; readonly otherId: string; readonly version: number };

export class MatchDecisions {
  constructor(
    private readonly ports: CorePorts,
    private readonly repo: CustomerRepository,
    private readonly pipeline: CommandPipeline,
    private readonly codec: EventCodec,
  ) {}

  /** Why `id` names no active customer (CUSTOMER_ERASED naming the erasure, or CUSTOMER_NOT_FOUND), or undefined when it does. */
  async absent(tenant: string, id: string, field: string): Promise<DomainError | undefined> {
    const state = await this.repo.loadSurvivor(tenant, id);
    return state.status === 'active' ? undefined : absentCustomer(this.ports.ledger, tenant, id, field);
  }

  /** The customer both ids name when they are one active customer (merged, or the same id), else undefined. */
  async oneCustomer(tenant: string, a: string, b: string): Promise<string | undefined> {
    const [x, y] = await Promise.all([this.repo.loadSurvivor(tenant, a), this.repo.loadSurvivor(tenant, b)]);
    return x.status === 'active' && y.status === 'active' && x.id === y.id ? x.id : undefined;
  }

  /**
   * The pairs among these that the identity graph keeps apart: split by an unmerge (or a restore),
   * directly or through a customer one of them has absorbed since, so that a merge of them is
   * refused DO_NOT_LINK (the rule `checkMerge` applies). Keys as `pairKey` makes them. Each
   * customer's state is loaded once.
   */
  async keptApart(tenant: string, pairs: readonly (readonly [string, string])[]): Promise<ReadonlySet<string>> {
    const states = new Map<string, Promise<CustomerState>>();
    const load = (id: string) => {
      let state = states.get(id);
      if (!state) states.set(id, (state = this.repo.loadSurvivor(tenant, id)));
      return state;
    };
    const marks = (x: CustomerState, y: CustomerState) => x.doNotLink.has(y.id) || y.members.some((m) => x.doNotLink.has(m));
    const apart = new Set<string>();
    await Promise.all(
      pairs.map(async ([a, b]) => {
        const [x, y] = await Promise.all([load(a), load(b)]);
        if (x.status === 'active' && y.status === 'active' && x.id !== y.id && (marks(x, y) || marks(y, x))) apart.add(pairKey(a, b));
      }),
    );
    return apart;
  }

  /**
   * The reason recorded with one of the customer's merges: in the CustomerMerged event's pii (an
   * operator's reason is personal data), so read under the customer's key; undefined once erased.
   */
  async mergeReason(tenant: string, customerId: string, mergeId: string): Promise<string | undefined> {
    const state = await this.repo.loadSurvivor(tenant, customerId);
    const merge = state.merges.get(mergeId);
    if (!merge) return undefined;
    const stored = (await this.ports.store.readStream(tenant, state.id, merge.atVersion - 1)).find((e) => e.eventId === merge.eventId);
    if (!stored) return undefined;
    const event = this.codec.decodeStream([stored], await this.ports.keys.get(tenant, state.id))[0]!.event;
    return event.type === 'CustomerMerged' ? event.pii?.reason : undefined;
  }

  async reject(tenant: string, customerId: string, otherId: string, options: { readonly actor: string; readonly modelVersion?: string | undefined }) {
    const outcome = await this.pipeline.run<RejectOutcome>({
      tenant,
      name: 'the match rejection',
      subject: ['customerId'],
      decide: async ({ now }) => {
        const [state, other] = await Promise.all([this.repo.loadSurvivor(tenant, customerId), this.repo.loadSurvivor(tenant, otherId)]);
        if (state.status !== 'active') throw await absentCustomer(this.ports.ledger, tenant, customerId);
        if (other.status !== 'active') throw await absentCustomer(this.ports.ledger, tenant, otherId, 'otherId');
        if (other.id === state.id)
          throw new DomainError('MERGE_SAME_CUSTOMER', `${customerId} and ${otherId} are already one customer (${state.id})`, ['otherId']);
        const pending = new PendingStream(state, (streamId, index) => this.ports.hasher.digest(`${tenant}|match-reject|${streamId}|${state.version}|${index}`));
        pending.run(
          { type: 'RejectMatch', otherId: other.id, actor: options.actor, modelVersion: options.modelVersion },
          { observedAt: now, source: `operator:${options.actor}`, sourcePriority: 0, channel: 'other' },
        );
        return { kind: 'write', streams: [pending], committed: () => ({ customerId: state.id, otherId: other.id, version: pending.current.version }) };
      },
    });
    await this.ports.audit.append({
      id: this.ports.ids.newId(),
      tenant,
      at: this.ports.clock.now(),
      actor: options.actor,
      action: 'customer.match.reject',
      customerId: outcome.customerId,
      outcome: 'ok',
      detail: { otherId: outcome.otherId },
    });
    return outcome;
  }
}
