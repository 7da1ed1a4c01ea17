import { z } from '@hono/zod-openapi';
import { refuseUnknownFields } from '../../domain/shared/names.js';

// Request and response shapes as the OpenAPI document shows them. Requests are validated against
// them; responses are documented (the use cases' own types are the source of truth). Response and
// documentation-only schemas are built on first use (`lazy`): only generating the document reads
// them, which the Lambda api function never does (its document is generated at build time).

/** A value built on its first call, then kept. */
export const lazy = <T>(build: () => T): (() => T) => {
  let built: T | undefined;
  return () => (built ??= build());
};

/** `{ schema }` whose schema is built when the document generator first reads it. */
export const schemaOf = <T extends z.ZodType>(schema: () => T): { readonly schema: T } => {
  const get = lazy(schema);
  return {
    get schema() {
      return get();
    },
  };
};

/** A JSON request body, for the document only (registerPath): its schema is built when read. */
export const jsonBody = <T extends z.ZodType>(schema: () => T) => ({ content: { 'application/json': schemaOf(schema) } });

/**
 * The JSON body of an admin or API route: a field it does not take is refused by name (400, with
 * the known field it most likely misspells), never dropped: a misspelled `operationID` would
 * otherwise make a retry a second write. The Segment ingest bodies stay loose, as Segment's are.
 */
export const strictBody = <S extends z.ZodRawShape>(shape: S) => z.preprocess(refuseUnknownFields(Object.keys(shape)), z.strictObject(shape));

/** A JSON body a route may be sent without (no body, or an empty one, is taken as none). */
export const optionalBody = <T extends z.ZodType>(schema: T) => ({ required: false, content: { 'application/json': { schema } } });

/**
 * The body of an admin route that takes no fields (rebuild, replay): none, or `{}`; a field sent
 * is refused by name as on every other admin route, never ignored (an option the route does not
 * have must not look taken).
 */
export const NoFieldsRequest = strictBody({}).openapi('NoFieldsRequest');

export const ErrorSchema = lazy(() =>
  z
    .object({
      error: z.looseObject({
        code: z.string().openapi({ example: 'VALIDATION_FAILED' }),
        message: z.string(),
        issues: z.array(z.object({ path: z.string(), message: z.string() })),
        quarantineId: z.string().optional().openapi({ description: 'set when the rejected payload was kept in the quarantine' }),
        requestId: z.string().optional().openapi({ description: 'on 500 and 503: the id of the request (its X-Request-Id), to find it in the logs' }),
      }),
    })
    .openapi('Error'),
);

const json = <T extends z.ZodType>(schema: () => T, description: string) => ({ description, content: { 'application/json': schemaOf(schema) } });

/** The error statuses a route documents, each answered with the Error body. */
export type DocumentedError = 400 | 401 | 403 | 404 | 409 | 410 | 413 | 415 | 422 | 429 | 500 | 503;

const ERROR_REASONS: Readonly<Record<DocumentedError, string>> = {
  400: 'invalid request (field paths in issues)',
  401: 'missing or invalid credential (WWW-Authenticate says which)',
  403: 'the credential lacks the scope this route needs',
  404: "no such customer for this credential's tenant",
  409: "conflicts with the customers' current state or identity rules, or lost a race with another writer (CONCURRENCY_CONFLICT: send it again)",
  410: 'the customer was erased (CUSTOMER_ERASED): nothing is held about it any more',
  413: 'body larger than 64 KB (counted after its Content-Encoding is decoded)',
  415: 'body is not application/json, or its Content-Encoding is not gzip, deflate or identity',
  422: 'well formed but refused',
  429: 'rate limited (the credential, or the address of requests without a valid one); Retry-After says when to retry (seconds)',
  500: 'an unexpected failure on our side (INTERNAL_ERROR); requestId names the request in the logs',
  503: "the event store cannot be reached right now (STORE_UNAVAILABLE; Retry-After says when to retry, in seconds), or a key the request needs is wrapped by a master key the server is not configured with (MASTER_KEY_UNAVAILABLE: the operator must fix the server's master keys): nothing is wrong with the request",
};

