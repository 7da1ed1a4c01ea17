import { DomainError } from '../../domain/shared/errors.js';
import type { CorePorts } from '../deps.js';
import type { IngestOutcome, IngestSource, IngestUseCase } from '../ingest/ingest.use-case.js';
import type { Quarantine, QuarantinePage, QuarantineReason } from '../ports/quarantine.port.js';
import type { Clock } from '../ports/runtime.port.js';

// Quarantined calls are kept as received; after a fix (rules, mapping, a corrected client) they
// are replayed through the same ingest path. A replay that fails again leaves the entry pending.

export class QuarantineUseCases {
  constructor(
    private readonly quarantine: Quarantine,
    private readonly ingest: IngestUseCase,
    private readonly clock: Clock,
    private readonly sourceOf: (tenant: string, name: string) => IngestSource,
    /** where replays are recorded (quarantine.replay); without it they are not audited */
    private readonly audit?: Pick<CorePorts, 'audit' | 'ids'> | undefined,
  ) {}

  list(
    tenant: string,
    options: { after?: string | undefined; limit?: number | undefined; status?: 'pending' | 'replayed' | undefined },
  ): Promise<QuarantinePage> {
    return this.quarantine.list(tenant, { after: options.after, limit: Math.min(Math.max(options.limit ?? 50, 1), 500), status: options.status });
  }

  /** Quarantine a payload that never reached ingest (unreadable body, undecodable record). */
  async hold(tenant: string, sourceName: string, raw: unknown, reason: QuarantineReason, receivedAt = this.clock.now()): Promise<string> {
    return (await this.ingest.quarantine(tenant, this.sourceOf(tenant, sourceName), raw, reason, receivedAt)).quarantineId;
  }

  async replay(tenant: string, id: string, options: { readonly actor?: string | undefined } = {}): Promise<IngestOutcome> {
    const entry = await this.quarantine.get(tenant, id);
    if (!entry) throw new DomainError('QUARANTINE_ENTRY_NOT_FOUND', `no quarantine entry ${id}`, ['id']);
    if (entry.payloadUnavailable) {
      throw new DomainError(
        'QUARANTINE_PAYLOAD_UNAVAILABLE',
        `quarantine entry ${id} can no longer be read (${entry.payloadUnavailable}); it cannot be replayed`,
        ['id'],
      );
    }
    const outcome = await this.ingest.tryIngest(tenant, this.sourceOf(tenant, entry.source), entry.payload, entry.receivedAt);
    if (outcome.status === 'accepted' || outcome.status === 'duplicate') await this.quarantine.markReplayed(tenant, id, this.clock.now());
    if (this.audit) {
      const ok = outcome.status === 'accepted' || outcome.status === 'duplicate';
      const customerId = outcome.status === 'accepted' ? outcome.customerId : undefined;
      const code = ok ? undefined : outcome.error.code;
      const entry = {
        id: this.audit.ids.newId(),
        tenant,
        at: this.clock.now(),
        actor: options.actor ?? 'system',
        action: 'quarantine.replay' as const,
        customerId,
      };
      await this.audit.audit.append({ ...entry, outcome: ok ? 'ok' : 'refused', code, detail: { quarantineId: id, status: outcome.status } });
    }
    return outcome;
  }
}
