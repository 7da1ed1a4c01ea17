import { z } from 'zod';

// These schemas ARE the storage format: never change a shipped event; add a new version and an
// upcaster (see customer.upcasters.ts). `data` is stored readable, `pii` only ever encrypted under
// the customer's data key, so crypto-shredding the key erases every personal value at once.

const Json: z.ZodType<unknown> = z.unknown();
const IdRef = z.object({ type: z.string(), key: z.string() });
const MergedIdentifier = z.object({ type: z.string(), key: z.string(), observedAt: z.number(), origin: z.string() });
export type MergedIdentifier = z.infer<typeof MergedIdentifier>;

// IDENTIFIER_INVALID came later: a value that does not normalize (a mistyped email) is rejected as
// an identifier and the call kept. Adding a reason only widens the schema: every stored event reads.
export const REJECTION_REASONS = ['IDENTIFIER_BLOCKED', 'IDENTIFIER_LIMIT_EXCEEDED', 'CLUSTER_GUARD_EXCEEDED', 'DO_NOT_LINK', 'IDENTIFIER_INVALID'] as const;
export const RejectionReason = z.enum(REJECTION_REASONS);
export type RejectionReason = z.infer<typeof RejectionReason>;

export const CHANNELS = ['web', 'mobile', 'server', 'crm', 'support', 'email', 'store', 'other'] as const;
export const Channel = z.enum(CHANNELS);
export type Channel = z.infer<typeof Channel>;

const ev = <T extends string, D extends z.ZodType, P extends z.ZodType | undefined = undefined>(type: T, data: D, pii?: P) =>
  z.object({
    type: z.literal(type),
    v: z.literal(1),
    data,
    ...(pii ? { pii: pii.optional() } : {}),
  }) as unknown as z.ZodObject<{
    type: z.ZodLiteral<T>;
    v: z.ZodLiteral<1>;
    data: D;
    pii: P extends z.ZodType ? z.ZodOptional<P> : z.ZodOptional<z.ZodUndefined>;
  }>;

export const CustomerRegistered = ev('CustomerRegistered', z.object({ customerId: z.string(), firstObservedAt: z.number() }));
export const IdentifierLinked = ev(
  'IdentifierLinked',
  z.object({ type: z.string(), key: z.string(), observedAt: z.number() }),
  z.object({ value: z.string() }),
);
export const IdentifierRejected = ev(
  'IdentifierRejected',
  z.object({ type: z.string(), key: z.string(), reason: RejectionReason, detail: z.string(), rulesVersion: z.number() }),
  z.object({ value: z.string() }),
);
export const IdentifierUnlinked = ev('IdentifierUnlinked', z.object({ type: z.string(), key: z.string(), reason: z.string() }));
export const TraitsUpdated = ev(
  'TraitsUpdated',
  z.object({ names: z.array(z.string()), context: z.enum(['identify', 'group', 'track']) }),
  z.object({ traits: z.record(z.string(), Json) }),
);
export const ConsentGranted = ev('ConsentGranted', z.object({ purpose: z.string() }));
export const ConsentWithdrawn = ev('ConsentWithdrawn', z.object({ purpose: z.string() }));
export const InterestExpressed = ev('InterestExpressed', z.object({ interest: z.string() }));
export const LocationObserved = ev(
  'LocationObserved',
  z.object({ country: z.string().optional(), region: z.string().optional(), city: z.string().optional() }),
  z.object({ latitude: z.number().optional(), longitude: z.number().optional(), ip: z.string().optional() }),
);
export const PageViewed = ev(
  'PageViewed',
  z.object({ name: z.string().optional(), category: z.string().optional(), path: z.string().optional() }),
  z.object({
    url: z.string().optional(),
    referrer: z.string().optional(),
    title: z.string().optional(),
    ip: z.string().optional(),
    userAgent: z.string().optional(),
  }),
);
export const ScreenViewed = ev(
  'ScreenViewed',
  z.object({ name: z.string().optional(), category: z.string().optional() }),
  z.object({ ip: z.string().optional(), userAgent: z.string().optional() }),
);
const Product = z.object({
  productId: z.string().optional(),
  sku: z.string().optional(),
  name: z.string().optional(),
  category: z.string().optional(),
  priceMinor: z.number().int().optional(),
  quantity: z.number().int().optional(),
});
export const OrderPlaced = ev(
  'OrderPlaced',
  z.object({ orderId: z.string().optional(), revenueMinor: z.number().int(), currency: z.string(), products: z.array(Product) }),
);
export const ProductInteracted = ev(
  'ProductInteracted',
  z.object({ action: z.enum(['viewed', 'added', 'removed', 'clicked', 'wishlisted', 'shared', 'reviewed']), product: Product }),
);
export const EventTracked = ev('EventTracked', z.object({ event: z.string() }), z.object({ properties: z.record(z.string(), Json) }));
export const GroupJoined = ev('GroupJoined', z.object({ groupId: z.string() }));

