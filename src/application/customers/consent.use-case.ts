import { consentDecidedAt, consentPurpose, consentPurposeProblem } from '../../domain/customer/customer.decider.js';
import type { CustomerState } from '../../domain/customer/customer.state.js';
import { isCalendarDateTime, isoTimeMs, OBSERVED_AT_FLOOR } from '../../domain/shared/bounds.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { CommandPipeline } from '../commands/command-pipeline.js';
import { absentCustomer } from './absent-customer.js';
import { PendingStream } from '../commands/pending-stream.js';
import type { CorePorts } from '../deps.js';
import type { CustomerRepository } from './customer.repository.js';
import type { OperationOptions } from './identity.use-cases.js';

// Consent decisions recorded directly (a preference centre, a support agent), next to the ones
// Segment calls carry in context.consent.categoryPreferences. Both become the same events, so the
// 360 view's per-purpose fold treats them alike: the latest decision across the cluster wins.

export type ConsentRequest = {
  readonly purpose: string;
  readonly status: 'granted' | 'withdrawn';
  /** when the person decided (ISO 8601); default now */
  readonly at?: string | undefined;
  /**
   * where the decision was taken, e.g. "preference-center" (letters, digits, . _ : -, at most 64:
   * it is stored unencrypted); default `operator:<actor>` when that is such a name, else `operator`
   * (an actor such as an email address is never stored on the event: the audit log keeps it)
   */
  readonly source?: string | undefined;
};

export type ConsentRecorded = {
  readonly customerId: string;
  readonly requestedId: string;
  readonly purpose: string;
  readonly status: 'granted' | 'withdrawn';
  readonly at?: string | undefined;
  readonly source: string;
  readonly eventId?: string | undefined;
  readonly duplicate: boolean;
};

/** the source is stored readable on the event (it survives erasure), so it must name a system, never a person */
const SOURCE = /^[A-Za-z0-9][\w.:-]{0,63}$/;
/** the source of a decision given without one: the actor's, where it names no more than a system may */
const defaultSource = (actor: string): string => {
  const named = `operator:${actor}`;
  return SOURCE.test(named) ? named : 'operator';
};
/** a decision dated further ahead than this is refused as a mistake; one dated less ahead counts as taken when received */
const MAX_FUTURE_MS = 5 * 60_000;

export class ConsentUseCase {
  constructor(
    private readonly ports: CorePorts,
    private readonly repo: CustomerRepository,
    private readonly pipeline: CommandPipeline,
  ) {}

  async record(
    tenant: string,
    customerId: string,
    request: ConsentRequest,
    options: Pick<OperationOptions, 'actor' | 'operationId'>,
  ): Promise<ConsentRecorded> {
    const refused = consentPurposeProblem(request.purpose);
    if (refused) throw new DomainError('VALIDATION_FAILED', `purpose ${refused}`, ['purpose']);
    const purpose = consentPurpose(request.purpose);
    const source = request.source ?? defaultSource(options.actor);
    const opId = options.operationId ?? this.ports.ids.newId();
    const opHash = this.ports.hasher.claimKey(tenant, '$operation', `consent|${customerId}|${purpose}|${request.status}|${request.at ?? ''}|${source}`);
    const eventIdFor = (streamId: string, index: number) => this.ports.hasher.digest(`${tenant}|op|${opId}|${streamId}|${index}`);
    const base = { requestedId: customerId, purpose, status: request.status, source };

    if (!SOURCE.test(source)) {
      throw new DomainError(
        'VALIDATION_FAILED',
        `source must name the system the decision came from (letters, digits, . _ : -, at most 64), e.g. "preference-center"; it is stored unencrypted; got ${JSON.stringify(source.slice(0, 80))}`,
        ['source'],
      );
    }
    const now = this.ports.clock.now();
    const statedAt = request.at === undefined ? now : isoTimeMs(request.at);
    // a day that exists (Date.parse takes 2024-02-30 for March 1st), as a call's timestamp must be
    if (Number.isNaN(statedAt) || (request.at !== undefined && !isCalendarDateTime(request.at)))
      throw new DomainError('VALIDATION_FAILED', `at must be an ISO 8601 time on a day that exists, e.g. 2026-01-31T12:00:00Z; got "${request.at}"`, ['at']);
    // the floor of every stated time (a call's timestamp too): a mistyped year (0026 for 2026) would
    // be answered as recorded, yet outranked by any later decision, so it would have no effect
    if (statedAt < OBSERVED_AT_FLOOR)
      throw new DomainError(
        'VALIDATION_FAILED',
        `at (${request.at}) is before ${new Date(OBSERVED_AT_FLOOR).toISOString()}, the earliest time taken; check the year`,
        ['at'],
      );
    if (statedAt > now + MAX_FUTURE_MS)
      throw new DomainError('VALIDATION_FAILED', `at (${request.at}) is in the future; send the time the person decided`, ['at']);
    // a few minutes ahead is a clock's skew, forgiven: the decision is dated when it was received
    const observedAt = consentDecidedAt(statedAt, now);

    const recorded = await this.pipeline.run<Omit<ConsentRecorded, keyof typeof base>>({
      tenant,
      name: 'the consent',
      subject: ['customerId'],
      idempotency: {
        key: `op:${opId}`,
        payloadHash: opHash,
        // a retry: answer with the first attempt's event, found on whichever stream of the cluster holds it
        duplicate: async (stored) => {
          if (stored !== opHash)
            throw new DomainError('IDEMPOTENCY_CONFLICT', `operationId ${opId} was already used for a different operation`, ['operationId']);
          const survivor = await this.repo.loadSurvivor(tenant, customerId);
          const first = await this.findEvent(tenant, survivor, eventIdFor);
          return { customerId: survivor.id, at: first ? new Date(first.observedAt).toISOString() : request.at, eventId: first?.eventId, duplicate: true };
        },
      },
      decide: async () => {
        const state = await this.repo.loadSurvivor(tenant, customerId);
        // erased (410 naming the erasure) or never a customer (404), naming customerId as every route does
        if (state.status === 'initial' || state.status === 'erased') throw await absentCustomer(this.ports.ledger, tenant, customerId);
        const pending = new PendingStream(state, eventIdFor);
        pending.run(
          // the id it was asked through: one absorbed into the survivor takes the decision back on unmerge
          { type: 'RecordConsent', purpose, granted: request.status === 'granted', observedAt, source, requestedId: customerId },
          { observedAt, source, sourcePriority: 0, channel: 'other' },
        );
        return {
          kind: 'write',
          streams: [pending],
          committed: () => ({ customerId: state.id, at: new Date(observedAt).toISOString(), eventId: pending.recorded[0]?.eventId, duplicate: false }),
        };
      },
    });
    if (recorded.duplicate) return { ...base, ...recorded };
    await this.ports.audit.append({
      id: this.ports.ids.newId(),
      tenant,
      at: now,
      actor: options.actor,
      action: 'customer.consent',
      customerId: recorded.customerId,
      outcome: 'ok',
      // the purpose and source are caller-chosen text: the event id leads to them, the audit keeps ids only
      detail: { requestedId: customerId, granted: request.status === 'granted', ...(recorded.eventId ? { eventId: recorded.eventId } : {}) },
    });
    return { ...base, ...recorded };
  }

  private async findEvent(tenant: string, survivor: CustomerState, eventIdFor: (streamId: string, index: number) => string) {
    for (const id of [survivor.id, ...survivor.members]) {
      const wanted = eventIdFor(id, 0);
      const hit = (await this.ports.store.readStream(tenant, id)).find((e) => e.eventId === wanted);
      if (hit) return hit;
    }
    return undefined;
  }
}