const HEADERS: Partial<Record<DocumentedError, Record<string, { description: string; schema: { type: 'string' } }>>> = {
  401: { 'WWW-Authenticate': { description: 'the credentials this route takes', schema: { type: 'string' } } },
  429: { 'Retry-After': { description: 'seconds', schema: { type: 'string' } } },
  503: { 'Retry-After': { description: 'seconds', schema: { type: 'string' } } },
};

/**
 * The error answers of a route that needs a credential: 401, 403, 429 and 500 always, the others
 * as listed, each with its usual reason or the one given (`[404, 'no such entry']`). List only what
 * the route answers: test/e2e/http.openapi-statuses.test.ts drives every route into every refusal
 * and fails on a status missing here or listed here but never answered.
 */
export const errors = (...listed: (DocumentedError | readonly [DocumentedError, string])[]) => errorsOf([401, 403, 429, 500, ...listed]);

/** The error answers of a route that reads no store and needs a credential (/metrics when it asks for one). */
export const credentialErrors = () => errorsOf([401, 403, 429]);

const errorsOf = (listed: readonly (DocumentedError | readonly [DocumentedError, string])[]) => {
  const reasons = new Map<DocumentedError, string>();
  for (const item of listed) {
    const [status, why] = typeof item === 'number' ? [item, ERROR_REASONS[item]] : item;
    reasons.set(status, why);
  }
  return Object.fromEntries(
    [...reasons].sort(([a], [b]) => a - b).map(([s, why]) => [s, HEADERS[s] ? { ...json(ErrorSchema, why), headers: HEADERS[s] } : json(ErrorSchema, why)]),
  ) as Record<number, ReturnType<typeof json<ReturnType<typeof ErrorSchema>>>>;
};

/** The 200 answer; `schema` is built when the document is generated. */
export const ok = <T extends z.ZodType>(schema: () => T, description = 'OK') => ({ 200: json(schema, description) });

export const CustomerId = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'must be a customer id (letters, digits, _ . : -, at most 128)')
  .openapi({ param: { name: 'id', in: 'path' }, example: '01890a5d-ac96-774b-bcce-b302099a8057' });
export const IdParams = z.object({ id: CustomerId });

export const Redirect = {
  307: {
    description:
      'the id was merged into another customer: Location points at the survivor (same sub-path and query); the JSON body says so: { status: "merged", customerId (the id asked for), survivorId, location, message }',
    headers: { Location: { schema: { type: 'string' as const } } },
  },
};

export const SegmentCallBody = lazy(() =>
  z
    .looseObject({
      userId: z.union([z.string(), z.number()]).optional(),
      anonymousId: z.union([z.string(), z.number()]).optional(),
      messageId: z.string().optional(),
      timestamp: z.string().optional(),
      context: z.record(z.string(), z.unknown()).optional(),
      traits: z.record(z.string(), z.unknown()).optional(),
      event: z.string().optional(),
      properties: z.record(z.string(), z.unknown()).optional(),
      writeKey: z.string().optional(),
    })
    .openapi('SegmentCall', { description: 'A Segment Spec call (https://segment.com/docs/connections/spec/); its type comes from the path. At most 32 KB.' }),
);

export const SegmentBatchBody = lazy(() =>
  z
    .looseObject({
      batch: z.array(z.looseObject({ type: z.enum(['identify', 'track', 'page', 'screen', 'alias', 'group']) })),
      context: z.record(z.string(), z.unknown()).optional(),
      writeKey: z.string().optional(),
      sentAt: z.string().optional(),
    })
    .openapi('SegmentBatch', { description: 'Segment batch: at most 500 KB, each call at most 32 KB; each call is its own unit' }),
);

