import { z } from '@hono/zod-openapi';

// Request and response shapes as the OpenAPI document shows them. Requests are validated against
// them; responses are documented (the use cases' own types are the source of truth).

export const ErrorSchema = z
  .object({
    error: z.looseObject({
      code: z.string().openapi({ example: 'VALIDATION_FAILED' }),
      message: z.string(),
      issues: z.array(z.object({ path: z.string(), message: z.string() })),
      quarantineId: z.string().optional().openapi({ description: 'set when the rejected payload was kept in the quarantine' }),
    }),
  })
  .openapi('Error');

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

export const errors = (...statuses: (400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429)[]) => {
  const why: Record<number, string> = {
    400: 'invalid request (field paths in issues)',
    401: 'missing or invalid credential (WWW-Authenticate says which)',
    403: 'the credential lacks the scope',
    404: 'no such customer for this credential\'s tenant',
    409: 'conflicts with the customers\' current state or identity rules',
    413: 'body larger than 64 KB',
    415: 'body is not application/json',
    422: 'well formed but refused',
    429: 'rate limited; Retry-After says when to retry (seconds)',
  };
  return Object.fromEntries([...statuses, 401, 403, 429].map((s) => [s, json(ErrorSchema, why[s]!)])) as Record<number, ReturnType<typeof json<typeof ErrorSchema>>>;
};

export const ok = <T extends z.ZodType>(schema: T, description = 'OK') => ({ 200: json(schema, description) });

export const CustomerId = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'must be a customer id (letters, digits, _ . : -, at most 128)')
  .openapi({ param: { name: 'id', in: 'path' }, example: '01890a5d-ac96-774b-bcce-b302099a8057' });
export const IdParams = z.object({ id: CustomerId });

export const Redirect = {
  307: {
    description: 'the id was merged into another customer: Location points at the survivor (same sub-path and query)',
    headers: { Location: { schema: { type: 'string' as const } } },
  },
};

export const SegmentCallBody = z
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
  .openapi('SegmentCall', { description: 'A Segment Spec call (https://segment.com/docs/connections/spec/); its type comes from the path. At most 32 KB.' });

export const SegmentBatchBody = z
  .looseObject({
    batch: z.array(z.looseObject({ type: z.enum(['identify', 'track', 'page', 'screen', 'alias', 'group']) })),
    context: z.record(z.string(), z.unknown()).optional(),
    writeKey: z.string().optional(),
    sentAt: z.string().optional(),
  })
  .openapi('SegmentBatch', { description: 'Segment batch: at most 500 KB, each call at most 32 KB; each call is its own unit' });

export const BatchResult = z
  .object({
    success: z.literal(true),
    invalid: z.array(
      z.object({ index: z.number().int(), code: z.string(), message: z.string(), issues: z.array(z.object({ path: z.string(), message: z.string() })), quarantineId: z.string().optional() }),
    ),
  })
  .openapi('BatchResult');

export const Success = z.object({ success: z.literal(true) }).openapi('Success');

export const Customer360 = z
  .looseObject({
    customerId: z.string(),
    version: z.number().int().openapi({ description: 'the view\'s version; ask for at least this with ?minVersion=' }),
    aliases: z.array(z.string()),
    identifiers: z.array(z.looseObject({ type: z.string(), value: z.string().nullable() })),
    traits: z.record(z.string(), z.looseObject({ value: z.unknown(), observedAt: z.string().optional(), source: z.string() })),
    consents: z.record(z.string(), z.looseObject({ granted: z.boolean(), status: z.string() })),
    orders: z.looseObject({ count: z.number() }),
    scores: z.looseObject({ clv: z.number() }),
    timeline: z.array(z.looseObject({ eventId: z.string(), type: z.string(), observedAt: z.string().optional(), title: z.string() })),
  })
  .openapi('Customer360');

export const TimelinePage = z
  .object({
    items: z.array(z.looseObject({ eventId: z.string(), type: z.string(), observedAt: z.string().optional(), channel: z.string(), title: z.string() })),
    next: z.string().optional().openapi({ description: 'pass as ?cursor= for the next page; absent on the last page' }),
  })
  .openapi('TimelinePage');

export const Limit = (max: number, fallback: number) =>
  z.coerce.number().int().min(1).max(max).default(fallback).openapi({ description: `page size, 1..${max} (default ${fallback})` });
