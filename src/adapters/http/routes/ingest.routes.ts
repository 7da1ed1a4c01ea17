import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AcceptOutcome } from '../../../application/ingest/intake.js';
import type { Principal } from '../../../application/ports/access.port.js';
import type { QuarantineReason } from '../../../application/ports/quarantine.port.js';
import { SEGMENT_CALL_TYPES, SegmentBatch, zodIssues } from '../../../application/segment/segment.schema.js';
import type { AppEnv, Gate } from '../auth.js';
import { parseJson, readBody, tooLarge } from '../body.js';
import { errorBody, HttpError, statusOf } from '../errors.js';
import type { HttpDeps } from '../http.deps.js';
import { BatchResult, ErrorSchema, jsonBody, schemaOf, SegmentBatchBody, SegmentCallBody, Success } from '../schemas.js';

// Segment's HTTP Tracking API, so existing client libraries work unchanged: same paths, same
// auth (write key as Basic user name or body writeKey), same limits, same {"success": true}.

export const CALL_LIMIT = 32 * 1024;
export const BATCH_LIMIT = 500 * 1024;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const bytes = (v: unknown): number => new TextEncoder().encode(JSON.stringify(v) ?? '').byteLength;

type Invalid = { index: number; code: string; message: string; issues: QuarantineReason['issues']; quarantineId?: string };

export const registerIngestRoutes = (app: OpenAPIHono<AppEnv>, deps: HttpDeps, gate: Gate): void => {
  /** Auth, bounded read and JSON parse shared by both shapes; unreadable JSON is kept, then refused. */
  const receive = async (c: Context<AppEnv>, limit: number, what: 'call' | 'batch'): Promise<{ principal: Principal; body: unknown }> => {
    let principal = gate.ingestByHeader(c.req.header('authorization'));
    const read = await readBody(c, limit);
    if (!read.ok) throw tooLarge(what, limit);
    const parsed = parseJson(read.text);
    principal ??= gate.ingestByWriteKey(parsed.ok && isObject(parsed.value) && typeof parsed.value.writeKey === 'string' ? parsed.value.writeKey : undefined);
    c.set('principal', principal);
    if (!parsed.ok) {
      const issues = [{ path: '(root)', message: 'not valid JSON' }];
      const quarantineId = await deps.core.quarantine.hold(principal.tenant, principal.source, read.text, {
        code: 'MALFORMED_JSON',
        message: parsed.message,
        issues,
      });
      throw new HttpError('MALFORMED_JSON', `${parsed.message}; the body was kept in the quarantine`, issues, {}, { quarantineId });
    }
    return { principal, body: parsed.value };
  };

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
        400: {
          description: 'invalid call: kept in the quarantine (quarantineId), or larger than 32 KB',
          content: { 'application/json': schemaOf(ErrorSchema) },
        },
      },
    });
    app.post(`/v1/${type}`, async (c) => {
      const { principal, body } = await receive(c, CALL_LIMIT, 'call');
      const raw = isObject(body) ? { ...body, type } : body;
      const outcome = await deps.intake.one(principal.tenant, deps.sourceOf(principal.tenant, principal.source), raw);
      const bad = invalidOf(outcome, 0);
      if (!bad) return c.json({ success: true as const }, 200);
      deps.logger?.info('ingest call refused', { principal: principal.id, code: bad.code, quarantineId: bad.quarantineId });
      // a quarantined call is the client's to fix (400, kept for replay); anything else keeps its status
      const status = outcome.status === 'quarantined' ? 400 : statusOf(bad.code);
      return c.json(errorBody(bad.code, bad.message, bad.issues, bad.quarantineId ? { quarantineId: bad.quarantineId } : {}), status);
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
      200: { description: 'processed; `invalid` lists the refused calls by index', content: { 'application/json': schemaOf(BatchResult) } },
      400: {
        description: 'the body itself cannot be read (not JSON, no batch array, larger than 500 KB)',
        content: { 'application/json': schemaOf(ErrorSchema) },
      },
    },
  });
  app.post('/v1/batch', async (c) => {
    const { principal, body } = await receive(c, BATCH_LIMIT, 'batch');
    const shape = SegmentBatch.safeParse(body);
    if (!shape.success) {
      const issues = zodIssues(shape.error);
      const message = 'the batch body must be an object with a non-empty "batch" array';
      const quarantineId = await deps.core.quarantine.hold(principal.tenant, principal.source, body, { code: 'VALIDATION_FAILED', message, issues });
      throw new HttpError('VALIDATION_FAILED', `${message}; the body was kept in the quarantine`, issues, {}, { quarantineId });
    }
    const calls = shape.data.batch;
    const invalid: Invalid[] = [];
    // Segment's 32 KB per call holds inside a batch too: oversized calls are kept and listed
    const kept: number[] = [];
    for (const [index, call] of calls.entries()) {
      if (bytes(call) <= CALL_LIMIT) {
        kept.push(index);
        continue;
      }
      const e = tooLarge('call', CALL_LIMIT);
      const quarantineId = await deps.core.quarantine.hold(principal.tenant, principal.source, call, { code: e.code, message: e.message, issues: e.issues });
      invalid.push({ index, code: e.code, message: e.message, issues: e.issues, quarantineId });
    }
    if (kept.length) {
      const outcomes = await deps.intake.batch(principal.tenant, deps.sourceOf(principal.tenant, principal.source), {
        ...(body as Json),
        batch: kept.map((i) => calls[i]),
      });
      outcomes.forEach((o, i) => {
        const bad = invalidOf(o, kept[i]!);
        if (bad) invalid.push(bad);
      });
    }
    invalid.sort((a, b) => a.index - b.index);
    if (invalid.length)
      deps.logger?.info('batch calls refused', {
        principal: principal.id,
        calls: calls.length,
        invalid: invalid.length,
        codes: [...new Set(invalid.map((i) => i.code))],
      });
    return c.json({ success: true as const, invalid }, 200);
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
