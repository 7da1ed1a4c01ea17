import { z } from 'zod';
import { isCalendarDateTime } from '../../domain/shared/bounds.js';

// The Segment Spec (also spoken by RudderStack) as zod schemas. Objects are loose: unknown fields
// are kept, never rejected, because clients add their own.
//
// These schemas are the spec. segment.fast-parse.ts answers for plainly valid calls ahead of them
// (parseSegmentCall): a change here needs the same change there, and its property test
// (test/unit/application/segment-fast-parse.test.ts) fails until the two agree.

/** the call types, in the order errors list them */
const CALL_TYPES = ['identify', 'track', 'page', 'screen', 'alias', 'group'] as const;

/** what an error message is made from: the issue zod raised and the value it refused */
type RawIssue = { readonly code?: string; readonly input?: unknown };

/**
 * The error of a field every call of its type must have, worded alike for every type (as the
 * refinement that asks for userId or anonymousId is): absent or null, `<name> is required`;
 * otherwise it must be `what`.
 */
const required = (name: string | undefined, what: string) => ({
  error: (issue: RawIssue) => (name !== undefined && (issue.input === undefined || issue.input === null) ? `${name} is required` : `must be ${what}`),
});

/**
 * zod runs a length check on anything that has a length, even once the type was refused: `event: []`
 * was told both that it must be a string and that it must not be empty, a `batch` of `""` that it
 * must be an array and hold a call. These run a string's (an array's) length checks only on a
 * string (an array), so a field gets one issue. As cheap as zod's own test, which they replace;
 * every string's checks here share one test (the ids' too, where the value is a string by then),
 * so the call that runs them keeps seeing the same function, as it did before (measured: a mix
 * of tests there cost about 1-2% of validating a call).
 */
const isString = (payload: { readonly value: unknown }): boolean => typeof payload.value === 'string';
const isArray = (payload: { readonly value: unknown }): boolean => Array.isArray(payload.value);
const lengthsOnlyOn = <T extends z.ZodType>(is: (payload: { readonly value: unknown }) => boolean, schema: T): T => {
  for (const check of schema._zod.def.checks ?? []) check._zod.def.when = is;
  return schema;
};
const text = <T extends z.ZodString>(schema: T): T => lengthsOnlyOn(isString, schema);