/** at most this many characters of a refused call's message in a batch answer (the quarantine keeps it whole) */
export const MESSAGE_PER_CALL = 300;

export const BatchResult = lazy(() =>
  z
    .object({
      success: z.literal(true),
      invalid: z.array(
        z.object({
          index: z.number().int(),
          code: z.string(),
          message: z.string().openapi({ description: `why, at most ${MESSAGE_PER_CALL} characters; the quarantine entry keeps it whole` }),
          issues: z.array(z.object({ path: z.string(), message: z.string() })).openapi({ description: 'the first 3; the quarantine entry keeps them all' }),
        }),
      ),
      quarantineId: z.string().optional().openapi({
        description:
          'the ONE entry holding every refused call of the request (invalid, no usable identifier, a reused messageId, ...), with their indexes and reasons',
      }),
    })
    .openapi('BatchResult'),
);

export const Success = lazy(() =>
  z
    .object({
      success: z.literal(true),
      customerId: z.string().optional().openapi({ description: 'the customer the call was attributed to (processed now, not queued or a duplicate)' }),
      viewVersion: z
        .number()
        .int()
        .optional()
        .openapi({ description: "the customer's version after the call: GET /v1/customers/{id}?minVersion= waits for it" }),
      queued: z.literal(true).optional().openapi({ description: 'async ingest: validated and queued, decided later' }),
    })
    .openapi('Success'),
);

export const Customer360 = lazy(() =>
  z
    .looseObject({
      customerId: z.string(),
      version: z.number().int().openapi({ description: "the view's version; ask for at least this with ?minVersion=" }),
      aliases: z.array(z.string()),
      identifiers: z.array(z.looseObject({ type: z.string(), value: z.string().nullable() })),
      traits: z.record(z.string(), z.looseObject({ value: z.unknown(), observedAt: z.string().optional(), source: z.string() })).openapi({
        description:
          'the latest value of each trait, with its source and time. A group call\'s traits are kept under their group, one trait per group: group["bank-1"] (the group id as a JSON string), whose value is the traits of that group\'s latest call; group calls stored before that named them group.<name>',
      }),
      traitsNotHeld: z.array(z.string()).openapi({
        description:
          "the email and phone traits whose value is not one of this customer's identifiers: refused when linked (another customer's after an unmerge, over a limit, blocked, invalid; explain's rejections say which) or unlinked since. Do not contact the customer through them without checking",
      }),
      groups: z.array(z.string()).openapi({ description: 'the ids of the groups the customer joined' }),
      consents: z.record(z.string(), z.looseObject({ granted: z.boolean(), status: z.string() })),
      restriction: z
        .object({
          restricted: z.boolean(),
          decidedAt: z.string().optional().openapi({ description: 'when the latest decision (restrict or lift) was made; absent if none ever was' }),
        })
        .openapi({ description: 'restriction of processing (GDPR art. 18): the data is kept and keeps arriving, but is not used for engagement' }),
      orders: z.looseObject({
        count: z.number().openapi({ description: 'every order, in any currency' }),
        revenue: z.record(z.string(), z.number()).openapi({ description: 'lifetime revenue per ISO 4217 currency, in major units' }),
        averageOrderValue: z
          .record(z.string(), z.number())
          .openapi({ description: "average order value per currency (that currency's revenue over its orders), in major units; none is converted" }),
      }),
      scores: z.looseObject({
        clv: z.number().openapi({ description: 'lifetime revenue in scores.currency (major units)' }),
        currency: z.string().openapi({
          description:
            'the currency clv and the RFM monetary score count (C360_SCORE_CURRENCY): orders in another currency are left out of them, never converted',
        }),
        ordersCounted: z.number().int().openapi({ description: 'the orders in scores.currency, those clv and the monetary score count' }),
        currenciesNotCounted: z
          .array(z.string())
          .openapi({ description: 'the currencies of the orders clv and the monetary score leave out (recency and frequency count every order)' }),
      }),
      timeline: z.array(z.looseObject({ eventId: z.string(), type: z.string(), observedAt: z.string().optional(), title: z.string() })),
    })
    .openapi('Customer360'),
);

