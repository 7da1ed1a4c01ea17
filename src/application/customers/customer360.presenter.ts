import { presentEngagement } from '../engagement/engagement.queries.js';
import type { Customer360 } from '../../domain/projection/customer360.js';
import { fromMinorUnits as money } from '../../domain/shared/bounds.js';
import { computeScores, type ScoreConfig, type Scores } from '../../domain/projection/scores.js';
import type { ViewDoc } from '../ports/read-model.port.js';
import { tryNormalizeIdentifier, type PhoneRegion } from '../../domain/identity/identifier.js';

// The 360 view as the API shows it: times as ISO strings, consent as a decision, scores computed
// now from the stored facts.

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

export type ConsentStatus = 'granted' | 'withdrawn' | 'conflicting';

/** the traits that name an identifier of the same type */
const IDENTIFYING_TRAITS = ['email', 'phone'] as const;

/**
 * The email and phone traits whose value is not one of the customer's identifiers: the call that
 * set it had that identifier refused (another customer's after an unmerge, over a limit, blocked,
 * invalid: explain's rejections say which), or it was unlinked since. A trait is the latest value
 * sent, whatever the identity rules decided, so it is shown, flagged. Not flagged when an
 * identifier of that type cannot be read.
 */
const traitsNotHeld = (
  traits: Customer360['traits'],
  identifiers: readonly { readonly type: string; readonly value: string | null }[],
  defaultRegion: PhoneRegion,
): string[] =>
  IDENTIFYING_TRAITS.filter((type) => {
    const value = traits[type]?.value;
    if (typeof value !== 'string' || value.trim() === '') return false;
    const held = identifiers.filter((i) => i.type === type);
    if (held.some((i) => i.value === null)) return false;
    const n = tryNormalizeIdentifier(type, value, { defaultRegion, storedEmails: true });
    return !n.ok || !held.some((i) => i.value === n.id.value);
  });

export const present = (doc: Extract<ViewDoc, { kind: 'view' }>, now: number, config: ScoreConfig, phoneRegion: PhoneRegion = 'US') => {
  const v: Customer360 = doc.view;
  const scores: Scores = computeScores(v, now, config);
  const identifiers = Object.entries(v.identifiers)
    .filter(([key, id]) => (v.unlinked[key] ?? -Infinity) < id.lastLinkedAt)
    .map(([, id]) => ({ type: id.type, value: id.value ?? null, firstSeenAt: iso(id.firstSeenAt), source: id.source, eventId: id.eventId }))
    .sort((a, b) => (a.type + (a.value ?? '')).localeCompare(b.type + (b.value ?? '')));
  const consents = Object.fromEntries(
    Object.entries(v.consents).map(([purpose, c]) => {
      const status: ConsentStatus = c.answers.length > 1 ? 'conflicting' : c.answers[0] === 'granted' ? 'granted' : 'withdrawn';
      return [purpose, { granted: status === 'granted', status, at: iso(c.at), source: c.source }];
    }),
  );
  return {
    customerId: v.customerId,
    version: doc.version,
    aliases: v.aliases,
    firstSeenAt: iso(v.firstSeenAt),
    lastSeenAt: iso(v.lastSeenAt),
    eventCount: v.eventCount,
    identifiers,
    traits: Object.fromEntries(Object.entries(v.traits).map(([k, t]) => [k, { value: t.value, observedAt: iso(t.observedAt), source: t.source }])),
    // do not contact the customer through one of these without checking explain
    traitsNotHeld: traitsNotHeld(v.traits, identifiers, phoneRegion),
    consents,
    // GDPR art. 18: the data is kept and keeps arriving; engagement leaves the customer alone
    restriction: { restricted: v.restricted, decidedAt: iso(v.restriction?.at) },
    interests: Object.entries(v.interests)
      .map(([name, a]) => ({ name, count: a.count, firstSeenAt: iso(a.firstSeenAt), lastSeenAt: iso(a.lastSeenAt) }))
      .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name)),
    locations: Object.values(v.locations).map((l) => ({ country: l.country, region: l.region, city: l.city, count: l.count, lastSeenAt: iso(l.lastSeenAt) })),
    channels: Object.fromEntries(
      Object.entries(v.channels).map(([c, a]) => [c, { count: a.count, firstSeenAt: iso(a.firstSeenAt), lastSeenAt: iso(a.lastSeenAt) }]),
    ),
    orders: {
      count: v.orders.count,
      revenue: Object.fromEntries(Object.entries(v.orders.revenueMinor).map(([c, m]) => [c, money(m, c)])),
      // per currency, as revenue: no amount without its currency, none converted
      averageOrderValue: Object.fromEntries(
        Object.entries(v.orders.revenueMinor).map(([c, m]) => [c, money(Math.round(m / Math.max(1, v.orders.countByCurrency[c] ?? 0)), c)]),
      ),
      firstOrderAt: iso(v.orders.firstOrderAt),
      lastOrderAt: iso(v.orders.lastOrderAt),
      // calls that sent an order already counted (same orderId) again: kept, never counted
      repeated: v.orders.repeated ?? 0,
      repeatsByOrderId: Object.fromEntries(Object.entries(v.orders.byId ?? {}).flatMap(([id, o]) => (o.repeats > 0 ? [[id, o.repeats]] : []))),
    },
    scores: {
      clv: money(scores.clvMinor, scores.currency),
      // the one currency clv and the monetary score count (C360_SCORE_CURRENCY); orders in another are
      // left out of them (no exchange rate is assumed), and named here
      currency: scores.currency,
      ordersCounted: v.orders.countByCurrency[scores.currency] ?? 0,
      currenciesNotCounted: Object.keys(v.orders.revenueMinor)
        .filter((c) => c !== scores.currency)
        .sort(),
      rfm: scores.rfm,
      churnRisk: scores.churnRisk,
      daysSinceLastOrder: scores.daysSinceLastOrder,
      daysSinceLastSeen: scores.daysSinceLastSeen,
      computedAt: iso(now),
    },
    groups: v.groups,
    engagement: presentEngagement(v.engagement),
    timeline: v.timeline.map((t) => ({ ...t, observedAt: iso(t.observedAt) })),
  };
};

export type Customer360Response = ReturnType<typeof present>;
