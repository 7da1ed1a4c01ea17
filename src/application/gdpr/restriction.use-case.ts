import { DomainError } from '../../domain/shared/errors.js';
import type { CustomerRepository } from '../customers/customer.repository.js';
import { PendingStream, toAppend } from '../customers/stream-writer.js';
import type { CorePorts } from '../deps.js';
import type { EventCodec } from '../event-codec.js';
import type { AfterCommit } from '../ingest/ingest.use-case.js';

// Restriction of processing (GDPR art. 18) on the cluster's survivor: the customer's data stays
// and keeps arriving, but engagement must not use it. "Already so" records nothing new.

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

const MAX_ATTEMPTS = 6;
const REASON_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;

export class RestrictionUseCase {
  constructor(
    private readonly ports: CorePorts,
    private readonly repo: CustomerRepository,
    private readonly codec: EventCodec,
    private readonly afterCommit: AfterCommit = async () => {},
  ) {}

  restrict(tenant: string, customerId: string, options: RestrictionOptions): Promise<RestrictionOutcome> {
    return this.set(tenant, customerId, true, options);
  }

  unrestrict(tenant: string, customerId: string, options: RestrictionOptions): Promise<RestrictionOutcome> {
    return this.set(tenant, customerId, false, options);
  }

  private async set(tenant: string, customerId: string, restrict: boolean, options: RestrictionOptions): Promise<RestrictionOutcome> {
    for (let attempt = 1; ; attempt++) {
      const state = await this.repo.loadSurvivor(tenant, customerId);
      if (state.status === 'initial') throw new DomainError('CUSTOMER_NOT_FOUND', `no customer ${customerId}`, ['customerId']);
      const now = this.ports.clock.now();
      const pending = new PendingStream(state, (streamId, index) => this.ports.hasher.digest(`${tenant}|restrict|${streamId}|${state.version}|${index}`));
      const command = { actor: options.actor, reason: options.reason };
      pending.run(restrict ? { type: 'Restrict', ...command } : { type: 'LiftRestriction', ...command }, {
        observedAt: now,
        source: `operator:${options.actor}`,
        sourcePriority: 0,
        channel: 'other',
      });
      if (pending.recorded.length === 0) return { customerId: state.id, restricted: state.restricted, changed: false, version: state.version };
      const append = await toAppend(tenant, pending, this.codec, this.ports.keys, now);
      const result = await this.ports.store.commit({ tenant, streams: [append], claims: [] });
      if (result.status === 'committed') {
        this.repo.remember(tenant, pending.current);
        try {
          await this.afterCommit(tenant, pending.recorded);
        } catch {
          // committed is committed: a gap re-read or a rebuild brings the view up to date
          this.ports.metrics.increment('projection_failed');
        }
        await this.ports.audit.append({
          id: this.ports.ids.newId(),
          tenant,
          at: now,
          actor: options.actor,
          action: restrict ? 'customer.restrict' : 'customer.unrestrict',
          customerId: state.id,
          outcome: 'ok',
          ...(options.reason && REASON_CODE.test(options.reason) ? { detail: { reason: options.reason } } : {}),
        });
        return { customerId: state.id, restricted: restrict, changed: true, version: pending.current.version };
      }
      this.repo.evict(tenant, state.id);
      this.ports.metrics.increment('commit_conflict_retry');
      if (attempt >= MAX_ATTEMPTS) throw new DomainError('CONCURRENCY_CONFLICT', `customer ${customerId} kept changing; try again`, ['customerId']);
    }
  }
}