export const TimelinePage = lazy(() =>
  z
    .object({
      items: z.array(z.looseObject({ eventId: z.string(), type: z.string(), observedAt: z.string().optional(), channel: z.string(), title: z.string() })),
      next: z.string().optional().openapi({ description: 'pass as ?cursor= for the next page; absent on the last page' }),
    })
    .openapi('TimelinePage'),
);

export const Limit = (max: number, fallback: number) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(max)
    .default(fallback)
    .openapi({ description: `page size, 1..${max} (default ${fallback})` });

// GDPR: erasure receipts, access exports, consents, restriction, the audit log and the ledger.

export const ReasonCode = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be a reason code (letters, digits, _ . : -, at most 64), never free text: it is kept where personal data is not')
  .openapi({ example: 'art17-request' });

export const ErasureReceipt = lazy(() =>
  z
    .object({
      erasureId: z.string(),
      tenant: z.string(),
      requestedId: z.string().openapi({ description: 'the id the request named' }),
      customers: z.array(z.string()).readonly().openapi({ description: 'the whole identity cluster: the survivor and every customer merged into it' }),
      erasedAt: z.string(),
      actor: z.string(),
      removed: z.object({
        streams: z.number(),
        dataKeys: z.number(),
        claims: z.number(),
        views: z.number(),
        snapshots: z.number(),
        quarantined: z.number().openapi({ description: "quarantine entries deleted whole (naming the cluster, keeping no one else's calls)" }),
        quarantineRewritten: z.number().optional().openapi({
          description:
            "quarantine entries kept for other people's calls (a batch's refused calls, a batch body refused whole), the cluster's calls taken out of them; absent when none",
        }),
        quarantineCallsRemoved: z.number().optional().openapi({ description: 'the calls taken out of those entries; absent when none' }),
      }),
      lakeCleanAt: z.string().optional().openapi({
        description:
          'when no analytics lake file held a row of these customers any more (on AWS added by the lake function once its run has purged them); absent when no lake is written or not yet clean',
      }),
      lakeCleanBy: z.string().optional().openapi({
        description:
          "where the lake is written by a schedule elsewhere (C360_LAKE_SCHEDULE_MINUTES): the end of the lake function's first run after the erasure, by which the rows are gone while the lake keeps up with the log",
      }),
      backupsCleanAt: z.string().optional().openapi({
        description:
          "when the last backup that could hold the deleted items expires (the erasure plus the deployment's backup retention, C360_BACKUP_RETENTION_DAYS); absent without backups",
      }),
      quarantineUnsearched: z.number().optional().openapi({
        description:
          "quarantined payloads matched by their recorded keys only, not searched: their key is wrapped by a master key the server's keyring lacked; they stay until `c360 erasures reapply` runs with that key back, or they expire. Absent when none",
      }),
    })
    .openapi('ErasureReceipt', { description: 'ids, times and counts only: no personal data' }),
);