// Built on first parse, not at import (a Lambda's cold start builds no schema it does not use).
const build = () => {
  // a number is taken as its decimal string, only when that is exactly the number sent: JSON
  // numbers past 2^53 (or with a fraction) arrive rounded, and two users must never become one
  const idOf = (name?: string) =>
    z
      .union([z.string(), z.number()], required(name, 'a string or a whole number'))
      .refine((v) => typeof v === 'string' || Number.isSafeInteger(v), {
        message: `a number here must be a whole number no larger than ${Number.MAX_SAFE_INTEGER} (larger ones lose digits in JSON): send it as a string`,
      })
      .transform(String)
      .pipe(text(z.string().min(1, 'must not be empty').max(512)));
  // an optional id: a null where null is not taken is of the wrong kind, not missing
  const Id = idOf();
  const IsoTime = z.string().refine(isCalendarDateTime, 'must be an ISO 8601 date-time on a day that exists');
  const Dict = z.record(z.string(), z.unknown());

  const SegmentContext = z.looseObject({
    ip: text(z.string().max(64)).optional(),
    userAgent: text(z.string().max(2_000)).optional(),
    channel: z.string().optional(),
    library: z.looseObject({ name: z.string().optional(), version: z.string().optional() }).optional(),
    device: z.looseObject({ id: Id.optional(), advertisingId: z.string().optional(), type: z.string().optional() }).optional(),
    location: z
      .looseObject({
        city: text(z.string().max(200)).optional(),
        country: text(z.string().max(200)).optional(),
        region: text(z.string().max(200)).optional(),
        latitude: z.number().min(-90).max(90).optional(),
        longitude: z.number().min(-180).max(180).optional(),
      })
      .optional(),
    consent: z.looseObject({ categoryPreferences: z.record(z.string(), z.boolean()).optional() }).optional(),
    externalIds: lengthsOnlyOn(
      isArray,
      z
        .array(
          z.looseObject({
            id: idOf('id'),
            type: text(z.string(required('type', 'a string')).min(1, 'must not be empty').max(64, 'at most 64 characters')),
            collection: z.string().optional(),
            encoding: z.string().optional(),
          }),
        )
        .max(50),
    ).optional(),
    traits: Dict.optional(),
    page: z.looseObject({ path: z.string().optional(), url: z.string().optional(), referrer: z.string().optional(), title: z.string().optional() }).optional(),
  });

  const common = {
    messageId: text(z.string().min(1).max(256)).optional(),
    userId: Id.nullish(),
    anonymousId: Id.nullish(),
    timestamp: IsoTime.optional(),
    originalTimestamp: IsoTime.optional(),
    sentAt: IsoTime.optional(),
    receivedAt: IsoTime.optional(),
    channel: z.string().optional(),
    context: SegmentContext.optional(),
    integrations: Dict.optional(),
    writeKey: z.string().optional(),
  };

  const Identify = z.looseObject({ type: z.literal('identify'), ...common, traits: Dict.optional() });
  const Track = z.looseObject({
    type: z.literal('track'),
    ...common,
    event: text(z.string(required('event', 'a string')).min(1, 'must not be empty').max(200, 'at most 200 characters')),
    properties: Dict.optional(),
  });
  const Page = z.looseObject({ type: z.literal('page'), ...common, name: z.string().optional(), category: z.string().optional(), properties: Dict.optional() });
  const Screen = z.looseObject({
    type: z.literal('screen'),
    ...common,
    name: z.string().optional(),
    category: z.string().optional(),
    properties: Dict.optional(),
  });
  const Alias = z.looseObject({ type: z.literal('alias'), ...common, userId: idOf('userId'), previousId: idOf('previousId') });
  const Group = z.looseObject({ type: z.literal('group'), ...common, groupId: idOf('groupId'), traits: Dict.optional() });

  const types = CALL_TYPES.join(', ');
  const SegmentCall = z
    .discriminatedUnion('type', [Identify, Track, Page, Screen, Alias, Group], {
      error: (issue: RawIssue) => {
        if (issue.code === 'invalid_type') return 'must be a JSON object (a Segment call)';
        const type = (issue.input as { type?: unknown } | undefined)?.type;
        return type === undefined || type === null ? `type is required: one of ${types}` : `must be one of ${types}`;
      },
    })
    .refine((c) => c.userId != null || c.anonymousId != null, {
      message: 'either userId or anonymousId is required',
      path: ['userId'],
      // checked even when another field failed (zod skips a refinement then), so one answer names
      // every missing field: `{}` on /v1/track is told of its event and of its ids at once. Not
      // for a call of no known type (no schema applies, its type is what is wrong), and an alias,
      // whose userId is required, is told once.
      when: (payload) =>
        typeof payload.value === 'object' &&
        payload.value !== null &&
        !Array.isArray(payload.value) &&
        !payload.issues.some((i) => i.path?.length === 1 && (i.path[0] === 'userId' || i.path[0] === 'type')),
    });

  /** POST /v1/batch: the body itself must be readable; each call in it is validated on its own. */
  const SegmentBatch = z.looseObject({
    batch: lengthsOnlyOn(isArray, z.array(z.unknown(), required('batch', 'an array of calls')).min(1, 'batch must hold at least one call')),
    context: Dict.optional(),
    integrations: Dict.optional(),
    writeKey: z.string().optional(),
    sentAt: IsoTime.optional(),
  });
  return { SegmentContext, SegmentCall, SegmentBatch };
};
let built: ReturnType<typeof build> | undefined;
const schemas = (): ReturnType<typeof build> => (built ??= build());

export const SegmentContext = z.lazy(() => schemas().SegmentContext);
export const SegmentCall = z.lazy(() => schemas().SegmentCall);
export type SegmentCall = z.infer<ReturnType<typeof build>['SegmentCall']>;
export type SegmentCallType = SegmentCall['type'];

export const SEGMENT_CALL_TYPES: readonly SegmentCallType[] = CALL_TYPES;

export const SegmentBatch = z.lazy(() => schemas().SegmentBatch);

export type FieldIssue = { readonly path: string; readonly message: string };

export const formatPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');

export const zodIssues = (error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldIssue[] =>
  error.issues.map((i) => ({ path: formatPath([...prefix, ...i.path]) || '(root)', message: i.message }));
