import type { CommandPipeline } from '../commands/command-pipeline.js';
import { PendingStream } from '../commands/pending-stream.js';
import { absentCustomer } from '../customers/absent-customer.js';
import type { CustomerRepository } from '../customers/customer.repository.js';
import type { CorePorts } from '../deps.js';

// Restriction of processing (GDPR art. 18) on the cluster's survivor: the customer's data stays
// and keeps arriving, but engagement must not use it. Each decision names the id it was asked
// through (an absorbed customer's goes back with them if the merge is undone); "already so" records
// nothing new only when the decision in force was asked through the same id.

export type RestrictionOptions = { readonly actor: string; readonly reason?: string | undefined };

export type RestrictionOutcome = {
  /** the survivor the restriction applies to (an absorbed id resolves to it) */
  readonly customerId: string;
  readonly restricted: boolean;
  /** false when it already was so: no event was recorded */
  readonly changed: boolean;
  /** the survivor stream's version afterwards */
  readonly version: number;
};

const REASON_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;

export class RestrictionUseCase {
  constructor(
    private readonly ports: CorePorts,
    private readonly repo: CustomerRepository,
    private readonly pipeline: CommandPipeline,
  ) {}

  restrict(tenant: string, customerId: string, options: RestrictionOptions): Promise<RestrictionOutcome> {
    return this.set(tenant, customerId, true, options);
  }

  unrestrict(tenant: string, customerId: string, options: RestrictionOptions): Promise<RestrictionOutcome> {
    return this.set(tenant, customerId, false, options);
  }

  private async set(tenant: string, customerId: string, restrict: boolean, options: RestrictionOptions): Promise<RestrictionOutcome> {
    const outcome = await this.pipeline.run<RestrictionOutcome>({
      tenant,
      name: restrict ? 'the restriction' : 'lifting the restriction',
      subject: ['customerId'],
      decide: async ({ now }) => {
        const state = await this.repo.loadSurvivor(tenant, customerId);
        // erased (410 naming the erasure) or never a customer (404), naming customerId as every route does
        if (state.status === 'initial' || state.status === 'erased') throw await absentCustomer(this.ports.ledger, tenant, customerId);
        const pending = new PendingStream(state, (streamId, index) => this.ports.hasher.digest(`${tenant}|restrict|${streamId}|${state.version}|${index}`));
        // the id it was asked through: one absorbed into the survivor takes the decision back on unmerge
        const command = { actor: options.actor, reason: options.reason, requestedId: customerId };
        pending.run(restrict ? { type: 'Restrict', ...command } : { type: 'LiftRestriction', ...command }, {
          observedAt: now,
          source: `operator:${options.actor}`,
          sourcePriority: 0,
          channel: 'other',
        });
        if (pending.recorded.length === 0)
          return { kind: 'answer', result: { customerId: state.id, restricted: state.restricted, changed: false, version: state.version } };
        return {
          kind: 'write',
          streams: [pending],
          committed: () => ({ customerId: state.id, restricted: restrict, changed: true, version: pending.current.version }),
        };
      },
    });
    // a request that changed nothing (already restricted, or not restricted to lift) is kept too:
    // who asked for a restriction, and when, is what an accountability record must answer
    await this.ports.audit.append({
      id: this.ports.ids.newId(),
      tenant,
      at: this.ports.clock.now(),
      actor: options.actor,
      action: restrict ? 'customer.restrict' : 'customer.unrestrict',
      customerId: outcome.customerId,
      outcome: 'ok',
      detail: { changed: outcome.changed, ...(options.reason && REASON_CODE.test(options.reason) ? { reason: options.reason } : {}) },
    });
    return outcome;
  }
}