export const CustomerExport = lazy(() =>
  z
    .looseObject({
      format: z.string(),
      metadata: z.looseObject({
        requestedId: z.string(),
        customerId: z.string(),
        customers: z.array(z.string()).readonly(),
        exportedAt: z.string(),
        actors: z.string().openapi({
          description:
            'how the document names who acted: an action of the controller\'s staff (merge, unmerge, consent or restriction recorded by an operator, a rejected match) as "operator", never the credential or account; an automated decision by the system ("system:auto-merge"); the audit log keeps who',
        }),
        counts: z.record(z.string(), z.number()),
      }),
      customer360: z
        .unknown()
        .openapi({ description: 'the 360 view as GET /v1/customers/{id} answers it; null while an asynchronous projection has not caught up' }),
      identity: z.unknown().openapi({ description: 'identifiers with provenance, merges with their evidence, rejections (as GET /v1/customers/{id}/explain)' }),
      consents: z.object({
        current: z.record(z.string(), z.unknown()),
        history: z.array(z.looseObject({ purpose: z.string(), status: z.string(), at: z.string(), source: z.string() })),
      }),
      events: z.array(
        z.looseObject({
          eventId: z.string(),
          streamId: z.string(),
          type: z.string(),
          observedAt: z.string(),
          source: z
            .string()
            .openapi({ description: 'the system a call came from (web, crm, ...); "operator" for a staff action, "system:auto-merge" for an automated one' }),
          data: z.unknown(),
          pii: z.unknown().optional(),
        }),
      ),
      quarantine: z.object({ entries: z.array(z.unknown()), note: z.string() }),
      engagement: z.object({
        decisions: z.array(z.unknown()).openapi({
          description:
            "the cluster's latest 100 engagement decisions (sent or suppressed, with its reason), newest first, as the 360 view keeps them; every decision is an EngagementDecided event in events",
        }),
      }),
    })
    .openapi('CustomerExport', { description: "everything held about the customer's identity cluster, personal values decrypted" }),
);

export const ConsentRequest = strictBody({
  purpose: z.string().min(1).max(64).openapi({ example: 'marketing', description: "matched case-insensitively, as Segment's categoryPreferences" }),
  status: z.enum(['granted', 'withdrawn']),
  at: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({ description: 'when the person decided; default now; from 2000-01-01T00:00:00Z to at most 5 minutes ahead' }),
  source: z
    .string()
    .regex(/^[A-Za-z0-9][\w.:-]{0,63}$/, 'must name a system (letters, digits, _ . : -, at most 64); it is stored unencrypted')
    .optional()
    .openapi({
      example: 'preference-center',
      description: 'default operator:<credential id>, or operator where the id is not such a name (an email address: it is stored unencrypted)',
    }),
  operationId: z.string().min(1).max(128).optional().openapi({ description: 'retry with the same id to get the first answer back' }),
}).openapi('ConsentRequest');

export const ConsentResult = lazy(() =>
  z
    .object({
      customerId: z.string().openapi({ description: 'the survivor the consent was recorded on' }),
      requestedId: z.string(),
      purpose: z.string(),
      status: z.enum(['granted', 'withdrawn']),
      at: z.string().optional(),
      source: z.string(),
      eventId: z.string().optional(),
      duplicate: z.boolean(),
    })
    .openapi('ConsentResult'),
);

export const RestrictionRequest = strictBody({ reason: ReasonCode.optional() }).openapi('RestrictionRequest');

/** the optional body of an erasure: its reason, as the query parameter gives it */
export const ErasureRequest = strictBody({ reason: ReasonCode.optional() }).openapi('ErasureRequest');

export const RestrictionResult = lazy(() =>
  z
    .object({
      customerId: z.string(),
      restricted: z.boolean(),
      changed: z.boolean().openapi({ description: 'false when it already was so' }),
      version: z.number().int(),
    })
    .openapi('RestrictionResult'),
);

export const AuditEntry = lazy(() =>
  z
    .object({
      id: z.string(),
      at: z.string(),
      actor: z.string(),
      action: z.string(),
      customerId: z.string().optional(),
      outcome: z.enum(['ok', 'refused', 'failed']),
      code: z.string().optional(),
      detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    })
    .openapi('AuditEntry', { description: 'ids, codes and counts only: no personal data' }),
);

export const AuditPage = lazy(() => z.object({ items: z.array(AuditEntry()), next: z.string().optional() }).openapi('AuditPage'));
export const ErasurePage = lazy(() => z.object({ items: z.array(ErasureReceipt()), next: z.string().optional() }).openapi('ErasurePage'));
