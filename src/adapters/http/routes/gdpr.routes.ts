import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import type { Core } from '../../../application/core.js';
import type { AuditEntry as Entry } from '../../../application/ports/audit.port.js';
import type { Principal, Scope } from '../../../application/ports/access.port.js';
import type { AppEnv, Gate } from '../auth.js';
import { decodeCursor, encodeCursor, isIdPosition } from '../cursor.js';
import { HttpError } from '../errors.js';
import type { HttpDeps } from '../http.deps.js';
import {
  AuditPage,
  ConsentRequest,
  ConsentResult,
  CustomerExport,
  ErasurePage,
  ErasureReceipt,
  ErasureRequest,
  errors,
  IdParams,
  Limit,
  ok,
  optionalBody,
  ReasonCode,
  RestrictionRequest,
  RestrictionResult,
} from '../schemas.js';

// GDPR: erasure (DELETE), access export, consent, restriction of processing; and for admins the
// audit log and the erasure ledger. An erased customer's id answers 410 CUSTOMER_ERASED naming the
// erasure, here and on the other routes that name it; a lookup by identifier answers 404 (its
// identifiers are released).

/** What these routes need from the core, beyond HttpDeps' own. */
export type GdprRouteDeps = { readonly core: Pick<Core, 'gdpr' | 'export' | 'consents' | 'ports'> };

const iso = (ms: number) => new Date(ms).toISOString();
const presentEntry = (e: Entry) => ({
  id: e.id,
  at: iso(e.at),
  actor: e.actor,
  action: e.action,
  customerId: e.customerId,
  outcome: e.outcome,
  code: e.code,
  detail: e.detail,
});

/** A bearer token with either scope (tried in order; a refusal names both). */
const eitherScope =
  (gate: Gate, scopes: readonly [Scope, Scope]): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    const header = c.req.header('authorization');
    const attempt = (scope: Scope): Principal | undefined => {
      try {
        return gate.bearer(header, scope, c.get('clientAddress'));
      } catch (e) {
        if (e instanceof HttpError && e.code === 'FORBIDDEN') return undefined;
        throw e;
      }
    };
    const p = attempt(scopes[0]) ?? attempt(scopes[1]);
    if (!p)
      throw new HttpError('FORBIDDEN', `the credential lacks the "${scopes[0]}" or "${scopes[1]}" scope this route needs`, [
        { path: 'authorization', message: `needs scope ${scopes.join(' or ')}` },
      ]);
    c.set('principal', p);
    await next();
  };

