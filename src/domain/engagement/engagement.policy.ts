import { z } from 'zod';
import type { EngagementDecisionData, EngagementReason } from '../customer/customer.events.js';
import type { Customer360 } from '../projection/customer360.js';
import { compareStrings } from '../shared/compare.js';
import { SEND_MEMORY, sendsWithin, sentWithin } from './engagement.history.js';
import type { Place, Trigger } from './engagement.trigger.js';
import { CHANNEL_PURPOSE, DELIVERY_CHANNELS, type DeliveryChannel, type Offer } from './offer.js';

// The next best offer, decided purely from the cluster's 360 view, the trigger and the time given.
// Order of the checks: a restricted customer is not even scored (GDPR art. 18); then the most
// relevant offer not sent within the suppression window is picked, on the customer's preferred
// channel among the offer's; then consent for that channel's purpose and the frequency cap over
// the cluster's sends on that channel. A capped channel suppresses the decision (FREQUENCY_CAP):
// the offer is not moved to another channel it allows, which would send the customer more on a
// channel they use less just when they have had the most on their own.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// built on first parse, not at import (a Lambda's cold start builds no schema it does not use)
const engagementConfigSchema = () => {
  const EngagementConfig = z.object({
    /** sends per customer (cluster) per delivery channel within capWindowMs */
    capPerChannel: z.number().int().min(1).max(SEND_MEMORY).default(3),
    capWindowMs: z.number().int().positive().default(DAY),
    /** the same offer is not sent again within this */
    suppressionMs: z
      .number()
      .int()
      .nonnegative()
      .default(7 * DAY),
    /** older triggers (imports, late batches) get no decision: real time only */
    maxTriggerAgeMs: z.number().int().positive().default(HOUR),
    /** how fast past interest fades in the score */
    interestHalfLifeMs: z
      .number()
      .int()
      .positive()
      .default(7 * DAY),
  });
  return EngagementConfig;
};
export const EngagementConfig = z.lazy(engagementConfigSchema);
export type EngagementConfig = z.infer<ReturnType<typeof engagementConfigSchema>>;
/** What EngagementConfig.parse({}) gives (a test holds them equal), without building the schema at import. */
export const DEFAULT_ENGAGEMENT_CONFIG: EngagementConfig = {
  capPerChannel: 3,
  capWindowMs: DAY,
  suppressionMs: 7 * DAY,
  maxTriggerAgeMs: HOUR,
  interestHalfLifeMs: 7 * DAY,
};

export type EngagementInput = {
  readonly now: number;
  readonly trigger: Trigger;
  readonly view: Customer360;
  readonly restricted: boolean;
  readonly offers: readonly Offer[];
  readonly config: EngagementConfig;
};

export type EngagementDecision =
  | { readonly outcome: 'sent'; readonly offer: Offer; readonly channel: DeliveryChannel; readonly score: number }
  | { readonly outcome: 'suppressed'; readonly reason: EngagementReason; readonly offer?: Offer; readonly channel?: DeliveryChannel; readonly score?: number };

export type ScoredOffer = { readonly offer: Offer; readonly score: number };

const norm = (s: string | undefined): string => (s ?? '').trim().toLowerCase();

/** The place that counts now: the trigger's own, else the one the customer was seen in last. */
export const currentPlace = (view: Customer360, trigger: Trigger): Place | undefined => {
  if (trigger.place) return trigger.place;
  let best: { at: number; key: string; place: Place } | undefined;
  for (const [key, l] of Object.entries(view.locations)) {
    if (!best || l.lastSeenAt > best.at || (l.lastSeenAt === best.at && key > best.key)) best = { at: l.lastSeenAt, key, place: l };
  }
  return best?.place;
};

const placeMatches = (wanted: string, place: Place | undefined): boolean =>
  place !== undefined && [place.city, place.region, place.country].some((p) => p !== undefined && norm(p) === norm(wanted));

/**
 * An offer's score, or undefined when it does not apply: outside its validity window, for another
 * place, or about interests the customer never showed. Interest weighs most (now > past, fading
 * with age), then a matching place, then the offer's own priority.
 */