export const MergeEvidence = z.object({
  rule: z.enum(['shared-identifier', 'manual']),
  triggeringEventId: z.string().optional(),
  /** The identifiers (types and claim keys) that tied the two customers together. */
  identifiers: z.array(IdRef),
  forced: z.boolean(),
  actor: z.string().optional(),
  reason: z.string().optional(),
  rulesVersion: z.number(),
});
export type MergeEvidence = z.infer<typeof MergeEvidence>;

export const CustomerMerged = ev(
  'CustomerMerged',
  z.object({
    mergeId: z.string(),
    absorbedId: z.string(),
    absorbedMembers: z.array(z.string()),
    absorbedFirstObservedAt: z.number(),
    /** the absorbed stream's version just before its CustomerMergedInto: its history up to the merge */
    absorbedVersion: z.number().int().nonnegative(),
    absorbedDoNotLink: z.array(z.string()),
    identifiers: z.array(MergedIdentifier),
    evidence: MergeEvidence,
  }),
);
export const CustomerMergedInto = ev('CustomerMergedInto', z.object({ mergeId: z.string(), survivorId: z.string() }));
export const CustomerUnmerged = ev(
  'CustomerUnmerged',
  z.object({
    mergeId: z.string(),
    absorbedId: z.string(),
    reassignedEventIds: z.array(z.string()),
    transferredKeys: z.array(z.string()),
    actor: z.string().optional(),
    reason: z.string().optional(),
  }),
);
export const CustomerRestored = ev('CustomerRestored', z.object({ mergeId: z.string(), fromId: z.string(), adoptedEventIds: z.array(z.string()) }));

// GDPR. CustomerErased is the tombstone: it holds ids only, and after it the stream takes nothing
// more. A restriction of processing freezes the customer: still stored, not used for engagement.
export const CustomerErased = ev('CustomerErased', z.object({ erasureId: z.string(), requestedId: z.string() }));
const RestrictionData = z.object({ reason: z.string().optional(), actor: z.string() });
export const ProcessingRestricted = ev('ProcessingRestricted', RestrictionData);
export const ProcessingRestrictionLifted = ev('ProcessingRestrictionLifted', RestrictionData);

// Engagement (issue 6): one decision per triggering call, sent or suppressed with the reason. Ids,
// offer and channel only: readable, and nothing personal in it.
export const ENGAGEMENT_REASONS = ['NO_CONSENT', 'FREQUENCY_CAP', 'RECENTLY_SENT', 'RESTRICTED'] as const;
export const EngagementReason = z.enum(ENGAGEMENT_REASONS);
export type EngagementReason = z.infer<typeof EngagementReason>;
export const EngagementDecided = ev(
  'EngagementDecided',
  z.object({
    decisionId: z.string(),
    /** the first triggering event of the call the decision answers */
    triggerEventId: z.string(),
    trigger: z.string(),
    outcome: z.enum(['sent', 'suppressed']),
    reason: EngagementReason.optional(),
    offerId: z.string().optional(),
    offerTitle: z.string().optional(),
    channel: z.string().optional(),
    purpose: z.string().optional(),
    score: z.number().optional(),
  }),
);
export type EngagementDecisionData = z.infer<typeof EngagementDecided>['data'];

export const CustomerEvent = z.discriminatedUnion('type', [
  CustomerRegistered,
  IdentifierLinked,
  IdentifierRejected,
  IdentifierUnlinked,
  TraitsUpdated,
  ConsentGranted,
  ConsentWithdrawn,
  InterestExpressed,
  LocationObserved,
  PageViewed,
  ScreenViewed,
  OrderPlaced,
  ProductInteracted,
  EventTracked,
  GroupJoined,
  CustomerMerged,
  CustomerMergedInto,
  CustomerUnmerged,
  CustomerRestored,
  CustomerErased,
  ProcessingRestricted,
  ProcessingRestrictionLifted,
  EngagementDecided,
]);
export type CustomerEvent = z.infer<typeof CustomerEvent>;
export type CustomerEventType = CustomerEvent['type'];
export type EventOf<T extends CustomerEventType> = Extract<CustomerEvent, { type: T }>;

/** Where an event came from and when: the envelope every stored event carries. */
export type EventMeta = {
  readonly eventId: string;
  readonly streamId: string;
  readonly version: number;
  readonly observedAt: number;
  readonly source: string;
  readonly sourcePriority: number;
  readonly channel: Channel;
  readonly messageId?: string | undefined;
  /** Claim keys of every identifier the originating call carried; used to reassign events on unmerge. */
  readonly identifierKeys?: readonly string[] | undefined;
};

/** A decoded event: `pii` is absent when the customer's key was destroyed (erased). */
export type RecordedEvent = EventMeta & { readonly event: CustomerEvent };
