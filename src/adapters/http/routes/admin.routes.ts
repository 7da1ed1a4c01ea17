import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { QuarantineEntry } from '../../../application/ports/quarantine.port.js';
import { NOT_REPLAYABLE } from '../../../application/quarantine/quarantine.use-cases.js';
import type { AppEnv, Gate } from '../auth.js';
import { decodeCursor, encodeCursor, isIdPosition } from '../cursor.js';
import { HttpError } from '../errors.js';
import type { HttpDeps } from '../http.deps.js';
import { errors, lazy, Limit, NoFieldsRequest, ok, optionalBody } from '../schemas.js';

// Operator routes: rebuild the read models from the log, and look at / replay the quarantine.

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

const Entry = lazy(() =>
  z
    .object({
      id: z.string(),
      receivedAt: z.string(),
      source: z.string(),
      status: z.enum(['pending', 'replayed']),
      replayedAt: z.string().optional(),
      intake: z
        .string()
        .optional()
        .openapi({ description: 'what the payload is when it is not a call (body, batch, interest, record): such an entry is not replayed' }),
      reason: z.object({ code: z.string(), message: z.string(), issues: z.array(z.object({ path: z.string(), message: z.string() })) }),
      payload: z.unknown().optional().openapi({ description: 'the raw payload as received; only with ?payload=true (it may hold personal data)' }),
    })
    .openapi('QuarantineEntry'),
);

const present = (e: QuarantineEntry, withPayload: boolean) => ({
  id: e.id,
  receivedAt: iso(e.receivedAt)!,
  source: e.source,
  status: e.status,
  replayedAt: iso(e.replayedAt),
  ...(e.intake !== undefined ? { intake: e.intake } : {}),
  reason: { code: e.reason.code, message: e.reason.message, issues: [...e.reason.issues] },
  ...(withPayload ? { payload: e.payload } : {}),
  ...(e.payloadUnavailable ? { payloadUnavailable: e.payloadUnavailable } : {}),
});

export const registerAdminRoutes = (app: OpenAPIHono<AppEnv>, deps: HttpDeps, gate: Gate): void => {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/admin/rebuild',
      tags: ['admin'],
      summary: "Rebuild the tenant's read models from the event log (switches over when done)",
      security: [{ bearer: [] }],
      middleware: [gate.needs('admin')] as const,
      request: { body: optionalBody(NoFieldsRequest) },
      responses: { ...ok(() => z.object({ events: z.number().int(), docs: z.number().int() }).openapi('RebuildResult')), ...errors(400, 413, 415, 503) },
    }),
    async (c) => {
      const p = c.get('principal');
      const result = await deps.core.rebuild.rebuild(p.tenant, undefined, { actor: p.id });
      deps.logger?.info('read models rebuilt', { principal: p.id, events: result.events, docs: result.docs });
      return c.json(result, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/quarantine',
      tags: ['admin'],
      summary: 'Quarantined payloads by id (time-ordered, but an entry kept by its arrival, whose id is a keyed hash), a page at a time',
      security: [{ bearer: [] }],
      middleware: [gate.needs('admin')] as const,
      request: {
        query: z.object({
          status: z.enum(['pending', 'replayed']).optional(),
          limit: Limit(500, 50),
          cursor: z.string().max(1_024).optional(),
          payload: z.enum(['true', 'false']).optional(),
        }),
      },
      responses: { ...ok(() => z.object({ items: z.array(Entry()), next: z.string().optional() }).openapi('QuarantinePage')), ...errors(400) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, isIdPosition).q;
      const page = await deps.core.quarantine.list(c.get('principal').tenant, { status: q.status, limit: q.limit, after });
      const items = page.entries.map((e) => present(e, q.payload === 'true'));
      return c.json(page.next ? { items, next: encodeCursor({ q: page.next }) } : { items }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/quarantine/{id}/replay',
      tags: ['admin'],
      summary: 'Replay a quarantined payload through ingest (after a fix); it stays pending if refused again',
      security: [{ bearer: [] }],
      middleware: [gate.needs('admin')] as const,
      request: { params: z.object({ id: z.string().min(1).max(128) }), body: optionalBody(NoFieldsRequest) },
      responses: {
        ...ok(() =>
          z
            .object({
              status: z.enum(['accepted', 'duplicate', 'replayed']),
              messageId: z.string().optional(),
              customerId: z.string().optional(),
              created: z.boolean().optional(),
              merged: z.array(z.string()).readonly().optional(),
              rejected: z
                .array(z.object({ type: z.string(), reason: z.string() }))
                .readonly()
                .optional(),
              calls: z
                .array(z.object({ index: z.number(), status: z.enum(['accepted', 'duplicate']), messageId: z.string(), customerId: z.string().optional() }))
                .readonly()
                .optional()
                .openapi({
                  description:
                    "an entry keeping the refused calls of a batch (status replayed): each call, by its index in the request it came in (the entry's refused[].index), not its place in the entry's batch",
                }),
            })
            .openapi('ReplayResult'),
        ),
        ...errors(
          400,
          [404, 'no quarantine entry with this id'],
          [410, 'the entry can no longer be read (QUARANTINE_PAYLOAD_UNAVAILABLE: its data key was destroyed, or it was tampered with)'],
          413,
          415,
          [422, 'the payload was refused again, or the entry keeps no call to replay (REPLAY_REJECTED; cause names why); it stays in the quarantine'],
          503,
        ),
      },
    }),
    async (c) => {
      const p = c.get('principal');
      const { id } = c.req.valid('param');
      const outcome = await deps.core.quarantine.replay(p.tenant, id, { actor: p.id });
      deps.logger?.info('quarantine replayed', { principal: p.id, quarantineId: id, status: outcome.status });
      if (outcome.status === 'accepted' || outcome.status === 'duplicate' || outcome.status === 'replayed') return c.json(outcome, 200);
      const reason = outcome.error;
      throw new HttpError(
        'REPLAY_REJECTED',
        reason.code === NOT_REPLAYABLE
          ? `${NOT_REPLAYABLE}: ${reason.message}; it stays in the quarantine`
          : `the payload was refused again (${reason.code}: ${reason.message}); it stays in the quarantine`,
        reason.issues,
        {},
        { cause: reason.code },
      );
    },
  );
};
