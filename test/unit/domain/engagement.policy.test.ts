import { describe, expect, it } from 'vitest';
import type { CustomerEvent, EngagementDecisionData, RecordedEvent } from '../../../src/domain/customer/customer.events.js';
import {
  decideEngagement,
  decisionData,
  DEFAULT_ENGAGEMENT_CONFIG,
  EngagementConfig,
  type EngagementInput,
} from '../../../src/domain/engagement/engagement.policy.js';
import { triggersOf, type Trigger } from '../../../src/domain/engagement/engagement.trigger.js';
import { parseCatalogue } from '../../../src/domain/engagement/offer.js';
import { foldCluster, type Customer360 } from '../../../src/domain/projection/customer360.js';

// The engagement policy by example: given the customer's events (folded into the 360 view as the
// projector does), when a trigger arrives at `now`, then this decision.

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const offers = parseCatalogue({
  offers: [
    { id: 'electronics-upgrade', title: 'Headphones 15% off', interests: ['Electronics'], channels: ['email', 'push'], priority: 60 },
    { id: 'electronics-cables', title: 'Cables 2 for 1', interests: ['electronics'], channels: ['email', 'push'], priority: 20 },
    {
      id: 'cpt-collect',
      title: 'Cape Town same-day collection',
      interests: ['electronics'],
      locations: ['Cape Town'],
      channels: ['email', 'push'],
      priority: 40,
    },
    { id: 'books-3-for-2', title: '3 for 2 on books', interests: ['books'], channels: ['web'], priority: 50 },
    { id: 'expired', title: 'Gone', interests: ['electronics'], channels: ['email'], priority: 100, validUntil: '2025-12-31T00:00:00Z' },
  ],
});

let seq = 0;
const ev = (event: CustomerEvent, at: number, meta: Partial<RecordedEvent> = {}): RecordedEvent => {
  seq++;
  return {
    eventId: `e${String(seq).padStart(4, '0')}`,
    streamId: 'c-1',
    version: seq,
    observedAt: at,
    source: 'web',
    sourcePriority: 10,
    channel: 'web',
    ...meta,
    event,
  };
};
const consent = (granted: boolean, at = T0 - DAY): RecordedEvent =>
  ev({ type: granted ? 'ConsentGranted' : 'ConsentWithdrawn', v: 1, data: { purpose: 'marketing' } }, at);
const interest = (name: string, at = T0): RecordedEvent => ev({ type: 'InterestExpressed', v: 1, data: { interest: name } }, at);
const place = (city: string, country: string, at = T0): RecordedEvent => ev({ type: 'LocationObserved', v: 1, data: { city, country } }, at);
const decided = (data: Partial<EngagementDecisionData>, at: number): RecordedEvent =>
  ev(
    {
      type: 'EngagementDecided',
      v: 1,
      data: {
        decisionId: `d${seq}`,
        triggerEventId: 'x',
        trigger: 'InterestExpressed',
        outcome: 'sent',
        channel: 'email',
        offerId: 'electronics-upgrade',
        ...data,
      },
    },
    at,
    { source: 'engagement', channel: 'other' },
  );

const viewOf = (events: readonly RecordedEvent[]): Customer360 => foldCluster('c-1', [], events);
const triggerOf = (events: readonly RecordedEvent[]): Trigger => triggersOf(events)[0]!;

const decide = (history: readonly RecordedEvent[], call: readonly RecordedEvent[], overrides: Partial<EngagementInput> = {}) =>
  decideEngagement({
    now: T0,
    trigger: triggerOf(call),
    view: viewOf([...history, ...call]),
    restricted: false,
    offers,
    config: DEFAULT_ENGAGEMENT_CONFIG,
    ...overrides,
  });

