import type { OpenAPIHono } from '@hono/zod-openapi';
import { deeperThan, MAX_CALL_BYTES, MAX_JSON_DEPTH, nestingTooDeep } from '../../../application/ingest/call-bounds.js';
import type { AcceptOutcome } from '../../../application/ingest/intake.js';
import type { QuarantineReason } from '../../../application/ports/quarantine.port.js';
import { mergeBatchDefaults } from '../../../application/ingest/call-shape.js';
import { refusedBatchEntry, type RefusedCall } from '../../../application/ingest/refused-batch.js';
import { parseSegmentCall } from '../../../application/segment/segment.fast-parse.js';
import { SEGMENT_CALL_TYPES, SegmentBatch, zodIssues } from '../../../application/segment/segment.schema.js';
import type { AppEnv, Gate } from '../auth.js';
import { tooLarge } from '../body.js';
import { errorBody, HttpError, type HttpErrorCode, statusOf } from '../errors.js';
import type { HttpDeps } from '../http.deps.js';
import { receiveIngestBody } from '../ingest-body.js';
import { BatchResult, errors, jsonBody, MESSAGE_PER_CALL, schemaOf, SegmentBatchBody, SegmentCallBody, Success } from '../schemas.js';

// Segment's HTTP Tracking API, so existing client libraries work unchanged: same paths, same
// auth (write key as Basic user name or body writeKey), same limits, same {"success": true}.

/** Segment's limit of one call (the core holds every intake to it) */
export const CALL_LIMIT = MAX_CALL_BYTES;
export const BATCH_LIMIT = 500 * 1024;
/**
 * Calls per /v1/batch request. Segment bounds a batch by bytes only, but 500 KB of near-empty
 * calls is over 100,000 of them: the SDKs send 15 to 100 a batch (analytics-node flushes at 15,
 * rudder-sdk-node at 20), so 1,000 leaves them ample room and bounds one request's work.
 */
export const BATCH_MAX_CALLS = 1_000;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const bytes = (v: unknown): number => new TextEncoder().encode(JSON.stringify(v) ?? '').byteLength;

/** A refused call of a batch in the answer: its index and why, short (a batch may hold a thousand). */
type Invalid = { index: number; code: string; message: string; issues: QuarantineReason['issues']; quarantineId?: string };

/** at most this many issues per refused call in a batch answer (the quarantine keeps them all) */
const ISSUES_PER_CALL = 3;
const shortMessage = (message: string): string => (message.length <= MESSAGE_PER_CALL ? message : `${message.slice(0, MESSAGE_PER_CALL - 1)}…`);

/**
 * The error answers of an ingest route (a Segment call or batch, an interest capture): `invalid`
 * says what its 400 covers, `limit` is the body's bound. 503 only where the event store is
 * written in the request: a batch lists such calls as STORE_UNAVAILABLE in its answer instead.
 */
export const ingestErrors = (invalid: string, limit: number, storeUnavailable: boolean) =>
  errors(
    [400, `${invalid}: kept in the quarantine (quarantineId); also a C360-Source header that names no source`],
    [401, 'no valid write key (the Basic-auth user name, or writeKey in the body) or bearer token (WWW-Authenticate says which)'],
    [403, 'a bearer token without the ingest scope, or C360-Source sent by a credential without the admin scope'],
    [
      413,
      `the body is larger than ${limit / 1024} KB only once its Content-Encoding (gzip, deflate) is decoded (PAYLOAD_TOO_LARGE); a body over it as sent is a 400, as Segment answers`,
    ],
    [415, 'a Content-Encoding other than gzip, deflate or identity (any Content-Type is read as JSON, as Segment does)'],
    ...(storeUnavailable ? ([503] as const) : []),
  );

