import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Core } from '../../../application/core.js';
import type { PresentedDecision } from '../../../application/engagement/engagement.queries.js';
import { ENGAGEMENT_HISTORY_SIZE } from '../../../domain/engagement/engagement.history.js';
import { strictFields } from '../../../domain/shared/names.js';
import { zodIssues } from '../../../application/segment/segment.schema.js';
import type { AppEnv, Gate } from '../auth.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { receiveIngestBody } from '../ingest-body.js';
import { errorBody, HttpError, statusOf } from '../errors.js';
import type { HttpDeps } from '../http.deps.js';
import { mergedRedirect } from '../redirect.js';
import { errors, IdParams, jsonBody, lazy, Limit, ok, Redirect, schemaOf } from '../schemas.js';
import { CALL_LIMIT, ingestErrors } from './ingest.routes.js';

// Engagement: a customer's decisions (sent or suppressed, with the reason), and the interest
// capture route many teams start from. POST /v1/interests becomes a Segment track call through the
// same intake as /v1/track, so validation, the quarantine and idempotency all apply to it.

export type EngagementRouteDeps = { readonly core: Pick<Core, 'engagement'> };

const Decision = lazy(() =>
  z.looseObject({
    decisionId: z.string(),
    eventId: z.string(),
    decidedAt: z.string(),
    outcome: z.enum(['sent', 'suppressed']),
    reason: z.string().optional().openapi({ description: 'why nothing was sent: NO_CONSENT, FREQUENCY_CAP, RECENTLY_SENT or RESTRICTED' }),
    offerId: z.string().optional(),
    channel: z.string().optional(),
  }),
);
const EngagementPage = lazy(() =>
  z
    .object({
      customerId: z.string(),
      sent: z.number().int(),
      suppressed: z.number().int(),
      lastSentAt: z.string().optional(),
      olderDecisionsDropped: z
        .number()
        .int()
        .openapi({
          description: `decisions older than the latest ${ENGAGEMENT_HISTORY_SIZE} that the view no longer holds (counted in sent and suppressed; each is an EngagementDecided event among the events of GET /v1/customers/{id}/export): the pages hold the latest ${ENGAGEMENT_HISTORY_SIZE} only`,
        }),
      items: z.array(Decision()),
      next: z.string().optional().openapi({ description: 'pass as ?cursor= for the next page; absent on the last page' }),
    })
    .openapi('EngagementPage'),
);