export const scoreOffer = (offer: Offer, view: Customer360, trigger: Trigger, now: number, config: EngagementConfig): number | undefined => {
  if (offer.validFromMs !== undefined && now < offer.validFromMs) return undefined;
  if (offer.validUntilMs !== undefined && now >= offer.validUntilMs) return undefined;
  const place = currentPlace(view, trigger);
  const local = offer.locations.length > 0 && offer.locations.some((l) => placeMatches(l, place));
  if (offer.locations.length > 0 && !local) return undefined;
  let interest = 0;
  for (const t of offer.interests) {
    const past = view.interests[t];
    const fading = past ? Math.min(1, Math.log2(1 + past.count) / 4) * 0.5 ** (Math.max(0, now - past.lastSeenAt) / config.interestHalfLifeMs) : 0;
    interest = Math.max(interest, (trigger.interests.includes(t) ? 3 : 0) + 2 * fading);
  }
  if (offer.interests.length > 0 && interest === 0) return undefined;
  return Math.round((interest * 10 + (local ? 15 : 0) + offer.priority / 10) * 1000) / 1000;
};

/** Applicable offers, best first (score, then priority, then id: a total order). */
export const rankOffers = (input: Pick<EngagementInput, 'offers' | 'view' | 'trigger' | 'now' | 'config'>): ScoredOffer[] =>
  input.offers
    .flatMap((offer) => {
      const score = scoreOffer(offer, input.view, input.trigger, input.now, input.config);
      return score === undefined ? [] : [{ offer, score }];
    })
    .sort((a, b) => b.score - a.score || b.offer.priority - a.offer.priority || compareStrings(a.offer.id, b.offer.id));

const ACTIVITY_TO_DELIVERY: Readonly<Record<string, DeliveryChannel>> = { mobile: 'push', web: 'web', email: 'email' };

/** Delivery channels, preferred first: where the customer is most active, then email, push, web, sms. */
export const channelPreference = (view: Customer360): DeliveryChannel[] => {
  const active = Object.entries(view.channels)
    .sort(([ka, a], [kb, b]) => b.count - a.count || b.lastSeenAt - a.lastSeenAt || compareStrings(ka, kb))
    .flatMap(([name]) => (ACTIVITY_TO_DELIVERY[name] ? [ACTIVITY_TO_DELIVERY[name]] : []));
  return [...new Set([...active, ...DELIVERY_CHANNELS])];
};

/** Granted means the latest answer across the cluster is a grant, and no equal-time withdrawal. */
export const consentGranted = (view: Customer360, purpose: string): boolean => {
  const c = view.consents[purpose];
  return c !== undefined && c.answers.length === 1 && c.answers[0] === 'granted';
};

/** The offer's channel: the customer's most preferred one among those the offer allows. */
const channelFor = (offer: Offer, preference: readonly DeliveryChannel[]): DeliveryChannel =>
  preference.find((ch) => offer.channels.includes(ch)) ?? offer.channels[0]!;

/**
 * The decision for one trigger, or undefined when there is nothing to decide (no offer applies).
 * The most relevant offer not sent recently wins, on the customer's preferred channel for it.
 */
export const decideEngagement = (input: EngagementInput): EngagementDecision | undefined => {
  const { view, now, config } = input;
  if (input.restricted) return { outcome: 'suppressed', reason: 'RESTRICTED' };
  const ranked = rankOffers(input);
  const best = ranked[0];
  if (best === undefined) return undefined;
  const preference = channelPreference(view);
  const fresh = ranked.find((r) => !sentWithin(view.engagement, r.offer.id, now, config.suppressionMs));
  const choice = fresh ?? best;
  const channel = channelFor(choice.offer, preference);
  const suppressed = (reason: EngagementReason): EngagementDecision => ({ outcome: 'suppressed', reason, offer: choice.offer, channel, score: choice.score });
  if (!consentGranted(view, CHANNEL_PURPOSE[channel])) return suppressed('NO_CONSENT');
  if (!fresh) return suppressed('RECENTLY_SENT');
  if (sendsWithin(view.engagement, channel, now, config.capWindowMs) >= config.capPerChannel) return suppressed('FREQUENCY_CAP');
  return { outcome: 'sent', offer: fresh.offer, channel, score: fresh.score };
};

/** The event data that records a decision. */
export const decisionData = (decisionId: string, trigger: Trigger, d: EngagementDecision): EngagementDecisionData => ({
  decisionId,
  triggerEventId: trigger.eventId,
  trigger: trigger.type,
  outcome: d.outcome,
  ...(d.outcome === 'suppressed' ? { reason: d.reason } : {}),
  ...(d.offer ? { offerId: d.offer.id, offerTitle: d.offer.title } : {}),
  ...(d.channel ? { channel: d.channel, purpose: CHANNEL_PURPOSE[d.channel] } : {}),
  ...(d.score !== undefined ? { score: d.score } : {}),
});
