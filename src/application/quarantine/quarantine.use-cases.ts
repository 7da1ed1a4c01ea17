import { DomainError } from '../../domain/shared/errors.js';
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
  ) {}

  list(tenant: string, options: { after?: string | undefined; limit?: number | undefined; status?: 'pending' | 'replayed' | undefined }): Promise<QuarantinePage> {
    return this.quarantine.list(tenant, { after: options.after, limit: Math.min(Math.max(options.limit ?? 50, 1), 500), status: options.status });
  }

  /** Quarantine a payload that never reached ingest (unreadable body, undecodable record). */
  async hold(tenant: string, sourceName: string, raw: unknown, reason: QuarantineReason, receivedAt = this.clock.now()): Promise<string> {
    return (await this.ingest.quarantine(tenant, this.sourceOf(tenant, sourceName), raw, reason, receivedAt)).quarantineId;
  }

  async replay(tenant: string, id: string): Promise<IngestOutcome> {
    const entry = await this.quarantine.get(tenant, id);
    if (!entry) throw new DomainError('QUARANTINE_ENTRY_NOT_FOUND', `no quarantine entry ${id}`, ['id']);
    const outcome = await this.ingest.tryIngest(tenant, this.sourceOf(tenant, entry.source), entry.payload, entry.receivedAt);
    if (outcome.status === 'accepted' || outcome.status === 'duplicate') await this.quarantine.markReplayed(tenant, id, this.clock.now());
    return outcome;
  }
}