export const registerIngestRoutes = (app: OpenAPIHono<AppEnv>, deps: HttpDeps, gate: Gate): void => {
  for (const type of SEGMENT_CALL_TYPES) {
    app.openAPIRegistry.registerPath({
      method: 'post',
      path: `/v1/${type}`,
      tags: ['ingest'],
      summary: `Segment ${type} call`,
      security: [{ writeKey: [] }, { bearer: [] }],
      request: { body: jsonBody(SegmentCallBody) },
      responses: {
        200: { description: 'accepted (or queued, or a duplicate of a call already processed)', content: { 'application/json': schemaOf(Success) } },
        ...ingestErrors('invalid call, or a body that cannot be read (larger than 32 KB, not UTF-8, cut short)', CALL_LIMIT, true),
      },
    });
    app.post(`/v1/${type}`, async (c) => {
      const { principal, body } = await receiveIngestBody(c, deps, gate, CALL_LIMIT, 'call');
      const raw = isObject(body) ? { ...body, type } : body;
      const outcome = await deps.intake.one(principal.tenant, deps.sourceOf(principal.tenant, principal.source), raw);
      // Segment's answer, plus what its clients ignore: the customer and the view version to ask
      // GET /v1/customers/{id}?minVersion= for (queued: not decided yet; duplicate: decided before)
      if (outcome.status === 'accepted') return c.json({ success: true as const, customerId: outcome.customerId, viewVersion: outcome.viewVersion }, 200);
      if (outcome.status === 'queued') return c.json({ success: true as const, queued: true as const }, 200);
      if (outcome.status === 'duplicate') return c.json({ success: true as const }, 200);
      const { code, message, issues } = outcome.error;
      const quarantineId = outcome.status === 'quarantined' ? outcome.quarantineId : undefined;
      deps.logger?.info('ingest call refused', { principal: principal.id, code, quarantineId });
      // a quarantined call is the client's to fix (400, kept for replay); anything else keeps its status
      const status = quarantineId ? 400 : statusOf(code);
      return c.json(errorBody(code, message, issues, quarantineId ? { quarantineId } : {}), status);
    });
  }

  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/v1/batch',
    tags: ['ingest'],
    summary: 'Segment batch: every call is its own unit; invalid ones are quarantined and listed by index',
    security: [{ writeKey: [] }, { bearer: [] }],
    request: { body: jsonBody(SegmentBatchBody) },
    responses: {
      200: {
        description:
          'processed; `invalid` lists the refused calls by index (with the event store out of reach, each call it could not write as STORE_UNAVAILABLE: send those again)',
        content: { 'application/json': schemaOf(BatchResult) },
      },
      ...ingestErrors('the body itself cannot be read (not JSON, not UTF-8, no batch array, more than 1,000 calls, larger than 500 KB)', BATCH_LIMIT, false),
    },
  });
  app.post('/v1/batch', async (c) => {
    const { principal, body, size, depth } = await receiveIngestBody(c, deps, gate, BATCH_LIMIT, 'batch');
    // a body refused whole is kept whole (a replay refuses it as NOT_REPLAYABLE, naming the reason)
    const refuseWhole = async (code: HttpErrorCode, message: string, issues: { path: string; message: string }[]): Promise<never> => {
      const quarantineId = await deps.core.quarantine.hold(principal.tenant, principal.source, body, { code, message, issues }, undefined, 'batch');
      throw new HttpError(code, `${message}; the body was kept in the quarantine`, issues, {}, { quarantineId });
    };
    const shape = SegmentBatch.safeParse(body);
    if (!shape.success) return refuseWhole('VALIDATION_FAILED', 'the batch body must be an object with a non-empty "batch" array', zodIssues(shape.error));
    const calls = shape.data.batch;
    if (calls.length > BATCH_MAX_CALLS)
      return refuseWhole('TOO_MANY_CALLS', `the batch holds ${calls.length} calls, over the limit of ${BATCH_MAX_CALLS} per batch; send smaller batches`, [
        { path: 'batch', message: `at most ${BATCH_MAX_CALLS} calls` },
      ]);
    // every call counts against the credential's rate limit, not just the request
    gate.chargeCalls(principal, calls.length);
    const { context, integrations } = shape.data;
    // Calls refused by their shape (over 32 KB, not a valid Segment call) and those the intake
    // refuses are kept together in ONE quarantine entry for the request, whatever their number.
    const refused: RefusedCall[] = [];
    const kept: number[] = [];
    for (const [index, call] of calls.entries()) {
      // each call is held to the depth of a call sent alone (the body may be deeper: BATCH_BODY_DEPTH);
      // only a body deeper than its calls may be (itself, its batch array) can hold such a call
      if (depth > MAX_JSON_DEPTH + 2 && deeperThan(call, MAX_JSON_DEPTH)) {
        refused.push({ index, call, reason: nestingTooDeep(call) });
        continue;
      }
      // no call of a body within the call limit can be over it: only measure calls of larger batches
      if (size > CALL_LIMIT && bytes(call) > CALL_LIMIT) {
        // issue paths in `invalid` are the call's own, listed by its index: the whole call is its root
        const e = tooLarge('call', CALL_LIMIT, '(root)');
        refused.push({ index, call, reason: { code: e.code, message: e.message, issues: e.issues } });
        continue;
      }
      const valid = parseSegmentCall(mergeBatchDefaults(call, context, integrations));
      if (valid.success) {
        kept.push(index);
        continue;
      }
      const issues = zodIssues(valid.error);
      refused.push({
        index,
        call,
        reason: { code: 'VALIDATION_FAILED', message: `invalid Segment call: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues },
      });
    }
    const invalid: Invalid[] = [];
    let quarantineId: string | undefined;
    if (kept.length) {
      // ONE entry for the request: the intake keeps the calls it refuses together with these,
      // naming each by its index in the request; their outcomes follow those of the kept calls
      const outcomes = await deps.intake.batch(
        principal.tenant,
        deps.sourceOf(principal.tenant, principal.source),
        { ...(body as Json), batch: kept.map((i) => calls[i]) },
        undefined,
        { indexes: kept, total: calls.length, refused },
      );
      outcomes.forEach((o, i) => {
        const bad = invalidOf(o, i < kept.length ? kept[i]! : refused[i - kept.length]!.index);
        if (!bad) return;
        const { quarantineId: held, ...rest } = bad;
        quarantineId ??= held;
        invalid.push({ ...rest, message: shortMessage(bad.message), issues: bad.issues.slice(0, ISSUES_PER_CALL) });
      });
    } else {
      const entry = refusedBatchEntry(body, calls.length, refused, calls);
      quarantineId = await deps.core.quarantine.hold(principal.tenant, principal.source, entry.payload, entry.reason, undefined, undefined, entry.arrival);
      for (const r of refused)
        invalid.push({ index: r.index, code: r.reason.code, message: shortMessage(r.reason.message), issues: r.reason.issues.slice(0, ISSUES_PER_CALL) });
    }
    invalid.sort((a, b) => a.index - b.index);
    if (invalid.length)
      deps.logger?.info('batch calls refused', {
        principal: principal.id,
        calls: calls.length,
        invalid: invalid.length,
        quarantineId,
        codes: [...new Set(invalid.map((i) => i.code))],
      });
    return c.json(quarantineId ? { success: true as const, invalid, quarantineId } : { success: true as const, invalid }, 200);
  });
};

const invalidOf = (o: AcceptOutcome, index: number): Invalid | undefined => {
  switch (o.status) {
    case 'accepted':
    case 'duplicate':
    case 'queued':
      return undefined;
    case 'quarantined':
      return { index, code: o.error.code, message: o.error.message, issues: o.error.issues, quarantineId: o.quarantineId };
    case 'rejected':
      return { index, code: o.error.code, message: o.error.message, issues: o.error.issues };
  }
};