describe('engagement policy', () => {
  it('the default config is what the schema gives for an empty one', () => {
    expect(DEFAULT_ENGAGEMENT_CONFIG).toEqual(EngagementConfig.parse({}));
  });

  it('sends the best matching offer when marketing consent is granted', () => {
    const d = decide([consent(true)], [interest('electronics')]);
    expect(d).toMatchObject({ outcome: 'sent', channel: 'email', offer: { id: 'electronics-upgrade' } });
  });

  it('suppresses with NO_CONSENT when consent was withdrawn, never given, or answered both ways at once', () => {
    expect(decide([consent(false)], [interest('electronics')])).toMatchObject({
      outcome: 'suppressed',
      reason: 'NO_CONSENT',
      offer: { id: 'electronics-upgrade' },
    });
    expect(decide([], [interest('electronics')])).toMatchObject({ outcome: 'suppressed', reason: 'NO_CONSENT' });
    expect(decide([consent(true, T0 - HOUR), consent(false, T0 - HOUR)], [interest('electronics')])).toMatchObject({
      outcome: 'suppressed',
      reason: 'NO_CONSENT',
    });
    // the latest answer wins
    expect(decide([consent(false, T0 - DAY), consent(true, T0 - HOUR)], [interest('electronics')])).toMatchObject({ outcome: 'sent' });
  });

  it('decides nothing when no offer applies (no interest matched, or only expired offers)', () => {
    expect(decide([consent(true)], [interest('gardening')])).toBeUndefined();
    const onlyExpired = parseCatalogue({
      offers: [{ id: 'old', title: 'Old', interests: ['electronics'], channels: ['email'], validUntil: '2025-12-31T00:00:00Z' }],
    });
    expect(decide([consent(true)], [interest('electronics')], { offers: onlyExpired })).toBeUndefined();
  });

  it('caps sends per channel over the cap window: the 4th in 24 h is FREQUENCY_CAP (not sent on another channel the offer allows), the next day it sends again', () => {
    const sends = [decided({ offerId: 'a' }, T0 - 20 * HOUR), decided({ offerId: 'b' }, T0 - 10 * HOUR), decided({ offerId: 'c' }, T0 - HOUR)];
    expect(decide([consent(true), ...sends], [interest('electronics')])).toMatchObject({ outcome: 'suppressed', reason: 'FREQUENCY_CAP', channel: 'email' });
    // not moved to push, which the offer allows and where nothing was sent: the cap holds on the customer's channel
    expect(offers.find((o) => o.id === 'electronics-upgrade')?.channels).toContain('push');
    // a suppressed decision is not a send, and a send on another channel does not count here
    const others = [
      decided({ offerId: 'a' }, T0 - 20 * HOUR),
      decided({ offerId: 'b', outcome: 'suppressed', reason: 'NO_CONSENT' }, T0 - 10 * HOUR),
      decided({ offerId: 'c', channel: 'push' }, T0 - HOUR),
    ];
    expect(decide([consent(true), ...others], [interest('electronics')])).toMatchObject({ outcome: 'sent' });
    const later = decide([consent(true), ...sends], [interest('electronics', T0 + 5 * HOUR)], { now: T0 + 5 * HOUR });
    expect(later).toMatchObject({ outcome: 'sent' });
  });

  it('does not send the same offer again within 7 days: the next best goes out, or RECENTLY_SENT when none is left', () => {
    const recent = [decided({ offerId: 'electronics-upgrade' }, T0 - 6 * DAY)];
    expect(decide([consent(true), ...recent], [interest('electronics')])).toMatchObject({ outcome: 'sent', offer: { id: 'electronics-cables' } });
    const both = [...recent, decided({ offerId: 'electronics-cables' }, T0 - 5 * DAY)];
    expect(decide([consent(true), ...both], [interest('electronics')])).toMatchObject({
      outcome: 'suppressed',
      reason: 'RECENTLY_SENT',
      offer: { id: 'electronics-upgrade' },
    });
    // eight days on, the best one is allowed again
    const old = [decided({ offerId: 'electronics-upgrade' }, T0 - 8 * DAY)];
    expect(decide([consent(true), ...old], [interest('electronics')])).toMatchObject({ outcome: 'sent', offer: { id: 'electronics-upgrade' } });
  });

  it('gives a restricted customer nothing, not even a scored offer', () => {
    expect(decide([consent(true)], [interest('electronics')], { restricted: true })).toEqual({ outcome: 'suppressed', reason: 'RESTRICTED' });
  });

  it('prefers the location-specific offer in Cape Town, and never shows it elsewhere', () => {
    const inCapeTown = decide([consent(true), place('Cape Town', 'ZA', T0 - DAY)], [interest('electronics')]);
    expect(inCapeTown).toMatchObject({ outcome: 'sent', offer: { id: 'cpt-collect' } });
    const arriving = decide(
      [consent(true)],
      [interest('electronics'), place('cape town', 'ZA')].map((r) => ({ ...r, messageId: 'm-1' })),
    );
    expect(arriving).toMatchObject({ outcome: 'sent', offer: { id: 'cpt-collect' } });
    const inLondon = decide([consent(true), place('Cape Town', 'ZA', T0 - 2 * DAY), place('London', 'GB', T0 - DAY)], [interest('electronics')]);
    expect(inLondon).toMatchObject({ outcome: 'sent', offer: { id: 'electronics-upgrade' } });
  });

  it('picks the channel where the customer is most active, among the channels the offer allows', () => {
    const mobile = (at: number) => ev({ type: 'ScreenViewed', v: 1, data: { name: 'home' } }, at, { channel: 'mobile' });
    const d = decide([consent(true), mobile(T0 - 3 * HOUR), mobile(T0 - 2 * HOUR), mobile(T0 - HOUR)], [interest('electronics')]);
    expect(d).toMatchObject({ outcome: 'sent', channel: 'push' });
    // books only go out on the web; the web is where this interest was seen anyway
    expect(decide([consent(true)], [interest('books')])).toMatchObject({ outcome: 'sent', channel: 'web', offer: { id: 'books-3-for-2' } });
  });

  it('records the decision as event data: ids, outcome, reason, offer and channel', () => {
    const call = [interest('electronics')];
    const d = decide([], call)!;
    expect(decisionData('dec-1', triggerOf(call), d)).toEqual({
      decisionId: 'dec-1',
      triggerEventId: call[0]!.eventId,
      trigger: 'InterestExpressed',
      outcome: 'suppressed',
      reason: 'NO_CONSENT',
      offerId: 'electronics-upgrade',
      offerTitle: 'Headphones 15% off',
      channel: 'email',
      purpose: 'marketing',
      score: expect.any(Number),
    });
  });
});

