import type { DecisionFact, EngagementHistory } from '../../domain/engagement/engagement.history.js';
import { absentCustomer } from '../customers/absent-customer.js';
import type { CustomerRepository } from '../customers/customer.repository.js';
import type { ErasureLedger } from '../ports/erasure-ledger.port.js';
import type { ReadModelStore } from '../ports/read-model.port.js';

// Engagement decisions as the API shows them: from the 360 view (the cluster's latest 100,
// newest first), times as ISO strings.

const iso = (ms: number): string => new Date(ms).toISOString();

export const presentDecision = (d: DecisionFact) => ({
  decisionId: d.decisionId,
  eventId: d.eventId,
  decidedAt: iso(d.at),
  outcome: d.outcome,
  reason: d.reason,
  offerId: d.offerId,
  offerTitle: d.offerTitle,
  channel: d.channel,
  trigger: { type: d.trigger, eventId: d.triggerEventId },
});
export type PresentedDecision = ReturnType<typeof presentDecision>;

/** The `engagement` part of the 360 response. */
export const presentEngagement = (h: EngagementHistory | undefined) => {
  const lastSent = Object.values(h?.lastSent ?? {}).reduce<number | undefined>((m, at) => (m === undefined || at > m ? at : m), undefined);
  return {
    sent: h?.sent ?? 0,
    suppressed: h?.suppressed ?? 0,
    lastSentAt: lastSent === undefined ? undefined : iso(lastSent),
    decisions: (h?.decisions ?? []).map(presentDecision),
    /** decisions older than the latest ENGAGEMENT_HISTORY_SIZE: counted in sent and suppressed, no longer held by the view */
    olderDecisionsDropped: Math.max(0, (h?.sent ?? 0) + (h?.suppressed ?? 0) - (h?.decisions.length ?? 0)),
  };
};

export type EngagementsResult =
  | { readonly kind: 'history'; readonly customerId: string; readonly version: number; readonly engagement: ReturnType<typeof presentEngagement> }
  | { readonly kind: 'redirect'; readonly survivorId: string };

export class EngagementQueries {
  constructor(
    private readonly views: ReadModelStore,
    private readonly repo: CustomerRepository,
    private readonly ledger: Pick<ErasureLedger, 'find'>,
  ) {}

  async history(tenant: string, customerId: string): Promise<EngagementsResult> {
    const doc = await this.views.get(tenant, customerId);
    if (!doc) throw await absentCustomer(this.ledger, tenant, customerId);
    if (doc.kind !== 'view') return { kind: 'redirect', survivorId: (await this.repo.loadSurvivor(tenant, customerId)).id };
    return { kind: 'history', customerId: doc.customerId, version: doc.version, engagement: presentEngagement(doc.view.engagement) };
  }
}
