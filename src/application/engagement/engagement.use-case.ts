import type { RecordedEvent } from '../../domain/customer/customer.events.js';
import type { CustomerState } from '../../domain/customer/customer.state.js';
import {
  decideEngagement,
  decisionData,
  DEFAULT_ENGAGEMENT_CONFIG,
  EngagementConfig,
  type EngagementDecision,
} from '../../domain/engagement/engagement.policy.js';
import { repeatsAnOrder, triggersOf, type Trigger } from '../../domain/engagement/engagement.trigger.js';
import type { Offer } from '../../domain/engagement/offer.js';
import { DomainError } from '../../domain/shared/errors.js';
import type { Annex, CommandPipeline } from '../commands/command-pipeline.js';
import { PendingStream } from '../commands/pending-stream.js';
import type { CustomerRepository } from '../customers/customer.repository.js';
import type { CorePorts } from '../deps.js';
import type { Notifier } from '../ports/notifier.port.js';
import type { Outbox, OutboxEntry } from '../ports/outbox.port.js';
import { currentView } from './engagement.view.js';
import { deliver, ENGAGEMENT_SOURCE, RELAY_GRACE_MS } from './engagement.delivery.js';

// Real-time engagement: decide the next best offer for each triggering call and record the
// decision (sent or suppressed) on the survivor's stream; a sent one is then handed to the
// notifier through the outbox. The decision id derives from the stream and call, and doubles as
// an idempotency key, so a redelivered trigger never records a second decision. Where the views
// are projected right after each commit, the decision is taken before the call commits and goes
// into the call's own commit (annex); otherwise (Streams, another process's commits) it is taken
// after the triggering events are committed and projected, in a commit of its own (react).

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
  | { readonly status: 'skipped'; readonly why: 'stale-trigger' | 'no-offer' | 'not-active' | 'gave-up' | 'repeat-order' };

/**
 * See EngagementUseCase.react: `decided` is handed each decision's events, committed but not
 * projected, and for a sent one the delivery of its notification, which the caller runs once the
 * view shows the decision.
 */
export type Unprojected = { readonly decided: (recorded: readonly RecordedEvent[], send?: () => Promise<void>) => void };

/** choose's answer for a call repeating an order already counted: no decision */
const REPEAT_ORDER = 'repeat-order' as const;

/**
 * The id of the decision a trigger gets: per call, but per order for an order with an orderId. A
 * repeat of an order (a retry, a reloaded thank-you page) then meets the first sending's decision
 * record and is not answered again, whichever sending the view counts: a repeat dated before the
 * first is the one the view counts, so the view alone cannot tell it was answered.
 */
