import type { Outbox, OutboxEntry, OutboxRetry } from '../../application/ports/outbox.port.js';

/** The engagement outbox in memory, for tests and the embedded default. */
export class MemoryOutbox implements Outbox {
  private readonly entries = new Map<string, OutboxEntry>();

  private key = (tenant: string, decisionId: string) => `${tenant}\u0000${decisionId}`;

  async stage(entry: OutboxEntry): Promise<boolean> {
    const k = this.key(entry.tenant, entry.decisionId);
    const held = this.entries.get(k);
    if (held && (held.confirmed || held.status === 'published')) return false;
    this.entries.set(k, { ...entry, status: 'pending', confirmed: false });
    return true;
  }

  async get(tenant: string, decisionId: string): Promise<OutboxEntry | undefined> {
    return this.entries.get(this.key(tenant, decisionId));
  }

  async due(now: number, limit: number): Promise<readonly OutboxEntry[]> {
    return [...this.entries.values()]
      .filter((e) => e.status === 'pending' && e.nextAttemptAt <= now)
      .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || (a.decisionId < b.decisionId ? -1 : 1))
      .slice(0, limit);
  }

  async reschedule(tenant: string, decisionId: string, retry: OutboxRetry): Promise<void> {
    const k = this.key(tenant, decisionId);
    const held = this.entries.get(k);
    if (held?.status !== 'pending') return;
    const { lastError: _dropped, ...rest } = held;
    this.entries.set(k, {
      ...rest,
      attempts: retry.attempts,
      nextAttemptAt: retry.nextAttemptAt,
      confirmed: retry.confirmed,
      ...(retry.lastError !== undefined ? { lastError: retry.lastError } : {}),
    });
  }

  async markPublished(tenant: string, decisionId: string, at: number): Promise<void> {
    const k = this.key(tenant, decisionId);
    const held = this.entries.get(k);
    if (held) this.entries.set(k, { ...held, status: 'published', confirmed: true, publishedAt: at });
  }

  async discard(tenant: string, decisionId: string, why: 'uncommitted' | 'erased' = 'uncommitted'): Promise<void> {
    const k = this.key(tenant, decisionId);
    const held = this.entries.get(k);
    if (held?.status === 'pending' && (why === 'erased' || !held.confirmed)) this.entries.delete(k);
  }

  /** every entry, for tests and diagnostics */
  all(): OutboxEntry[] {
    return [...this.entries.values()];
  }
}
