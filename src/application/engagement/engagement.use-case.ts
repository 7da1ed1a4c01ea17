import type { RecordedEvent } from '../../domain/customer/customer.events.js';
import { decideEngagement, decisionData, DEFAULT_ENGAGEMENT_CONFIG, EngagementConfig } from '../../domain/engagement/engagement.policy.js';
import { triggersOf, type Trigger } from '../../domain/engagement/engagement.trigger.js';
import type { Offer } from '../../domain/engagement/offer.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { CommandPipeline } from '../commands/command-pipeline.js';
import { PendingStream } from '../commands/pending-stream.js';
import type { CustomerRepository } from '../customers/customer.repository.js';
import type { CorePorts } from '../deps.js';
import type { Notifier } from '../ports/notifier.port.js';
import type { Outbox, OutboxEntry } from '../ports/outbox.port.js';
import { currentView } from './engagement.view.js';
import { deliver, ENGAGEMENT_SOURCE, RELAY_GRACE_MS } from './engagement.delivery.js';

// Real-time engagement: after triggering events are committed (and projected, or projected
// together with the decisions: see react), decide the next best offer for each triggering call and
// record the decision (sent or suppressed) on the survivor's stream; a sent one is then handed to
// the notifier through the outbox. The decision id derives from the stream and call, and doubles
// as the commit's idempotency key, so a redelivered trigger never records a second decision.

export type EngagementOptions = {
  readonly offers: readonly Offer[];
  readonly notifier: Notifier;
  readonly outbox: Outbox;
  readonly policy?: Partial<EngagementConfig> | undefined;
};

export type EngagementOutcome =
  | {
      readonly status: 'decided';
      readonly decisionId: string;
      readonly customerId: string;
      readonly outcome: 'sent' | 'suppressed';
      readonly reason?: string | undefined;
      readonly offerId?: string | undefined;
    }
  | { readonly status: 'duplicate'; readonly decisionId: string }
  | { readonly status: 'skipped'; readonly why: 'stale-trigger' | 'no-offer' | 'not-active' | 'gave-up' };

/**
 * See EngagementUseCase.react: `decided` is handed each decision's events, committed but not
 * projected, and for a sent one the delivery of its notification, which the caller runs once the
 * view shows the decision.
 */
export type Unprojected = { readonly decided: (recorded: readonly RecordedEvent[], send?: () => Promise<void>) => void };

export class EngagementUseCase {
  readonly config: EngagementConfig;

  constructor(
    private readonly ports: CorePorts,
    private readonly repo: CustomerRepository,
    private readonly pipeline: CommandPipeline,
    private readonly options: EngagementOptions,
  ) {
    this.config = EngagementConfig.parse({ ...DEFAULT_ENGAGEMENT_CONFIG, ...options.policy });
  }

  /**
   * Answers every triggering call among committed events; our own decisions never trigger.
   * `unprojected`: the events are not projected yet, and the caller projects them together with
   * the decisions (handed to `unprojected.decided`, committed but not projected): one write of the
   * view instead of two. Each decision still sees the view with its trigger (see currentView).
   */
  async react(tenant: string, events: readonly RecordedEvent[], unprojected?: Unprojected): Promise<EngagementOutcome[]> {
    const out: EngagementOutcome[] = [];
    // the events in hand grow with each decision: a second trigger on the same stream folds the first's too
    const known = [...events];
    const hand = unprojected && {
      known,
      decided: (recorded: readonly RecordedEvent[], send?: () => Promise<void>) => {
        known.push(...recorded);
        unprojected.decided(recorded, send);
      },
    };
    for (const trigger of triggersOf(events)) out.push(await this.decide(tenant, trigger, hand));
    return out;
  }

  async decide(tenant: string, trigger: Trigger, unprojected?: Unprojected & { readonly known: readonly RecordedEvent[] }): Promise<EngagementOutcome> {
    const { store, hasher, clock, metrics } = this.ports;
    const now = clock.now();
    if (now - trigger.observedAt > this.config.maxTriggerAgeMs) {
      metrics.increment('engagement_skipped');
      return { status: 'skipped', why: 'stale-trigger' };
    }
    const decisionId = hasher.digest(`${tenant}|engagement|${trigger.streamId}|${trigger.callId}`);
    try {
      return await this.pipeline.run<EngagementOutcome>({
        tenant,
        name: 'the engagement decision',
        idempotency: { key: `engagement:${decisionId}`, payloadHash: decisionId, duplicate: () => this.duplicate(decisionId) },
        decide: async () => {
          const state = await this.repo.loadSurvivor(tenant, trigger.streamId);
          if (state.status !== 'active') return { kind: 'answer', result: { status: 'skipped', why: 'not-active' } };
          const view = await currentView(store, this.ports.readModels, tenant, state, unprojected?.known);
          const decision = decideEngagement({
            now,
            trigger,
            view,
            restricted: view.restricted || state.restricted,
            offers: this.options.offers,
            config: this.config,
          });
          if (!decision) return { kind: 'answer', result: { status: 'skipped', why: 'no-offer' } };
          const data = decisionData(decisionId, trigger, decision);
          const pending = new PendingStream(state, (_stream, index) => `${decisionId}.${index}`);
          pending.run({ type: 'RecordEngagement', decision: data }, { observedAt: now, source: ENGAGEMENT_SOURCE, sourcePriority: 0, channel: 'other' });
          const recorded = pending.recorded[0]!;
          const entry: OutboxEntry | undefined =
            decision.outcome === 'sent'
              ? {
                  tenant,
                  decisionId,
                  customerId: state.id,
                  version: recorded.version,
                  eventId: recorded.eventId,
                  notification: {
                    decisionId,
                    tenant,
                    customerId: state.id,
                    channel: decision.channel,
                    offerId: decision.offer.id,
                    offerTitle: decision.offer.title,
                    decidedAt: now,
                  },
                  status: 'pending',
                  confirmed: false,
                  attempts: 0,
                  createdAt: now,
                  // the relay leaves it alone while this attempt is still committing and publishing
                  nextAttemptAt: now + RELAY_GRACE_MS,
                }
              : undefined;
          if (entry && !(await this.options.outbox.stage(entry))) return { kind: 'answer', result: this.duplicate(decisionId) };
          return {
            kind: 'write',
            streams: [pending],
            onConflict: entry ? () => this.options.outbox.discard(tenant, decisionId) : undefined,
            project: unprojected ? false : undefined,
            committed: async (recorded) => {
              metrics.increment(decision.outcome === 'sent' ? 'engagement_sent' : 'engagement_suppressed');
              const send = entry && (async () => void (await deliver(this.ports, this.options, { ...entry, confirmed: true }, now)));
              // not projected yet: the caller delivers once the view shows the decision
              if (unprojected) unprojected.decided(recorded, send);
              else if (send) await send();
              return {
                status: 'decided',
                decisionId,
                customerId: state.id,
                outcome: decision.outcome,
                reason: decision.outcome === 'suppressed' ? decision.reason : undefined,
                offerId: decision.offer?.id,
              };
            },
          };
        },
      });
    } catch (e) {
      if (!(e instanceof DomainError) || e.code !== 'CONCURRENCY_CONFLICT') throw e;
      metrics.increment('engagement_failed');
      return { status: 'skipped', why: 'gave-up' };
    }
  }

  private duplicate(decisionId: string): EngagementOutcome {
    this.ports.metrics.increment('engagement_duplicate');
    return { status: 'duplicate', decisionId };
  }
}
