import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Get360Result } from '../../../application/customers/customer.queries.js';
import type { AppEnv, Gate } from '../auth.js';
import { pageTimeline } from '../cursor.js';
import { HttpError } from '../errors.js';
import type { HttpDeps } from '../http.deps.js';
import { mergedRedirect } from '../redirect.js';
import { Customer360, errors, IdParams, Limit, ok, Redirect, strictBody, TimelinePage } from '../schemas.js';

// The 360 read side and manual identity operations. A merged-away id answers 307 to the
// survivor's same sub-path, query kept, so old links and cached ids keep working; its body names
// the survivor and the Location.

/** Headers of GET /v1/customers/{id}: the view's version, and whether it is behind ?minVersion. */
export const VIEW_VERSION_HEADER = 'C360-View-Version';
export const VIEW_STALE_HEADER = 'C360-View-Stale';

const redirectTo = (c: Context, fromId: string, survivorId: string): Response => {
  const url = new URL(c.req.url);
  const from = `/customers/${encodeURIComponent(fromId)}`;
  const at = url.pathname.lastIndexOf(from);
  const path =
    at >= 0
      ? `${url.pathname.slice(0, at)}/customers/${encodeURIComponent(survivorId)}${url.pathname.slice(at + from.length)}`
      : `/v1/customers/${encodeURIComponent(survivorId)}`;
  return mergedRedirect(c, `${path}${url.search}`, survivorId, fromId);
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A `+` sent unencoded in a query string arrives as a space (`phone:+44...` as `phone: 44...`). A
 * phone number never starts with a space, so there it is taken as the `+` it was; an email never
 * holds a space, so there the answer says to encode it, instead of a lookup that finds nobody.
 */
const plusRestored = (type: string, value: string): string => {
  if (type === 'phone' && value.startsWith(' ')) return `+${value.slice(1)}`;
  if (type === 'email' && value.includes(' '))
    throw new HttpError(
      'VALIDATION_FAILED',
      'identifier holds a space: a + in a query string is read as a space, so send it as %2B (email:ada%2Btag@example.com)',
      [{ path: 'identifier', message: 'a + must be sent as %2B' }],
    );
  return value;
};

export const registerCustomerRoutes = (app: OpenAPIHono<AppEnv>, deps: HttpDeps, gate: Gate): void => {
  const tenantOf = (c: Context<AppEnv>) => c.get('principal').tenant;
  const waitMs = deps.minVersionWaitMs ?? 2_000;

  /** Read-your-writes: re-read (bounded) while the view is older than the version asked for. */
  const read360 = async (tenant: string, id: string, minVersion: number | undefined): Promise<{ result: Get360Result; stale: boolean }> => {
    let result = await deps.core.queries.get360(tenant, id);
    const behind = () => minVersion !== undefined && result.kind === 'view' && result.customer.version < minVersion;
    for (let waited = 0; behind() && waited < waitMs; waited += 100) {
      await sleep(100);
      result = await deps.core.queries.get360(tenant, id);
    }
    return { result, stale: behind() };
  };

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/customers/{id}',
      tags: ['customers'],
      summary: "The customer's 360 view",
      description: `With ?minVersion=N the answer waits (up to ${waitMs} ms) until the view has reached version N; if it has not, it answers with the view it has and ${VIEW_STALE_HEADER}: true. ${VIEW_VERSION_HEADER} always carries the view's version.`,
      security: [{ bearer: [] }],
      middleware: [gate.needs('read')] as const,
      request: { params: IdParams, query: z.object({ minVersion: z.coerce.number().int().min(0).optional() }) },
      responses: { ...ok(Customer360), ...Redirect, ...errors(400, 404, 410, 503) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { result, stale } = await read360(tenantOf(c), id, c.req.valid('query').minVersion);
      if (result.kind === 'redirect') return redirectTo(c, id, result.survivorId) as never;
      c.header(VIEW_VERSION_HEADER, String(result.customer.version));
      if (stale) c.header(VIEW_STALE_HEADER, 'true');
      return c.json(result.customer, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/customers',
      tags: ['customers'],
      summary: 'Find the customer holding an identifier',
      security: [{ bearer: [] }],
      middleware: [gate.needs('read')] as const,
      request: {
        query: z.object({
          identifier: z
            .string()
            .regex(/^[^:]+:.+$/, 'must be type:value, e.g. email:ada@example.com')
            .openapi({ example: 'email:ada@example.com', description: 'type:value, split on the first colon; any identifier type' }),
        }),
      },
      responses: {
        ...ok(Customer360),
        ...Redirect,
        ...errors(400, [404, 'no customer of this tenant holds the identifier (those of an erased customer are released)'], 503),
      },
    }),
    async (c) => {
      const raw = c.req.valid('query').identifier;
      const colon = raw.indexOf(':');
      const result = await deps.core.queries.findByIdentifier(tenantOf(c), raw.slice(0, colon), plusRestored(raw.slice(0, colon), raw.slice(colon + 1)));
      if (result.kind === 'redirect')
        return mergedRedirect(c, `${new URL(c.req.url).pathname}/${encodeURIComponent(result.survivorId)}`, result.survivorId) as never;
      c.header(VIEW_VERSION_HEADER, String(result.customer.version));
      return c.json(result.customer, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/customers/{id}/timeline',
      tags: ['customers'],
      summary: "The customer's recent timeline, newest first, a page at a time",
      security: [{ bearer: [] }],
      middleware: [gate.needs('read')] as const,
      request: { params: IdParams, query: z.object({ limit: Limit(100, 20), cursor: z.string().max(512).optional() }) },
      responses: { ...ok(TimelinePage), ...Redirect, ...errors(400, 404, 410, 503) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { limit, cursor } = c.req.valid('query');
      const result = await deps.core.queries.get360(tenantOf(c), id);
      if (result.kind === 'redirect') return redirectTo(c, id, result.survivorId) as never;
      return c.json(pageTimeline(result.customer.timeline, limit, cursor), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/customers/{id}/explain',
      tags: ['customers'],
      summary: 'Why these identifiers are one customer: every link, merge and rejection with its evidence',
      security: [{ bearer: [] }],
      middleware: [gate.needs('read')] as const,
      request: { params: IdParams },
      responses: {
        ...ok(() => z.looseObject({ customerId: z.string(), status: z.literal('active') }).openapi('Explanation')),
        ...Redirect,
        ...errors(400, 404, 410, 503),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const explained = await deps.core.queries.explain(tenantOf(c), id);
      if (explained.status === 'merged') return redirectTo(c, id, explained.survivorId) as never;
      return c.json(explained, 200);
    },
  );

  const OperationFields = {
    reason: z.string().max(1_000).optional().openapi({
      description:
        "free text, so personal data: kept encrypted with the survivor's history (explain, the console and the access export show it) and erased with the customer; never in the audit log",
    }),
    operationId: z.string().min(1).max(128).optional().openapi({ description: 'retry with the same id to get the first answer back' }),
  };

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/customers/{id}/merge',
      tags: ['identity'],
      summary: 'Merge another customer into this one (refused when it breaks an identity rule, unless forced)',
      security: [{ bearer: [] }],
      middleware: [gate.needs('admin')] as const,
      request: {
        params: IdParams,
        body: {
          required: true,
          content: {
            'application/json': {
              schema: strictBody({ otherId: IdParams.shape.id, force: z.boolean().optional(), ...OperationFields }).openapi('MergeRequest'),
            },
          },
        },
      },
      responses: {
        ...ok(() =>
          z.object({ mergeId: z.string(), survivorId: z.string(), absorbedId: z.string(), forced: z.boolean(), duplicate: z.boolean() }).openapi('MergeResult'),
        ),
        ...errors(400, 404, 409, 410, 413, 415, 503),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const p = c.get('principal');
      const merged = await deps.core.identity.merge(p.tenant, id, body.otherId, {
        actor: p.id,
        force: body.force,
        reason: body.reason,
        operationId: body.operationId,
      });
      deps.logger?.info('customers merged', {
        principal: p.id,
        mergeId: merged.mergeId,
        survivorId: merged.survivorId,
        absorbedId: merged.absorbedId,
        forced: merged.forced,
      });
      return c.json(merged, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/customers/{id}/unmerge',
      tags: ['identity'],
      summary: 'Undo a merge by its id; the pair is then marked do-not-link',
      security: [{ bearer: [] }],
      middleware: [gate.needs('admin')] as const,
      request: {
        params: IdParams,
        body: {
          required: true,
          content: { 'application/json': { schema: strictBody({ mergeId: z.string().min(1).max(256), ...OperationFields }).openapi('UnmergeRequest') } },
        },
      },
      responses: {
        ...ok(() =>
          z
            .object({
              mergeId: z.string(),
              survivorId: z.string(),
              restoredId: z.string(),
              reassignedEvents: z.number(),
              transferredIdentifiers: z.number(),
              duplicate: z.boolean(),
              originalsRedacted: z.boolean().openapi({
                description:
                  "whether the survivor's originals of the events given back no longer hold their personal data in the store (their copies, under the restored customer's key, do); false on EventStoreDB, whose events cannot be changed: exports and views still leave them out",
              }),
            })
            .openapi('UnmergeResult'),
        ),
        ...errors(
          400,
          [404, 'no such customer, or no merge with this mergeId (MERGE_NOT_FOUND)'],
          [
            409,
            "refused by the customers' state (MERGE_NOT_UNDOABLE: the merge was already undone, saying when and which customer is separate again, or the unmerge was sent to the absorbed id, naming the survivor; a retry with the first unmerge's operationId answers it again, duplicate: true), or lost a race with another writer (CONCURRENCY_CONFLICT: send it again)",
          ],
          410,
          413,
          415,
          503,
        ),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const p = c.get('principal');
      const undone = await deps.core.identity.unmerge(p.tenant, id, body.mergeId, { actor: p.id, reason: body.reason, operationId: body.operationId });
      deps.logger?.info('merge undone', { principal: p.id, mergeId: undone.mergeId, survivorId: undone.survivorId, restoredId: undone.restoredId });
      return c.json(undone, 200);
    },
  );
};
