import { z } from 'zod';

// These schemas ARE the storage format: never change a shipped event; add a new version and an
// upcaster (see customer.upcasters.ts). `data` is stored readable, `pii` only ever encrypted under
// the customer's data key, so crypto-shredding the key erases every personal value at once.

export const REJECTION_REASONS = ['IDENTIFIER_BLOCKED', 'IDENTIFIER_LIMIT_EXCEEDED', 'CLUSTER_GUARD_EXCEEDED', 'DO_NOT_LINK', 'IDENTIFIER_INVALID'] as const;
export const CHANNELS = ['web', 'mobile', 'server', 'crm', 'support', 'email', 'store', 'other'] as const;
export const ENGAGEMENT_REASONS = ['NO_CONSENT', 'FREQUENCY_CAP', 'RECENTLY_SENT', 'RESTRICTED'] as const;

// The schemas are built on first use, not when this module loads: a Lambda function imports this
// file for its types and constants, and building two hundred zod schemas it may never use was a
// measurable part of its cold start. Nothing on the write or read path parses events with them
// (the upcasters cast); parsing is for snapshots and tests.
const build = () => {
  const Json: z.ZodType<unknown> = z.unknown();
  const IdRef = z.object({ type: z.string(), key: z.string() });
  const MergedIdentifier = z.object({ type: z.string(), key: z.string(), observedAt: z.number(), origin: z.string() });

  // IDENTIFIER_INVALID came later: a value that does not normalize (a mistyped email) is rejected as
  // an identifier and the call kept. Adding a reason only widens the schema: every stored event reads.
  const RejectionReason = z.enum(REJECTION_REASONS);

  const Channel = z.enum(CHANNELS);

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

  const CustomerRegistered = ev('CustomerRegistered', z.object({ customerId: z.string(), firstObservedAt: z.number() }));
  const IdentifierLinked = ev('IdentifierLinked', z.object({ type: z.string(), key: z.string(), observedAt: z.number() }), z.object({ value: z.string() }));
  const IdentifierRejected = ev(
    'IdentifierRejected',
    z.object({ type: z.string(), key: z.string(), reason: RejectionReason, detail: z.string(), rulesVersion: z.number() }),
    z.object({ value: z.string() }),
  );
  const IdentifierUnlinked = ev('IdentifierUnlinked', z.object({ type: z.string(), key: z.string(), reason: z.string() }));
  const TraitsUpdated = ev(
    'TraitsUpdated',
    z.object({ names: z.array(z.string()), context: z.enum(['identify', 'group', 'track']) }),
    z.object({ traits: z.record(z.string(), Json) }),
  );
  // A decision an operator records for a customer (a consent, a restriction and its lift) names the
  // customer id it was requested through (came later: optional, an event stored without it reads as
  // before). Recorded on the cluster's survivor, it goes back with that person when the merge that
  // absorbed them is undone (unmerge.ts), as the calls carrying their identifiers do.
  const RequestedId = z.string().optional();
  const ConsentGranted = ev('ConsentGranted', z.object({ purpose: z.string(), requestedId: RequestedId }));
  const ConsentWithdrawn = ev('ConsentWithdrawn', z.object({ purpose: z.string(), requestedId: RequestedId }));
  const InterestExpressed = ev('InterestExpressed', z.object({ interest: z.string() }));
  const LocationObserved = ev(
    'LocationObserved',
    z.object({ country: z.string().optional(), region: z.string().optional(), city: z.string().optional() }),
    z.object({ latitude: z.number().optional(), longitude: z.number().optional(), ip: z.string().optional() }),
  );
  const PageViewed = ev(
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
  const ScreenViewed = ev(
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
  const OrderPlaced = ev(
    'OrderPlaced',
    z.object({
      orderId: z.string().optional(),
      /** in the currency's minor units: `minorDigits` decimals (ISO 4217: JPY 0, USD 2, BHD 3) */
      revenueMinor: z.number().int(),
      currency: z.string(),
      // came later: an order stored without it is in hundredths whatever the currency, and the
      // upcaster lifts it to the currency's digits on read (customer.upcasters.ts)
      minorDigits: z.number().int().min(0).optional(),
      products: z.array(Product),
    }),
  );
  const ProductInteracted = ev(
    'ProductInteracted',
    z.object({
      action: z.enum(['viewed', 'added', 'removed', 'clicked', 'wishlisted', 'shared', 'reviewed']),
      product: Product,
      // with a price: its currency and that currency's digits (came later: a price stored without
      // them is in hundredths)
      currency: z.string().optional(),
      minorDigits: z.number().int().min(0).optional(),
    }),
  );
  const EventTracked = ev('EventTracked', z.object({ event: z.string() }), z.object({ properties: z.record(z.string(), Json) }));
  const GroupJoined = ev('GroupJoined', z.object({ groupId: z.string() }));

  const MergeEvidence = z.object({
    rule: z.enum(['shared-identifier', 'manual']),
    triggeringEventId: z.string().optional(),
    /** The identifiers (types and claim keys) that tied the two customers together. */
    identifiers: z.array(IdRef),
    forced: z.boolean(),
    actor: z.string().optional(),
    /**
     * an operator's free text: personal data, so it is held in the event's `pii` (MergeReason).
     * Builds before that stored it here, readable; the upcaster moves it to `pii` on read.
     */
    reason: z.string().optional(),
    rulesVersion: z.number(),
  });
  // The reason an operator gave for a merge or an unmerge: free text, and so personal data ("Jane
  // phoned from ..."). Encrypted under the survivor's key with the event, shredded by its erasure.
  // Came later: an event stored without it reads as before.
  const OperatorReason = z.object({ reason: z.string().optional() });

  const CustomerMerged = ev(
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
    OperatorReason,
  );
  const CustomerMergedInto = ev('CustomerMergedInto', z.object({ mergeId: z.string(), survivorId: z.string() }));
  const CustomerUnmerged = ev(
    'CustomerUnmerged',
    z.object({
      mergeId: z.string(),
      absorbedId: z.string(),
      reassignedEventIds: z.array(z.string()),
      transferredKeys: z.array(z.string()),
      actor: z.string().optional(),
      /** stored here, readable, by the builds before `pii.reason`; the upcaster moves it there on read */
      reason: z.string().optional(),
      /**
       * the survivor's restriction of processing once the events given back are gone: that of the
       * last restriction decision it keeps, and the id that one was asked through. Set when a
       * restriction decision is among the events given back (came later: absent, nothing changes).
       */
      restriction: z.object({ restricted: z.boolean(), requestedId: z.string().optional() }).optional(),
    }),
    OperatorReason,
  );
  const CustomerRestored = ev('CustomerRestored', z.object({ mergeId: z.string(), fromId: z.string(), adoptedEventIds: z.array(z.string()) }));

  // GDPR. CustomerErased is the tombstone: it holds ids only, and after it the stream takes nothing
  // more. A restriction of processing freezes the customer: still stored, not used for engagement.
  const CustomerErased = ev('CustomerErased', z.object({ erasureId: z.string(), requestedId: z.string() }));
  const RestrictionData = z.object({ reason: z.string().optional(), actor: z.string(), requestedId: RequestedId });
  const ProcessingRestricted = ev('ProcessingRestricted', RestrictionData);
  const ProcessingRestrictionLifted = ev('ProcessingRestrictionLifted', RestrictionData);

  // Engagement (issue 6): one decision per triggering call, sent or suppressed with the reason. Ids,
  // offer and channel only: readable, and nothing personal in it.
  const EngagementReason = z.enum(ENGAGEMENT_REASONS);
  const EngagementDecided = ev(
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

  // Probabilistic matching (issue 19): a person decided a suggested pair is two people. Ids only;
  // the match book never suggests the pair again.
  const MatchRejected = ev('MatchRejected', z.object({ otherId: z.string(), actor: z.string(), modelVersion: z.string().optional() }));

  const CustomerEvent = z.discriminatedUnion('type', [
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
    MatchRejected,
  ]);
  return { MergedIdentifier, RejectionReason, Channel, MergeEvidence, EngagementReason, EngagementDecided, CustomerEvent };
};
let built: ReturnType<typeof build> | undefined;
/** Every event schema, built once, on first use. */
export const eventSchemas = (): ReturnType<typeof build> => (built ??= build());
type Schemas = ReturnType<typeof build>;

/** The schemas other schemas embed or callers parse with; each builds the set on its first parse. */
export const MergeEvidence = z.lazy(() => eventSchemas().MergeEvidence);
export const CustomerEvent = z.lazy(() => eventSchemas().CustomerEvent);

export type MergedIdentifier = z.infer<Schemas['MergedIdentifier']>;
export type RejectionReason = z.infer<Schemas['RejectionReason']>;
export type Channel = z.infer<Schemas['Channel']>;
export type MergeEvidence = z.infer<Schemas['MergeEvidence']>;
export type EngagementReason = z.infer<Schemas['EngagementReason']>;
export type EngagementDecisionData = z.infer<Schemas['EngagementDecided']>['data'];
export type CustomerEvent = z.infer<Schemas['CustomerEvent']>;
export type CustomerEventType = CustomerEvent['type'];
export type EventOf<T extends CustomerEventType> = Extract<CustomerEvent, { type: T }>;

/** Every event type the schemas define; the compiler refuses a list that misses one or names another. */
export const CUSTOMER_EVENT_TYPES = [
  'CustomerRegistered',
  'IdentifierLinked',
  'IdentifierRejected',
  'IdentifierUnlinked',
  'TraitsUpdated',
  'ConsentGranted',
  'ConsentWithdrawn',
  'InterestExpressed',
  'LocationObserved',
  'PageViewed',
  'ScreenViewed',
  'OrderPlaced',
  'ProductInteracted',
  'EventTracked',
  'GroupJoined',
  'CustomerMerged',
  'CustomerMergedInto',
  'CustomerUnmerged',
  'CustomerRestored',
  'CustomerErased',
  'ProcessingRestricted',
  'ProcessingRestrictionLifted',
  'EngagementDecided',
  'MatchRejected',
] as const satisfies readonly CustomerEventType[];
type Missing = Exclude<CustomerEventType, (typeof CUSTOMER_EVENT_TYPES)[number]>;
/** compiles only while the list above names every type */
export const EVERY_EVENT_TYPE_LISTED: [Missing] extends [never] ? true : Missing = true;

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