describe('engagement triggers', () => {
  it('makes one trigger per call and stream, from interests, views, places and orders, never from decisions', () => {
    const m = { messageId: 'm-9' };
    const calls = [
      { ...ev({ type: 'ProductInteracted', v: 1, data: { action: 'viewed', product: { category: 'Electronics' } } }, T0), ...m },
      { ...place('Cape Town', 'ZA'), ...m },
      ev({ type: 'PageViewed', v: 1, data: { path: '/books/new' } }, T0),
      ev({ type: 'OrderPlaced', v: 1, data: { revenueMinor: 100, currency: 'USD', products: [{ category: 'toys' }, { category: 'Toys' }] } }, T0),
      decided({}, T0),
      consent(true),
    ];
    const triggers = triggersOf(calls);
    expect(triggers.map((t) => [t.type, t.interests, t.place?.city])).toEqual([
      ['ProductInteracted', ['electronics'], 'Cape Town'],
      ['PageViewed', ['books'], undefined],
      ['OrderPlaced', ['toys'], undefined],
    ]);
    expect(triggers[0]!.callId).toBe('m-9');
  });

  it('leaves out the events a restore copied back: they were answered when they first arrived', () => {
    const restored = ev({ type: 'CustomerRestored', v: 1, data: { mergeId: 'm', fromId: 'c-2', adoptedEventIds: [] } }, T0);
    expect(triggersOf([restored, interest('electronics')])).toEqual([]);
  });
});