const decisionIdOf = (hasher: CorePorts['hasher'], tenant: string, trigger: Trigger): string =>
  trigger.order === undefined
    ? hasher.digest(`${tenant}|engagement|${trigger.streamId}|${trigger.callId}`)
    : hasher.digest(`${tenant}|engagement|order|${trigger.order.orderId}`);

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
    // a trigger answered in its own commit (annex) has its decision among the events
    const answered = new Set(events.flatMap((r) => (r.event.type === 'EngagementDecided' ? [r.event.data.triggerEventId] : [])));
    const hand = unprojected && {
      known,
      decided: (recorded: readonly RecordedEvent[], send?: () => Promise<void>) => {
        known.push(...recorded);
        unprojected.decided(recorded, send);
      },
    };
    for (const trigger of triggersOf(events)) if (!answered.has(trigger.eventId)) out.push(await this.decide(tenant, trigger, hand));
    return out;
  }

  /**
   * The decisions for the triggering calls of a write about to commit, added to its pending
   * streams so that they commit with it (the pipeline's before-commit step): each sees the view
   * with everything committed before it and the write's own events, exactly as `decide` after the
   * commit would. Undefined, adding nothing, when a trigger's stream is not one of the write's
   * active streams (react decides after the commit then).
   *
   * A staged outbox entry is never taken back here: another attempt at the same call (a replica,
   * a client's retry) stages the same decision id, and may be the one that commits. What never
   * commits, the relay drops once it finds no sent decision of that id in the log.
   */
  async annex(tenant: string, streams: readonly PendingStream[]): Promise<Annex | undefined> {
    const recorded = streams.flatMap((p) => p.recorded);
    const triggers = triggersOf(recorded);
    if (triggers.length === 0) return undefined;
    const on = triggers.map((t) => streams.find((p) => p.before.id === t.streamId && p.current.status === 'active'));
    if (on.some((p) => p === undefined)) return undefined;
    const { hasher, metrics, store } = this.ports;
    // the time the decisions are taken (the command's may be older: lock waits, retries)
    const now = this.ports.clock.now();
    const records: { key: string; payloadHash: string }[] = [];
    const counted: Parameters<typeof metrics.increment>[0][] = [];
    const sends: (() => Promise<void>)[] = [];
    // two sendings of one order in one write share a decision id: the first answers it
    const taken = new Set<string>();
    for (const [i, trigger] of triggers.entries()) {
      if (now - trigger.observedAt > this.config.maxTriggerAgeMs) {
        counted.push('engagement_skipped');
        continue;
      }
      const decisionId = decisionIdOf(hasher, tenant, trigger);
      if (taken.has(decisionId)) continue;
      taken.add(decisionId);
      // decided before under this id (a call ingested again once its own record expired, a
      // decision taken after its commit by an earlier version): not again
      if (await store.getIdempotency(tenant, `engagement:${decisionId}`, now)) {
        counted.push('engagement_duplicate');
        continue;
      }
      const pending = on[i]!;
      const state = pending.current;
      const decision = await this.choose(
        tenant,
        trigger,
        state,
        streams.flatMap((p) => p.recorded),
        now,
      );
      if (!decision || decision === REPEAT_ORDER) continue;
      const eventId = `${decisionId}.0`;
      const entry = decision.outcome === 'sent' ? this.outboxEntry(tenant, decisionId, state.id, state.version + 1, eventId, decision, now) : undefined;
      // confirmed or published already: decided and committed before, so not again
      if (entry && !(await this.options.outbox.stage(entry))) {
        counted.push('engagement_duplicate');
        continue;
      }
      pending.run({ type: 'RecordEngagement', decision: decisionData(decisionId, trigger, decision) }, this.stamp(now), (n) => `${decisionId}.${n}`);
      records.push({ key: `engagement:${decisionId}`, payloadHash: decisionId });
      counted.push(decision.outcome === 'sent' ? 'engagement_sent' : 'engagement_suppressed');
      if (entry) sends.push(async () => void (await deliver(this.ports, this.options, { ...entry, confirmed: true }, now)));
    }
    return {
      records,
      landed: async () => {
        for (const name of counted) metrics.increment(name);
        // the outbox relay publishes what fails here
        for (const send of sends) await send().catch(() => metrics.increment('engagement_failed'));
      },
    };
  }

  /** The policy's answer for a trigger, against the cluster's view as of `state` (see currentView). */
  private async choose(tenant: string, trigger: Trigger, state: CustomerState, known: readonly RecordedEvent[] | undefined, now: number) {
    const view = await currentView(this.ports.store, this.ports.readModels, tenant, state, known);
    // the same order sent again: recorded, counted once, answered once
    if (repeatsAnOrder(trigger, view)) return REPEAT_ORDER;
    return decideEngagement({ now, trigger, view, restricted: view.restricted || state.restricted, offers: this.options.offers, config: this.config });
  }

  private stamp(now: number) {
    return { observedAt: now, source: ENGAGEMENT_SOURCE, sourcePriority: 0, channel: 'other' } as const;
  }

  private outboxEntry(
    tenant: string,
    decisionId: string,
    customerId: string,
    version: number,
    eventId: string,
    decision: Extract<EngagementDecision, { outcome: 'sent' }>,
    now: number,
  ): OutboxEntry {
    return {
      tenant,
      decisionId,
      customerId,
      version,
      eventId,
      notification: {
        decisionId,
        tenant,
        customerId,
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
    };
  }

  async decide(tenant: string, trigger: Trigger, unprojected?: Unprojected & { readonly known: readonly RecordedEvent[] }): Promise<EngagementOutcome> {
    const { hasher, clock, metrics } = this.ports;
    const now = clock.now();
    if (now - trigger.observedAt > this.config.maxTriggerAgeMs) {
      metrics.increment('engagement_skipped');
      return { status: 'skipped', why: 'stale-trigger' };
    }
    const decisionId = decisionIdOf(hasher, tenant, trigger);
    try {
      return await this.pipeline.run<EngagementOutcome>({
        tenant,
        name: 'the engagement decision',
        idempotency: { key: `engagement:${decisionId}`, payloadHash: decisionId, duplicate: () => this.duplicate(decisionId) },
        decide: async () => {
          const state = await this.repo.loadSurvivor(tenant, trigger.streamId);
          if (state.status !== 'active') return { kind: 'answer', result: { status: 'skipped', why: 'not-active' } };
          const decision = await this.choose(tenant, trigger, state, unprojected?.known, now);
          if (decision === REPEAT_ORDER) return { kind: 'answer', result: { status: 'skipped', why: 'repeat-order' } };
          if (!decision) return { kind: 'answer', result: { status: 'skipped', why: 'no-offer' } };
          const data = decisionData(decisionId, trigger, decision);
          const pending = new PendingStream(state, (_stream, index) => `${decisionId}.${index}`);
          pending.run({ type: 'RecordEngagement', decision: data }, this.stamp(now));
          const recorded = pending.recorded[0]!;
          const entry =
            decision.outcome === 'sent' ? this.outboxEntry(tenant, decisionId, state.id, recorded.version, recorded.eventId, decision, now) : undefined;
          if (entry && !(await this.options.outbox.stage(entry))) return { kind: 'answer', result: this.duplicate(decisionId) };
          return {
            kind: 'write',
            streams: [pending],
            // a staged entry is left for the relay, as in `annex`: another attempt may be the one that commits
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