export const registerGdprRoutes = (app: OpenAPIHono<AppEnv>, deps: HttpDeps & GdprRouteDeps, gate: Gate): void => {
  const principal = (c: Context<AppEnv>) => c.get('principal');

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/customers/{id}',
      tags: ['gdpr'],
      summary: "Erase the customer's whole identity cluster (crypto-shredding); idempotent: a repeat answers the same receipt",
      description:
        "Afterwards the routes naming the customer's ids answer 410 CUSTOMER_ERASED naming the erasure, and identifier lookups 404. The same email ingested later starts a fresh customer.",
      security: [{ bearer: [] }],
      middleware: [gate.needs('gdpr')] as const,
      // the reason in the query (?reason=) or in an optional strict JSON body, as the restriction routes take it
      request: { params: IdParams, query: z.object({ reason: ReasonCode.optional() }), body: optionalBody(ErasureRequest) },
      responses: { ...ok(ErasureReceipt), ...errors(400, 404, 409, 413, 415, 503) },
    }),
    async (c) => {
      const p = principal(c);
      const inQuery = c.req.valid('query').reason;
      const inBody = (c.req.valid('json') as { reason?: string } | undefined)?.reason;
      if (inQuery !== undefined && inBody !== undefined && inQuery !== inBody)
        throw new HttpError('VALIDATION_FAILED', 'reason is given twice, differently, in the query and in the body; send one', [
          { path: 'reason', message: 'differs between the query and the body' },
        ]);
      const receipt = await deps.core.gdpr.erase(p.tenant, c.req.valid('param').id, { actor: p.id, reason: inBody ?? inQuery });
      deps.logger?.info('customer erased', { principal: p.id, erasureId: receipt.erasureId, customers: receipt.customers.length });
      return c.json(receipt, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/customers/{id}/export',
      tags: ['gdpr'],
      summary: "Everything held about the customer's identity cluster as one JSON document (access request)",
      description:
        "A merged-away id exports its survivor's cluster. Personal values are decrypted; the response is never cached, and the audit log records who exported which customer.",
      security: [{ bearer: [] }],
      middleware: [gate.needs('gdpr')] as const,
      request: { params: IdParams },
      responses: { ...ok(CustomerExport), ...errors(400, 404, 410, 503) },
    }),
    async (c) => {
      const p = principal(c);
      const { id } = c.req.valid('param');
      const doc = await deps.core.export.export(p.tenant, id, { actor: p.id });
      deps.logger?.info('customer exported', { principal: p.id, customerId: doc.metadata.customerId, events: doc.metadata.counts.events });
      c.header('Cache-Control', 'no-store');
      c.header('Content-Disposition', `attachment; filename="customer-${doc.metadata.customerId}.json"`);
      return c.json(doc, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/customers/{id}/consents',
      tags: ['gdpr'],
      summary: 'Record a consent decision (per purpose, the latest across the cluster wins); visible in the 360 view',
      security: [{ bearer: [] }],
      middleware: [eitherScope(gate, ['gdpr', 'admin'])] as const,
      request: { params: IdParams, body: { required: true, content: { 'application/json': { schema: ConsentRequest } } } },
      responses: { ...ok(ConsentResult), ...errors(400, 404, 409, 410, 413, 415, 503) },
    }),
    async (c) => {
      const p = principal(c);
      const { operationId, ...request } = c.req.valid('json');
      const done = await deps.core.consents.record(p.tenant, c.req.valid('param').id, request, { actor: p.id, operationId });
      return c.json(done, 200);
    },
  );

  for (const method of ['post', 'delete'] as const) {
    const restrict = method === 'post';
    app.openapi(
      createRoute({
        method,
        path: '/v1/customers/{id}/restriction',
        tags: ['gdpr'],
        summary: restrict
          ? 'Restrict processing (GDPR art. 18): data is kept and keeps arriving, but is not used for engagement'
          : 'Lift the restriction of processing',
        security: [{ bearer: [] }],
        middleware: [gate.needs('gdpr')] as const,
        request: { params: IdParams, body: optionalBody(RestrictionRequest) },
        responses: { ...ok(RestrictionResult), ...errors(400, 404, 409, 410, 413, 415, 503) },
      }),
      async (c) => {
        const p = principal(c);
        const { id } = c.req.valid('param');
        const options = { actor: p.id, reason: (c.req.valid('json') as { reason?: string } | undefined)?.reason };
        const outcome = restrict ? await deps.core.gdpr.restrict(p.tenant, id, options) : await deps.core.gdpr.unrestrict(p.tenant, id, options);
        return c.json(outcome, 200);
      },
    );
  }

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/admin/audit',
      tags: ['admin'],
      summary: 'The audit log (erasures, exports, consents, merges, rebuilds, replays), oldest first, a page at a time',
      security: [{ bearer: [] }],
      middleware: [gate.needs('admin')] as const,
      request: {
        query: z.object({
          limit: Limit(500, 100),
          cursor: z.string().max(1_024).optional(),
          customerId: z
            .string()
            .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'must be a customer id')
            .optional(),
        }),
      },
      responses: { ...ok(AuditPage), ...errors(400) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, isIdPosition).q;
      const page = await deps.core.gdpr.auditLog(principal(c).tenant, { after, limit: q.limit, customerId: q.customerId });
      const items = page.entries.map(presentEntry);
      return c.json(page.next ? { items, next: encodeCursor({ q: page.next }) } : { items }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/admin/erasures',
      tags: ['admin'],
      summary: 'The erasure ledger: every erasure receipt, oldest first (re-applied after a restore from backup)',
      security: [{ bearer: [] }],
      middleware: [gate.needs('admin')] as const,
      request: { query: z.object({ limit: Limit(500, 100), cursor: z.string().max(1_024).optional() }) },
      responses: { ...ok(ErasurePage), ...errors(400) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, isIdPosition).q;
      const page = await deps.core.gdpr.receipts(principal(c).tenant, { after, limit: q.limit });
      return c.json(page.next ? { items: [...page.entries], next: encodeCursor({ q: page.next }) } : { items: [...page.entries] }, 200);
    },
  );
};
