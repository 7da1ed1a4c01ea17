import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv, Gate } from '../auth.js';
import type { HttpDeps } from '../http.deps.js';
import { errors, IdParams, lazy, ok, strictBody } from '../schemas.js';

// GET /v1/customers/{id}/matches: the customer's probable duplicates, best first, each with its
// match probability, weight and every field's contribution, from the stored match book. POST
// .../matches/accept merges one through the manual merge, with the score as evidence (two customers
// already one: MERGE_SAME_CUSTOMER, or a retry with the same operationId answers the merge); POST
// .../matches/reject records that the two are different people: never suggested again.

const MatchesPage = lazy(() =>
  z
    .object({
      customerId: z.string(),
      modelVersion: z.string(),
      modelRefitDue: z.array(z.string()).optional().openapi({
        description:
          'fields enough records now carry for the model to be fitted again with them, on a tenant too large to refit after a call: a rebuild (c360 rebuild) fits it',
      }),
      matches: z.array(
        z.object({
          customerId: z.string().openapi({ description: 'the other customer of the pair' }),
          verdict: z
            .enum(['review', 'auto_merge'])
            .openapi({ description: 'auto_merge: at or above the auto-merge threshold (merged only when the tenant turns auto-merge on)' }),
          probability: z.number(),
          weight: z.number().openapi({ description: 'log2 of the posterior odds: the prior plus the field weights' }),
          fields: z.array(
            z.object({
              field: z.string(),
              level: z.string(),
              weight: z.number(),
              holders: z.number().int().optional().openapi({
                description:
                  'for a level lowered for term frequency (email same_local_part, phone same_last_6_digits, when more than the two records of the pair hold the value): how many records hold it; the weight is the level weight minus log2(holders / 2)',
              }),
            }),
          ),
          notScored: z
            .array(z.object({ field: z.string(), reason: z.literal('not in model') }))
            .optional()
            .openapi({
              description:
                'fields both customers hold that the model has no comparison for (it was fitted while too few records carried them): neither their agreement nor their disagreement counted',
            }),
        }),
      ),
    })
    .openapi('MatchesPage'),
);

/** what accepting or rejecting a suggested match can answer besides its result */
const matchDecisionErrors = () =>
  errors(
    400,
    [404, 'otherId names no customer of this tenant'],
    [
      409,
      'not a suggested match now (MATCH_NOT_SUGGESTED), already one customer (MERGE_SAME_CUSTOMER), refused by an identity rule, or lost a race with another writer (CONCURRENCY_CONFLICT: send it again)',
    ],
    [410, 'the other customer (otherId) was erased (CUSTOMER_ERASED)'],
    413,
    415,
    503,
  );

export const registerMatchingRoutes = (app: OpenAPIHono<AppEnv>, deps: HttpDeps, gate: Gate): void => {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/customers/{id}/matches',
      tags: ['customers'],
      summary: "The customer's probable duplicates, scored, with each field's weight",
      security: [{ bearer: [] }],
      middleware: [gate.needs('read')] as const,
      request: { params: IdParams },
      responses: { ...ok(MatchesPage), ...errors(400, 404, 410, 503) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const tenant = c.get('principal').tenant;
      // 404 for an unknown customer, an absorbed one is answered for its survivor
      const found = await deps.core.queries.get360(tenant, id);
      const customerId = found.kind === 'redirect' ? found.survivorId : id;
      const { model, suggestions, refitDue } = await deps.core.matching.matchesOf(tenant, customerId);
      const matches = suggestions.map((s) => ({
        customerId: s.customerIds[0] === customerId ? s.customerIds[1] : s.customerIds[0],
        verdict: s.verdict,
        probability: s.score.probability,
        weight: s.score.weight,
        fields: s.score.fields.map((f) => ({ field: f.field, level: f.level, weight: f.weight, ...(f.holders !== undefined ? { holders: f.holders } : {}) })),
        ...(s.score.notScored?.length ? { notScored: s.score.notScored.map((field) => ({ field, reason: 'not in model' as const })) } : {}),
      }));
      return c.json({ customerId, modelVersion: model.version, ...(refitDue.length > 0 ? { modelRefitDue: [...refitDue] } : {}), matches }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/customers/{id}/matches/accept',
      tags: ['identity'],
      summary:
        'Accept a suggested match: merge it (rules apply as for any merge; unmerge undoes it), with the score, field weights and model version as evidence',
      security: [{ bearer: [] }],
      middleware: [gate.needs('admin')] as const,
      request: {
        params: IdParams,
        body: {
          required: true,
          content: {
            'application/json': {
              schema: strictBody({
                otherId: IdParams.shape.id,
                operationId: z.string().min(1).max(128).optional(),
                force: z
                  .boolean()
                  .optional()
                  .openapi({ description: "merge past the identity rules' limits, as POST /v1/customers/{id}/merge does (recorded as forced)" }),
              }).openapi('AcceptMatchRequest'),
            },
          },
        },
      },
      responses: {
        ...ok(() =>
          z
            .object({
              mergeId: z.string(),
              survivorId: z.string(),
              absorbedId: z.string(),
              probability: z.number(),
              modelVersion: z.string(),
              duplicate: z.boolean().openapi({
                description:
                  'a retry with the operationId of the accept that merged the two: its merge, the probability as its evidence recorded it (6 decimals)',
              }),
            })
            .openapi('AcceptMatchResult'),
        ),
        ...matchDecisionErrors(),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const p = c.get('principal');
      const r = await deps.core.matching.accept(p.tenant, id, body.otherId, { actor: p.id, operationId: body.operationId, force: body.force });
      return c.json(
        {
          mergeId: r.mergeId,
          survivorId: r.survivorId,
          absorbedId: r.absorbedId,
          probability: r.score.probability,
          modelVersion: r.score.modelVersion,
          duplicate: r.duplicate,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/customers/{id}/matches/reject',
      tags: ['identity'],
      summary: 'Reject a suggested match: recorded in the log, and the pair is never suggested again',
      security: [{ bearer: [] }],
      middleware: [gate.needs('admin')] as const,
      request: {
        params: IdParams,
        body: {
          required: true,
          content: { 'application/json': { schema: strictBody({ otherId: IdParams.shape.id }).openapi('RejectMatchRequest') } },
        },
      },
      responses: {
        ...ok(() => z.object({ customerId: z.string(), otherId: z.string() }).openapi('RejectMatchResult')),
        ...matchDecisionErrors(),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const p = c.get('principal');
      const r = await deps.core.matching.reject(p.tenant, id, body.otherId, { actor: p.id });
      return c.json({ customerId: r.customerId, otherId: r.otherId }, 200);
    },
  );
};