// An interest and a place are stored readable (the 360 view, engagement offers and the lake read
// them without a key), so this route takes only what they are meant to be: an interest is a short
// category token, a location a place name (a city, region or country). What these shapes refuse
// (digits, @, :, a street address such as "221B Baker Street, London NW1 6XE", anything past 64 or
// 100 characters) is refused naming the field and kept only in the quarantine (encrypted, and
// erased with the customer it names). A shape cannot tell a category from a short phrase naming
// someone ("Gina Rossi pregnancy test" passes): the senders are the tenant's own systems, and the
// README says these two fields are stored readable.
/** letters or digits first, then letters, digits, spaces, & and -: "home & garden", "4K TVs", "Sci-Fi" */
export const INTEREST_TOKEN = /^[\p{L}\p{N}][\p{L}\p{M}\p{N} &-]*$/u;
export const INTEREST_MAX = 64;
/** a place name: letters, spaces and . , ' ’ ( ) -, no digit (a street number, a postcode): "St. John's", "Washington, D.C." */
export const PLACE_NAME = /^\p{L}[\p{L}\p{M} .,'’()-]*$/u;
export const PLACE_MAX = 100;

/** what a value is, for an error that refuses its kind */
const kindOf = (v: unknown): string => (Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);
/**
 * One issue per refused field, worded as a Segment call's are (segment.schema.ts): absent (or null
 * where null is not taken) is `<name> is required`, a value of another kind `must be <what>, not
 * <its kind>`. A text's checks run only on a string, and only until one fails (`first`): zod runs a
 * string's length checks on a list too (`[]` was "expected string" and "must not be empty"), and an
 * empty location failed both its length and its shape. zod's length checks carry their own `when`
 * (run on anything with a length, whatever failed before): `first` replaces it. zod's parameter
 * types leave `when` out for these checks, hence a helper rather than inline objects; it is a
 * field of every check's definition (`$ZodCheckDef.when`), and test/e2e/engagement.http.test.ts
 * fails if a zod upgrade stops honouring it. A pipe would do the same but drop the lengths and
 * patterns from the OpenAPI document.
 */
const kind = (name: string | undefined, what: string) => ({
  error: (issue: { readonly input?: unknown }) =>
    name !== undefined && (issue.input === undefined || issue.input === null) ? `${name} is required` : `must be ${what}, not ${kindOf(issue.input)}`,
});
const first = (message: string) => ({
  message,
  when: (payload: { readonly value: unknown; readonly issues: readonly unknown[] }) => typeof payload.value === 'string' && payload.issues.length === 0,
});

/** POST /v1/interests: built on the first capture (or when the document is generated). */
const InterestCapture = lazy(() =>
  // strict, as the admin and API routes' bodies are: a misspelt `locaton` is refused by name (with
  // the field it misspells), never dropped with the place it carried
  strictFields({
    // the user id of a Segment call, with the same rule for a number: exactly the number sent
    customerId: z
      .union([z.string(), z.number()], kind('customerId', 'a string or a whole number'))
      .refine((v) => typeof v === 'string' || Number.isSafeInteger(v), {
        message: `a number here must be a whole number no larger than ${Number.MAX_SAFE_INTEGER} (larger ones lose digits in JSON): send it as a string`,
        abort: true,
      })
      .transform(String)
      .pipe(z.string().trim().min(1, first('must not be empty')).max(512, first('at most 512 characters'))),
    interest: z
      .string(kind('interest', 'a string (a category)'))
      .trim()
      .min(1, first('must not be empty'))
      .max(INTEREST_MAX, first(`an interest is a category of at most ${INTEREST_MAX} characters`))
      .regex(INTEREST_TOKEN, first('an interest is a category (letters, digits, spaces, & and -), not free text'))
      .openapi({ description: `a category: letters, digits, spaces, & and -, at most ${INTEREST_MAX} characters` }),
    location: z
      .string(kind(undefined, 'a string (a place name)'))
      .trim()
      .min(1, first('must not be empty'))
      .max(PLACE_MAX, first(`a location is a place name of at most ${PLACE_MAX} characters`))
      .regex(PLACE_NAME, first("a location is a city, region or country name (letters, spaces and . , ' ( ) -), never an address: no digits"))
      .nullish()
      .openapi({
        description: `optional (absent or null: none): a city, region or country name: letters, spaces and . , ' ( ) -, no digits, at most ${PLACE_MAX} characters`,
      }),
    messageId: z
      .string(kind(undefined, 'a string'))
      .min(1, first('must not be empty'))
      .max(256, first('at most 256 characters'))
      .optional()
      .openapi({ description: 'send the same id again to retry without a second event' }),
    timestamp: z.string().optional(),
    writeKey: z.string().optional(),
  }),
);

type Position = { readonly t: string; readonly e: string };
const isPosition = (v: unknown): v is Position =>
  typeof v === 'object' && v !== null && typeof (v as Position).t === 'string' && typeof (v as Position).e === 'string';

/** Newest first, as the view keeps them; the cursor is the last decision of the page. */
const page = (items: readonly PresentedDecision[], limit: number, cursor: string | undefined) => {
  const after = cursor === undefined ? undefined : decodeCursor(cursor, isPosition);
  const rest = after ? items.filter((i) => i.decidedAt < after.t || (i.decidedAt === after.t && i.eventId < after.e)) : [...items];
  const kept = rest.slice(0, limit);
  const last = kept.at(-1);
  return rest.length > limit && last ? { items: kept, next: encodeCursor({ t: last.decidedAt, e: last.eventId }) } : { items: kept };
};

export const registerEngagementRoutes = (app: OpenAPIHono<AppEnv>, deps: HttpDeps & EngagementRouteDeps, gate: Gate): void => {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/customers/{id}/engagements',
      tags: ['engagement'],
      summary: "The customer's engagement decisions (its cluster's latest 100), newest first, a page at a time",
      description: `The 360 view keeps the cluster's latest ${ENGAGEMENT_HISTORY_SIZE} decisions: the pages end there (no next after them) while sent and suppressed count every decision, and olderDecisionsDropped says how many older ones are not listed (each decision is an EngagementDecided event among the export's events).`,
      security: [{ bearer: [] }],
      middleware: [gate.needs('read')] as const,
      request: { params: IdParams, query: z.object({ limit: Limit(100, 20), cursor: z.string().max(512).optional() }) },
      responses: { ...ok(EngagementPage), ...Redirect, ...errors(400, 404, 410) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { limit, cursor } = c.req.valid('query');
      const result = await deps.core.engagement.history.history(c.get('principal').tenant, id);
      if (result.kind === 'redirect') {
        const url = new URL(c.req.url);
        return mergedRedirect(c, `/v1/customers/${encodeURIComponent(result.survivorId)}/engagements${url.search}`, result.survivorId, id) as never;
      }
      const { decisions, ...summary } = result.engagement;
      return c.json({ customerId: result.customerId, ...summary, ...page(decisions, limit, cursor) }, 200);
    },
  );

  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/v1/interests',
    tags: ['engagement'],
    summary: 'Capture an interest (compatibility route): recorded as a Segment track call "Interest Expressed"',
    description: "customerId is the caller's own user id (a user_id identifier); location is a city, region or country name.",
    security: [{ writeKey: [] }, { bearer: [] }],
    request: { body: jsonBody(() => InterestCapture().openapi('InterestCapture')) },
    responses: {
      200: {
        description: 'recorded (or a repeat of a messageId already recorded)',
        content: { 'application/json': schemaOf(() => z.object({ message: z.literal('Success') })) },
      },
      ...ingestErrors('invalid body (issues names every invalid field), or one that cannot be read', CALL_LIMIT, true),
    },
  });
  app.post('/v1/interests', async (c: Context<AppEnv>) => {
    const { principal, body: received } = await receiveIngestBody(c, deps, gate, CALL_LIMIT, 'call');
    const { tenant } = principal;
    const hold = async (body: unknown, code: 'MALFORMED_JSON' | 'VALIDATION_FAILED', message: string, issues: { path: string; message: string }[]) => {
      const quarantineId = await deps.core.quarantine.hold(tenant, principal.source, body, { code, message, issues }, undefined, 'interest');
      return new HttpError(code, `${message}; the body was kept in the quarantine`, issues, {}, { quarantineId });
    };
    const body = InterestCapture().safeParse(received);
    if (!body.success) {
      const issues = zodIssues(body.error);
      throw await hold(received, 'VALIDATION_FAILED', `invalid interest: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
    }
    const b = body.data;
    const call = {
      type: 'track',
      userId: b.customerId,
      event: 'Interest Expressed',
      properties: { interest: b.interest },
      // without one, two identical captures would read as one retried call
      messageId: b.messageId ?? `interest-${crypto.randomUUID()}`,
      ...(b.timestamp !== undefined ? { timestamp: b.timestamp } : {}),
      ...(b.location != null ? { context: { location: { city: b.location } } } : {}),
    };
    const outcome = await deps.intake.one(tenant, deps.sourceOf(tenant, principal.source), call);
    if (outcome.status === 'quarantined' || outcome.status === 'rejected') {
      const extra = outcome.status === 'quarantined' ? { quarantineId: outcome.quarantineId } : {};
      return c.json(
        errorBody(outcome.error.code, outcome.error.message, outcome.error.issues, extra),
        outcome.status === 'quarantined' ? 400 : statusOf(outcome.error.code),
      );
    }
    return c.json({ message: 'Success' as const }, 200);
  });
};
