import { createCore, type Core } from '../../src/application/core.js';
import type { EngagementConfig } from '../../src/domain/engagement/engagement.policy.js';
import { parseCatalogue, type Offer } from '../../src/domain/engagement/offer.js';
import type { Notifier } from '../../src/application/ports/notifier.port.js';
import type { Outbox } from '../../src/application/ports/outbox.port.js';
import type { ViewDoc } from '../../src/application/ports/read-model.port.js';
import { MemoryNotifier } from '../../src/adapters/memory/memory.notifier.js';
import { MemoryOutbox } from '../../src/adapters/memory/memory.outbox.js';
import { makeHarness, type Harness, type StoreKind } from './harness.js';
import { readAllEvents } from './paging.js';

// The harness (memory or SQLite stores) with engagement switched on: a small catalogue, a notifier
// and an in-memory outbox tests can look into (or their own), and helpers to read decisions back
// from the log and views.

export const TEST_OFFERS: readonly Offer[] = parseCatalogue({
  offers: [
    { id: 'electronics-1', title: 'Headphones 15% off', interests: ['electronics'], channels: ['email', 'push'], priority: 60 },
    { id: 'electronics-2', title: 'Cables 2 for 1', interests: ['electronics'], channels: ['email', 'push'], priority: 50 },
    { id: 'electronics-3', title: 'Chargers 10% off', interests: ['electronics'], channels: ['email', 'push'], priority: 40 },
    { id: 'electronics-4', title: 'Cases 20% off', interests: ['electronics'], channels: ['email', 'push'], priority: 30 },
    { id: 'electronics-5', title: 'Screens 5% off', interests: ['electronics'], channels: ['email', 'push'], priority: 20 },
    {
      id: 'cpt-collect',
      title: 'Cape Town same-day collection',
      interests: ['electronics'],
      locations: ['Cape Town'],
      channels: ['email', 'push'],
      priority: 40,
    },
    { id: 'books-3-for-2', title: '3 for 2 on books', interests: ['books'], channels: ['email', 'web'], priority: 50 },
  ],
});

export type EngagementHarness = Harness & { readonly core: Core; readonly notifier: MemoryNotifier; readonly outbox: MemoryOutbox };

export const makeEngagementHarness = (
  options: {
    offers?: readonly Offer[];
    policy?: Partial<EngagementConfig>;
    notifier?: Notifier;
    outbox?: Outbox;
    inlineProjection?: boolean;
    /** default true, as the server wires it (CoreOptions.engagementInCommit) */
    engagementInCommit?: boolean;
    store?: StoreKind;
  } = {},
): EngagementHarness => {
  const h = makeHarness({}, { store: options.store });
  const notifier = new MemoryNotifier();
  const outbox = new MemoryOutbox();
  const sources: Record<string, typeof h.web> = { web: h.web, crm: h.crm };
  const core = createCore(h.ports, {
    inlineProjection: options.inlineProjection ?? true,
    engagementInCommit: options.engagementInCommit ?? true,
    sourceOf: (_t, name) => sources[name] ?? { name, priority: 0, channel: 'other' },
    engagement: { offers: options.offers ?? TEST_OFFERS, notifier: options.notifier ?? notifier, outbox: options.outbox ?? outbox, policy: options.policy },
  });
  return { ...h, core, notifier, outbox };
};

/** Every EngagementDecided in a tenant's log, in commit order. */
export const decisionEvents = async (h: Harness, tenant: string) => {
  const out: Record<string, unknown>[] = [];
  for (const e of await readAllEvents(h.ports.store, tenant, 1_000))
    if (e.type === 'EngagementDecided')
      out.push({ streamId: e.streamId, eventId: e.eventId, observedAt: e.observedAt, ...(e.data as Record<string, unknown>) });
  return out;
};

/** The survivor's view doc for whoever holds user_id `userId`. */
export const viewOfUser = async (h: Harness, tenant: string, userId: string): Promise<Extract<ViewDoc, { kind: 'view' }>> => {
  const found = await h.core.queries.findByIdentifier(tenant, 'user_id', userId);
  if (found.kind !== 'view') throw new Error(`expected a view for ${userId}`);
  const doc = await h.ports.readModels.get(tenant, found.customer.customerId);
  if (doc?.kind !== 'view') throw new Error(`no view doc for ${found.customer.customerId}`);
  return doc;
};

/** A Segment track call expressing `interest`, with optional consent answer and place. */
export const interestCall = (
  userId: string,
  interest: string,
  o: { marketing?: boolean; city?: string; messageId?: string; timestamp?: string; anonymousId?: string } = {},
) => ({
  type: 'track',
  ...(userId ? { userId } : {}),
  ...(o.anonymousId ? { anonymousId: o.anonymousId } : {}),
  event: 'Interest Expressed',
  properties: { interest },
  ...(o.messageId ? { messageId: o.messageId } : {}),
  ...(o.timestamp ? { timestamp: o.timestamp } : {}),
  context: {
    ...(o.marketing !== undefined ? { consent: { categoryPreferences: { Marketing: o.marketing } } } : {}),
    ...(o.city ? { location: { city: o.city } } : {}),
  },
});
