import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { StaticAuthenticator } from '../../src/adapters/config/static-credentials.js';
import { API_BODY_LIMIT, createHttpApp, generateOpenApiDocument, type HttpApp } from '../../src/adapters/http/app.js';
import { BATCH_LIMIT, CALL_LIMIT } from '../../src/adapters/http/routes/ingest.routes.js';
import { syncIntake } from '../../src/application/ingest/intake.js';
import { parseAnalyticsParams } from '../../src/application/lake/analytics.params.js';
import { StoreUnavailable } from '../../src/application/ports/store-unavailable.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { matchPerson } from '../support/match-people.js';

// The OpenAPI document lists, for each route, exactly the error statuses the route answers. Every
// route of the app is driven into every refusal it can give (no credential, the wrong scope, an
// address over its rate limit, bodies too large, of the wrong type or encoding or not JSON, an
// unknown or erased customer, a conflict, the event store out of reach, every store failing); each
// probe checks the status it gets and that the body is the project's error shape, and then the
// statuses a route answered must be the error statuses its document entry lists: none missing,
// none extra. A route served but not listed here, a status dropped from the document, or one
// listed there that no probe can make the route answer, fails here (a new refusal needs its probe).

const TENANT = 't-doc';
const WRITE_KEY = 'wk-doc-0123456789';
const ADMIN = 'tok-doc-admin-0123456789';
const READER = 'tok-doc-reader-0123456789';
const ANONYMOUS_RATE = 2;

type Auth = 'admin' | 'reader' | 'writeKey' | 'none';
type Req = {
  readonly method: string;
  readonly path: string;
  readonly auth: Auth;
  readonly json?: unknown;
  readonly body?: string | Uint8Array;
  readonly headers?: Record<string, string>;
};
/** What the stores do while a probe runs: nothing unusual, or one of the failures the adapters can show. */
type Fault = 'none' | 'unavailable' | 'failing' | 'conflict' | 'payload-unavailable';
type Probe = {
  readonly why: string;
  readonly req: (s: Scenario) => Req;
  readonly expect: number;
  readonly fault?: Fault;
  /** the app without an analytics lake */
  readonly noLake?: boolean;
  readonly check?: (body: any) => void;
};
/** Customers by what the probes do with them: `ada` is read, refused, given consents and restricted; each other is written by one route's valid request only. */
type Scenario = Readonly<
  Record<
    | 'ada'
    | 'merger'
    | 'mergee'
    | 'acceptor'
    | 'accepted'
    | 'rejector'
    | 'rejected'
    | 'doomed'
    | 'restricted'
    | 'erased'
    | 'survivor'
    | 'absorbed'
    | 'mergeId'
    | 'held'
    | 'invalid',
    string
  >
>;
/** How a route reads its body: none (GET), the bounded JSON of the API routes, or an ingest call or batch. */
type BodyKind = 'none' | 'json' | { readonly ingest: number };
type RouteSpec = {
  readonly bodyKind: BodyKind;
  /** the credential its valid request carries; undefined: the route needs none */
  readonly auth?: Auth;
  readonly valid: (s: Scenario) => Req;
  readonly probes: readonly Probe[];
  /** statuses answered with the route's own body, not an error (the health report's 503) */
  readonly reports?: readonly number[];
};

const get =
  (path: string, auth: Auth = 'admin') =>
  (): Req => ({ method: 'GET', path, auth });

// the failures of the stores, as their adapters show them
const STORE_DOWN = 'the event store cannot be reached (StoreUnavailable, as the EventStoreDB adapter throws it)';
const storeDown = (req: (s: Scenario) => Req, expect = 503): Probe => ({ why: STORE_DOWN, req, expect, fault: 'unavailable' });
const storesFail = (req: (s: Scenario) => Req): Probe => ({ why: 'every store fails unexpectedly', req, expect: 500, fault: 'failing' });
const racesLost = (req: (s: Scenario) => Req): Probe => ({
  why: 'every commit loses its race with another writer (CONCURRENCY_CONFLICT once the retries are spent)',
  req,
  expect: 409,
  fault: 'conflict',
});
const unknownCustomer = (req: (s: Scenario) => Req): Probe => ({ why: 'no such customer', req, expect: 404 });
const erasedCustomer = (req: (s: Scenario) => Req): Probe => ({ why: 'the customer was erased', req, expect: 410 });

const ROUTES: Record<string, RouteSpec> = {
  ...Object.fromEntries(
    ['identify', 'track', 'page', 'screen', 'alias', 'group'].map((type) => [
      `POST /v1/${type}`,
      {
        bodyKind: { ingest: CALL_LIMIT },
        auth: 'writeKey',
        valid: () => ({
          method: 'POST',
          path: `/v1/${type}`,
          auth: 'writeKey',
          json: { userId: 'doc-ingest', event: 'Doc Read', groupId: 'g', previousId: 'p' },
        }),
        probes: [
          { why: 'an invalid call', req: () => ({ method: 'POST', path: `/v1/${type}`, auth: 'writeKey', json: { userId: true } }), expect: 400 },
          storeDown(() => ({
            method: 'POST',
            path: `/v1/${type}`,
            auth: 'writeKey',
            json: { userId: 'doc-down', event: 'Doc Read', groupId: 'g', previousId: 'p' },
          })),
          storesFail(() => ({
            method: 'POST',
            path: `/v1/${type}`,
            auth: 'writeKey',
            json: { userId: 'doc-fail', event: 'Doc Read', groupId: 'g', previousId: 'p' },
          })),
        ],
      } satisfies RouteSpec,
    ]),
  ),
  'POST /v1/batch': {
    bodyKind: { ingest: BATCH_LIMIT },
    auth: 'writeKey',
    valid: () => ({ method: 'POST', path: '/v1/batch', auth: 'writeKey', json: { batch: [{ type: 'track', userId: 'doc-batch', event: 'Doc Read' }] } }),
    probes: [
      { why: 'no batch array', req: () => ({ method: 'POST', path: '/v1/batch', auth: 'writeKey', json: { calls: [] } }), expect: 400 },
      // a batch's calls are each their own unit: with the event store out of reach they are listed
      // as STORE_UNAVAILABLE in `invalid`, and the batch itself is answered
      {
        ...storeDown(
          () => ({ method: 'POST', path: '/v1/batch', auth: 'writeKey', json: { batch: [{ type: 'track', userId: 'doc-batch', event: 'Doc Read' }] } }),
          200,
        ),
        check: (body) => expect(body.invalid).toEqual([expect.objectContaining({ index: 0, code: 'STORE_UNAVAILABLE' })]),
      },
      // only a batch whose calls are all refused before the intake writes to the quarantine itself
      storesFail(() => ({ method: 'POST', path: '/v1/batch', auth: 'writeKey', json: { batch: [{ type: 'track', userId: 'doc-batch' }] } })),
    ],
  },
  'POST /v1/interests': {
    bodyKind: { ingest: CALL_LIMIT },
    auth: 'writeKey',
    valid: () => ({ method: 'POST', path: '/v1/interests', auth: 'writeKey', json: { customerId: 'doc-interest', interest: 'books' } }),
    probes: [
      {
        why: 'every missing field is named',
        req: () => ({ method: 'POST', path: '/v1/interests', auth: 'writeKey', json: { location: 5 } }),
        expect: 400,
        check: (body) => expect(body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['customerId', 'interest', 'location']),
      },
      storeDown(() => ({ method: 'POST', path: '/v1/interests', auth: 'writeKey', json: { customerId: 'doc-down', interest: 'books' } })),
      storesFail(() => ({ method: 'POST', path: '/v1/interests', auth: 'writeKey', json: { customerId: 'doc-fail', interest: 'books' } })),
    ],
  },
  'GET /v1/customers/{id}': {
    bodyKind: 'none',
    auth: 'reader',
    valid: (s) => get(`/v1/customers/${s.ada}`, 'reader')(),
    probes: [
      { why: 'not a customer id', req: get('/v1/customers/a%20b', 'reader'), expect: 400 },
      unknownCustomer(get('/v1/customers/nobody', 'reader')),
      erasedCustomer((s) => get(`/v1/customers/${s.erased}`, 'reader')()),
      // a customer with no view yet is folded from the log
      storeDown(get('/v1/customers/nobody-yet', 'reader')),
      storesFail((s) => get(`/v1/customers/${s.ada}`, 'reader')()),
    ],
  },
  'GET /v1/customers': {
    bodyKind: 'none',
    auth: 'reader',
    valid: get('/v1/customers?identifier=user_id:ada', 'reader'),
    probes: [
      { why: 'no identifier', req: get('/v1/customers', 'reader'), expect: 400 },
      unknownCustomer(get('/v1/customers?identifier=user_id:nobody', 'reader')),
      // an erased customer's identifiers are released: nobody holds them
      { why: 'the identifier of an erased customer', req: get('/v1/customers?identifier=user_id:erin', 'reader'), expect: 404 },
      storeDown(get('/v1/customers?identifier=user_id:ada', 'reader')),
      storesFail(get('/v1/customers?identifier=user_id:ada', 'reader')),
    ],
  },
  ...Object.fromEntries(
    ['timeline', 'explain', 'engagements', 'matches'].map((sub) => [
      `GET /v1/customers/{id}/${sub}`,
      {
        bodyKind: 'none',
        auth: 'reader',
        valid: (s) => get(`/v1/customers/${s.ada}/${sub}`, 'reader')(),
        probes: [
          { why: 'not a customer id', req: get(`/v1/customers/a%20b/${sub}`, 'reader'), expect: 400 },
          unknownCustomer(get(`/v1/customers/nobody/${sub}`, 'reader')),
          erasedCustomer((s) => get(`/v1/customers/${s.erased}/${sub}`, 'reader')()),
          // a customer with no view yet is folded from the log; the engagements are read from their view alone
          sub === 'engagements'
            ? storeDown((s) => get(`/v1/customers/${s.ada}/${sub}`, 'reader')(), 200)
            : storeDown(get(`/v1/customers/nobody-yet/${sub}`, 'reader')),
          storesFail((s) => get(`/v1/customers/${s.ada}/${sub}`, 'reader')()),
        ],
      } satisfies RouteSpec,
    ]),
  ),
  'POST /v1/customers/{id}/merge': {
    bodyKind: 'json',
    auth: 'admin',
    valid: (s) => ({ method: 'POST', path: `/v1/customers/${s.merger}/merge`, auth: 'admin', json: { otherId: s.mergee, force: true } }),
    probes: [
      { why: 'no otherId', req: (s) => ({ method: 'POST', path: `/v1/customers/${s.ada}/merge`, auth: 'admin', json: {} }), expect: 400 },
      unknownCustomer((s) => ({ method: 'POST', path: '/v1/customers/nobody/merge', auth: 'admin', json: { otherId: s.ada } })),
      {
        why: 'a customer merged with itself',
        req: (s) => ({ method: 'POST', path: `/v1/customers/${s.ada}/merge`, auth: 'admin', json: { otherId: s.ada } }),
        expect: 409,
      },
      erasedCustomer((s) => ({ method: 'POST', path: `/v1/customers/${s.erased}/merge`, auth: 'admin', json: { otherId: s.ada } })),
      racesLost((s) => ({ method: 'POST', path: `/v1/customers/${s.merger}/merge`, auth: 'admin', json: { otherId: s.mergee, force: true } })),
      storeDown((s) => ({ method: 'POST', path: `/v1/customers/${s.merger}/merge`, auth: 'admin', json: { otherId: s.mergee, force: true } })),
      storesFail((s) => ({ method: 'POST', path: `/v1/customers/${s.merger}/merge`, auth: 'admin', json: { otherId: s.mergee, force: true } })),
    ],
  },
  'POST /v1/customers/{id}/unmerge': {
    bodyKind: 'json',
    auth: 'admin',
    valid: (s) => ({ method: 'POST', path: `/v1/customers/${s.survivor}/unmerge`, auth: 'admin', json: { mergeId: s.mergeId } }),
    probes: [
      { why: 'no mergeId', req: (s) => ({ method: 'POST', path: `/v1/customers/${s.ada}/unmerge`, auth: 'admin', json: {} }), expect: 400 },
      unknownCustomer((s) => ({ method: 'POST', path: `/v1/customers/${s.ada}/unmerge`, auth: 'admin', json: { mergeId: 'no-such-merge' } })),
      {
        why: 'sent to the absorbed customer, not its survivor',
        req: (s) => ({ method: 'POST', path: `/v1/customers/${s.absorbed}/unmerge`, auth: 'admin', json: { mergeId: s.mergeId } }),
        expect: 409,
      },
      erasedCustomer((s) => ({ method: 'POST', path: `/v1/customers/${s.erased}/unmerge`, auth: 'admin', json: { mergeId: s.mergeId } })),
      racesLost((s) => ({ method: 'POST', path: `/v1/customers/${s.survivor}/unmerge`, auth: 'admin', json: { mergeId: s.mergeId } })),
      storeDown((s) => ({ method: 'POST', path: `/v1/customers/${s.survivor}/unmerge`, auth: 'admin', json: { mergeId: s.mergeId } })),
      storesFail((s) => ({ method: 'POST', path: `/v1/customers/${s.survivor}/unmerge`, auth: 'admin', json: { mergeId: s.mergeId } })),
    ],
  },
  ...Object.fromEntries(
    (['accept', 'reject'] as const).map((verb) => [
      `POST /v1/customers/{id}/matches/${verb}`,
      {
        bodyKind: 'json',
        auth: 'admin',
        valid: (s) => ({ method: 'POST', path: `/v1/customers/${s[`${verb}or`]}/matches/${verb}`, auth: 'admin', json: { otherId: s[`${verb}ed`] } }),
        probes: [
          { why: 'no otherId', req: (s) => ({ method: 'POST', path: `/v1/customers/${s.ada}/matches/${verb}`, auth: 'admin', json: {} }), expect: 400 },
          unknownCustomer((s) => ({ method: 'POST', path: `/v1/customers/${s.ada}/matches/${verb}`, auth: 'admin', json: { otherId: 'nobody' } })),
          {
            why: 'a pair that is not suggested',
            req: (s) => ({ method: 'POST', path: `/v1/customers/${s.ada}/matches/${verb}`, auth: 'admin', json: { otherId: s[`${verb}or`] } }),
            expect: 409,
          },
          erasedCustomer((s) => ({ method: 'POST', path: `/v1/customers/${s.ada}/matches/${verb}`, auth: 'admin', json: { otherId: s.erased } })),
          racesLost((s) => ({ method: 'POST', path: `/v1/customers/${s[`${verb}or`]}/matches/${verb}`, auth: 'admin', json: { otherId: s[`${verb}ed`] } })),
          storeDown((s) => ({ method: 'POST', path: `/v1/customers/${s[`${verb}or`]}/matches/${verb}`, auth: 'admin', json: { otherId: s[`${verb}ed`] } })),
          storesFail((s) => ({ method: 'POST', path: `/v1/customers/${s[`${verb}or`]}/matches/${verb}`, auth: 'admin', json: { otherId: s[`${verb}ed`] } })),
        ],
      } satisfies RouteSpec,
    ]),
  ),
  'DELETE /v1/customers/{id}': {
    bodyKind: 'json',
    auth: 'admin',
    valid: (s) => ({ method: 'DELETE', path: `/v1/customers/${s.doomed}`, auth: 'admin' }),
    probes: [
      {
        why: 'two different reasons',
        req: (s) => ({ method: 'DELETE', path: `/v1/customers/${s.ada}?reason=a`, auth: 'admin', json: { reason: 'b' } }),
        expect: 400,
      },
      unknownCustomer(() => ({ method: 'DELETE', path: '/v1/customers/nobody', auth: 'admin' })),
      racesLost((s) => ({ method: 'DELETE', path: `/v1/customers/${s.ada}`, auth: 'admin' })),
      storeDown((s) => ({ method: 'DELETE', path: `/v1/customers/${s.ada}`, auth: 'admin' })),
      storesFail((s) => ({ method: 'DELETE', path: `/v1/customers/${s.ada}`, auth: 'admin' })),
    ],
  },
  'GET /v1/customers/{id}/export': {
    bodyKind: 'none',
    auth: 'admin',
    valid: (s) => get(`/v1/customers/${s.ada}/export`)(),
    probes: [
      { why: 'not a customer id', req: get('/v1/customers/a%20b/export'), expect: 400 },
      unknownCustomer(get('/v1/customers/nobody/export')),
      erasedCustomer((s) => get(`/v1/customers/${s.erased}/export`)()),
      storeDown((s) => get(`/v1/customers/${s.ada}/export`)()),
      storesFail((s) => get(`/v1/customers/${s.ada}/export`)()),
    ],
  },
  'POST /v1/customers/{id}/consents': {
    bodyKind: 'json',
    auth: 'admin',
    valid: (s) => ({ method: 'POST', path: `/v1/customers/${s.ada}/consents`, auth: 'admin', json: { purpose: 'email', status: 'granted' } }),
    probes: [
      { why: 'no purpose', req: (s) => ({ method: 'POST', path: `/v1/customers/${s.ada}/consents`, auth: 'admin', json: { status: 'granted' } }), expect: 400 },
      unknownCustomer(() => ({ method: 'POST', path: '/v1/customers/nobody/consents', auth: 'admin', json: { purpose: 'email', status: 'granted' } })),
      {
        why: 'an operationId used for another decision',
        req: (s) => ({
          method: 'POST',
          path: `/v1/customers/${s.ada}/consents`,
          auth: 'admin',
          json: { purpose: 'sms', status: 'granted', operationId: 'doc-op-1' },
        }),
        expect: 409,
      },
      erasedCustomer((s) => ({ method: 'POST', path: `/v1/customers/${s.erased}/consents`, auth: 'admin', json: { purpose: 'email', status: 'granted' } })),
      racesLost((s) => ({ method: 'POST', path: `/v1/customers/${s.ada}/consents`, auth: 'admin', json: { purpose: 'email', status: 'withdrawn' } })),
      storeDown((s) => ({ method: 'POST', path: `/v1/customers/${s.ada}/consents`, auth: 'admin', json: { purpose: 'email', status: 'withdrawn' } })),
      storesFail((s) => ({ method: 'POST', path: `/v1/customers/${s.ada}/consents`, auth: 'admin', json: { purpose: 'email', status: 'withdrawn' } })),
    ],
  },
  ...Object.fromEntries(
    (['POST', 'DELETE'] as const).map((method) => {
      // restricting ada, and lifting the restriction of the customer restricted first: each writes
      const target = (s: Scenario) => (method === 'POST' ? s.ada : s.restricted);
      const req = (s: Scenario): Req => ({ method, path: `/v1/customers/${target(s)}/restriction`, auth: 'admin' });
      const spec: RouteSpec = {
        bodyKind: 'json',
        auth: 'admin',
        valid: req,
        probes: [
          { why: 'a reason that is free text', req: (s) => ({ ...req(s), json: { reason: 'a b' } }), expect: 400 },
          unknownCustomer(() => ({ method, path: '/v1/customers/nobody/restriction', auth: 'admin' })),
          erasedCustomer((s) => ({ method, path: `/v1/customers/${s.erased}/restriction`, auth: 'admin' })),
          racesLost(req),
          storeDown(req),
          storesFail(req),
        ],
      };
      return [`${method} /v1/customers/{id}/restriction`, spec];
    }),
  ),
  'POST /v1/admin/rebuild': {
    bodyKind: 'json',
    auth: 'admin',
    valid: () => ({ method: 'POST', path: '/v1/admin/rebuild', auth: 'admin' }),
    probes: [
      storeDown(() => ({ method: 'POST', path: '/v1/admin/rebuild', auth: 'admin' })),
      storesFail(() => ({ method: 'POST', path: '/v1/admin/rebuild', auth: 'admin' })),
    ],
  },
  'GET /v1/quarantine': {
    bodyKind: 'none',
    auth: 'admin',
    valid: get('/v1/quarantine'),
    probes: [
      { why: 'a limit out of range', req: get('/v1/quarantine?limit=0'), expect: 400 },
      // the quarantine is not kept in the event store
      storeDown(get('/v1/quarantine'), 200),
      storesFail(get('/v1/quarantine')),
    ],
  },
  'POST /v1/quarantine/{id}/replay': {
    bodyKind: 'json',
    auth: 'admin',
    valid: (s) => ({ method: 'POST', path: `/v1/quarantine/${s.held}/replay`, auth: 'admin' }),
    probes: [
      { why: 'an id too long', req: () => ({ method: 'POST', path: `/v1/quarantine/${'x'.repeat(129)}/replay`, auth: 'admin' }), expect: 400 },
      { why: 'no such entry', req: () => ({ method: 'POST', path: '/v1/quarantine/no-such-entry/replay', auth: 'admin' }), expect: 404 },
      {
        why: "an entry whose payload can no longer be read (its customer's key destroyed)",
        req: (s) => ({ method: 'POST', path: `/v1/quarantine/${s.held}/replay`, auth: 'admin' }),
        expect: 410,
        fault: 'payload-unavailable',
      },
      { why: 'a payload refused again', req: (s) => ({ method: 'POST', path: `/v1/quarantine/${s.invalid}/replay`, auth: 'admin' }), expect: 422 },
      storeDown((s) => ({ method: 'POST', path: `/v1/quarantine/${s.held}/replay`, auth: 'admin' })),
      storesFail((s) => ({ method: 'POST', path: `/v1/quarantine/${s.held}/replay`, auth: 'admin' })),
    ],
  },
  'GET /v1/admin/audit': {
    bodyKind: 'none',
    auth: 'admin',
    valid: get('/v1/admin/audit'),
    probes: [
      { why: 'a limit out of range', req: get('/v1/admin/audit?limit=0'), expect: 400 },
      storeDown(get('/v1/admin/audit'), 200),
      storesFail(get('/v1/admin/audit')),
    ],
  },
  'GET /v1/admin/erasures': {
    bodyKind: 'none',
    auth: 'admin',
    valid: get('/v1/admin/erasures'),
    probes: [
      { why: 'a limit out of range', req: get('/v1/admin/erasures?limit=0'), expect: 400 },
      storeDown(get('/v1/admin/erasures'), 200),
      storesFail(get('/v1/admin/erasures')),
    ],
  },
  'GET /v1/analytics/{query}': {
    bodyKind: 'none',
    auth: 'reader',
    valid: get('/v1/analytics/churn-risk', 'reader'),
    probes: [
      { why: 'an unknown parameter', req: get('/v1/analytics/churn-risk?colour=red', 'reader'), expect: 400 },
      { why: 'no such query', req: get('/v1/analytics/nothing-such', 'reader'), expect: 400 },
      { why: 'no lake is written here', req: get('/v1/analytics/churn-risk', 'reader'), expect: 404, noLake: true },
      storeDown(get('/v1/analytics/churn-risk', 'reader'), 200),
      storesFail(get('/v1/analytics/churn-risk', 'reader')),
    ],
  },
  'GET /health': {
    bodyKind: 'none',
    valid: get('/health', 'none'),
    // its 503 is the health report itself, not an error
    probes: [],
    reports: [503],
  },
  'GET /metrics': { bodyKind: 'none', valid: get('/metrics', 'none'), probes: [] },
};

/** Routes the app serves that are not API operations: the document itself and its docs page. */
const NOT_DOCUMENTED = new Set(['GET /openapi.json', 'GET /docs', 'GET /docs/{asset}']);

/** The probes every route gets from how it is reached: its credential and its body. */
const genericProbes = (spec: RouteSpec): Probe[] => {
  const probes: Probe[] = [];
  const valid = spec.valid;
  if (spec.auth) {
    probes.push({ why: 'no credential', req: (s) => ({ ...valid(s), auth: 'none' }), expect: 401 });
    // ingest needs the ingest scope (the reader token lacks it); the API routes a bearer token (a write key only sends events)
    probes.push({ why: 'a credential without the scope', req: (s) => ({ ...valid(s), auth: spec.auth === 'writeKey' ? 'reader' : 'writeKey' }), expect: 403 });
    probes.push({ why: 'an address over its rate limit', req: (s) => ({ ...valid(s), auth: 'none' }), expect: 429 });
  }
  if (spec.bodyKind === 'none') return probes;
  const limit = spec.bodyKind === 'json' ? API_BODY_LIMIT : spec.bodyKind.ingest;
  const json = { 'content-type': 'application/json' };
  probes.push({
    why: 'a body over the limit once decoded',
    req: (s) => ({
      ...valid(s),
      body: gzipSync(JSON.stringify({ ...(valid(s).json as object), pad: 'x'.repeat(limit) })),
      headers: { ...json, 'content-encoding': 'gzip' },
    }),
    expect: 413,
  });
  probes.push({
    why: 'a Content-Encoding it does not decode',
    req: (s) => ({ ...valid(s), body: '{}', headers: { ...json, 'content-encoding': 'br' } }),
    expect: 415,
  });
  probes.push({ why: 'a body that is not JSON', req: (s) => ({ ...valid(s), body: '{"a":', headers: json }), expect: 400 });
  const asText = (s: Scenario) => ({ ...valid(s), body: JSON.stringify(valid(s).json ?? {}), headers: { 'content-type': 'text/plain' } });
  // the ingest routes read JSON whatever its type, as Segment does (sendBeacon sends text/plain)
  if (spec.bodyKind === 'json') probes.push({ why: 'a body that is not application/json', req: asText, expect: 415 });
  else probes.push({ why: 'JSON sent as text/plain', req: asText, expect: 200 });
  return probes;
};

/** Every method of a store, wrapped: while a fault is on, the store fails as its adapter would. */
const faulty = (h: Harness, fault: { current: Fault }): void => {
  const stores = ['store', 'readModels', 'keys', 'quarantine', 'audit', 'ledger', 'snapshots'] as const;
  for (const name of stores) {
    const port = h.ports[name] as unknown as Record<string, unknown>;
    for (let proto = Object.getPrototypeOf(port); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
      for (const key of Object.getOwnPropertyNames(proto)) {
        const original = port[key];
        if (key === 'constructor' || key === 'dump' || typeof original !== 'function' || Object.hasOwn(port, key)) continue;
        port[key] = function (this: unknown, ...args: unknown[]) {
          if (fault.current === 'failing') return Promise.reject(new Error(`${name}.${key} failed`));
          if (fault.current === 'unavailable' && name === 'store') return Promise.reject(new StoreUnavailable('EventStoreDB', 'unavailable'));
          if (fault.current === 'conflict' && name === 'store' && key === 'commit')
            return Promise.resolve({ status: 'conflict', current: { streams: {}, claims: {} } });
          const result = (original as (...a: unknown[]) => unknown).apply(port, args);
          if (fault.current === 'payload-unavailable' && name === 'quarantine' && key === 'get')
            return (result as Promise<Record<string, unknown> | undefined>).then((e) => e && { ...e, payload: null, payloadUnavailable: 'key-destroyed' });
          return result;
        };
      }
    }
  }
};

type Doc = { paths: Record<string, Record<string, { responses: Record<string, any> }>> };

const toDocPath = (honoPath: string) => honoPath.replace(/:(\w+)/g, '{$1}');
const isErrorStatus = (status: string | number) => Number(status) >= 400;

describe('the OpenAPI document lists every error status each route answers, and no other', () => {
  const h = makeHarness();
  const fault = { current: 'none' as Fault };
  let now = Date.UTC(2026, 1, 1);
  const auth = new StaticAuthenticator([
    { id: 'doc-web', tenant: TENANT, kind: 'writeKey', secret: WRITE_KEY, scopes: ['ingest'], source: 'web' },
    { id: 'doc-admin', tenant: TENANT, kind: 'token', secret: ADMIN, scopes: ['ingest', 'read', 'admin', 'gdpr'], rateLimitPerSecond: 10_000 },
    { id: 'doc-reader', tenant: TENANT, kind: 'token', secret: READER, scopes: ['read'] },
  ]);
  const deps = {
    core: h.core,
    intake: syncIntake(h.core.ingest),
    sourceOf: (_t: string, name: string) => (name === 'crm' ? h.crm : h.web),
    metrics: h.ports.metrics,
    auth,
    now: () => now,
    anonymousRateLimitPerSecond: ANONYMOUS_RATE,
  };
  // the lake's queries check their parameters as the DuckDB adapter does, over an empty lake
  const analytics = {
    names: [],
    run: async (_tenant: string, name: string, raw: Readonly<Record<string, string | undefined>>) => {
      if (fault.current === 'failing') throw new Error('lake failed');
      parseAnalyticsParams(name, raw, now);
      return [];
    },
    page: async (_tenant: string, name: string, raw: Readonly<Record<string, string | undefined>>) => {
      if (fault.current === 'failing') throw new Error('lake failed');
      parseAnalyticsParams(name, raw, now);
      return { rows: [] };
    },
    chunks: async function* () {},
  };
  const app = createHttpApp({ ...deps, analytics });
  const noLake = createHttpApp(deps);
  const doc = generateOpenApiDocument(app) as Doc;
  faulty(h, fault);

  const send = async (target: HttpApp, r: Req) => {
    const headers: Record<string, string> = { ...r.headers };
    if (r.auth === 'admin') headers.authorization = `Bearer ${ADMIN}`;
    if (r.auth === 'reader') headers.authorization = `Bearer ${READER}`;
    if (r.auth === 'writeKey') headers.authorization = `Basic ${btoa(`${WRITE_KEY}:`)}`;
    let body = r.body;
    if (body === undefined && r.json !== undefined) {
      body = JSON.stringify(r.json);
      headers['content-type'] ??= 'application/json';
    }
    const res = await target.request(r.path, { method: r.method, headers, body: body as RequestInit['body'], redirect: 'manual' });
    const text = await res.text();
    let parsed: any;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, text, body: parsed };
  };
  const call = (r: Req) => send(app, r);

  let scenario: Scenario;
  beforeAll(async () => {
    const ingest = async (json: unknown) => expect((await call({ method: 'POST', path: '/v1/identify', auth: 'writeKey', json })).status).toBe(200);
    const idOf = async (userId: string) =>
      (await call({ method: 'GET', path: `/v1/customers?identifier=user_id:${userId}`, auth: 'admin' })).body.customerId as string;
    const names = ['ada', 'merger', 'mergee', 'doomed', 'restricted', 'erased', 'survivor', 'absorbed'] as const;
    for (const userId of names) await ingest({ userId, traits: { email: `${userId}@example.com` } });
    const ids = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await idOf(n)] as const))) as Record<(typeof names)[number], string>;
    // look-alikes the match book suggests: a person, and one with a typo in the name and another email
    for (let i = 0; i < 24; i++) await ingest({ userId: `m-${i}`, traits: matchPerson(i) });
    const twin = async (i: number) => {
      const p = matchPerson(i);
      const r = await call({
        method: 'POST',
        path: '/v1/identify',
        auth: 'writeKey',
        json: { anonymousId: `twin-${i}`, traits: { ...p, firstName: `${p.firstName}x`, email: `${p.firstName}.${i}@other.example` } },
      });
      expect(r.status, r.text).toBe(200);
      return r.body.customerId as string;
    };
    const pairs = { acceptor: await idOf('m-3'), accepted: await twin(3), rejector: await idOf('m-5'), rejected: await twin(5) };
    expect((await call({ method: 'DELETE', path: `/v1/customers/${ids.erased}`, auth: 'admin' })).status).toBe(200);
    expect((await call({ method: 'POST', path: `/v1/customers/${ids.restricted}/restriction`, auth: 'admin' })).status).toBe(200);
    const merge = await call({ method: 'POST', path: `/v1/customers/${ids.survivor}/merge`, auth: 'admin', json: { otherId: ids.absorbed, force: true } });
    expect(merge.status, merge.text).toBe(200);
    const consent = { purpose: 'email', status: 'granted', operationId: 'doc-op-1' };
    expect((await call({ method: 'POST', path: `/v1/customers/${ids.ada}/consents`, auth: 'admin', json: consent })).status).toBe(200);
    const invalid = await call({ method: 'POST', path: '/v1/track', auth: 'writeKey', json: { userId: 'doc-held' } });
    expect(invalid.status).toBe(400);
    // a call quarantined for a reason of the moment (it lost every race), which a replay takes
    fault.current = 'conflict';
    const held = await call({ method: 'POST', path: '/v1/track', auth: 'writeKey', json: { userId: 'doc-held', event: 'Doc Read' } });
    fault.current = 'none';
    expect(held.body.error.code, held.text).toBe('CONCURRENCY_CONFLICT');
    scenario = { ...ids, ...pairs, mergeId: merge.body.mergeId, held: held.body.error.quarantineId, invalid: invalid.body.error.quarantineId };
  });

  it('documents every route the app serves, and only those', () => {
    const served = new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${toDocPath(r.path)}`));
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    expect([...served].filter((r) => !NOT_DOCUMENTED.has(r)).sort()).toEqual([...documented].sort());
    expect(Object.keys(ROUTES).sort()).toEqual([...documented].sort());
  });

  /** Drives one route into each refusal, then compares the statuses it answered with those `document` lists. */
  const drive = async (target: { app: HttpApp; noLake: HttpApp; doc: Doc }, route: string, spec: RouteSpec) => {
    const [method, path] = route.split(' ') as [string, string];
    const op = target.doc.paths[path]![method.toLowerCase()]!;
    const answered = new Map<number, string[]>();
    for (const probe of [...genericProbes(spec), ...spec.probes]) {
      now += 3_600_000; // every rate-limit bucket full again
      fault.current = probe.fault ?? 'none';
      const r = probe.req(scenario);
      const to = probe.noLake ? target.noLake : target.app;
      let res = await send(to, r);
      // an address is limited once it has spent its burst of requests without a credential
      for (let i = 0; probe.expect === 429 && res.status === 401 && i < ANONYMOUS_RATE * 2; i++) res = await send(to, r);
      fault.current = 'none';
      expect(res.status, `${route}: ${probe.why}: ${res.text}`).toBe(probe.expect);
      probe.check?.(res.body);
      if (!isErrorStatus(res.status)) continue;
      expect(res.body, `${route}: ${probe.why}`).toEqual({
        error: expect.objectContaining({ code: expect.any(String), message: expect.any(String), issues: expect.any(Array) }),
      });
      answered.set(res.status, [...(answered.get(res.status) ?? []), `${probe.why} (${res.body.error.code})`]);
    }
    const documented = Object.keys(op.responses)
      .filter(isErrorStatus)
      .map(Number)
      .filter((s) => !spec.reports?.includes(s))
      .sort();
    expect([...answered.keys()].sort(), `${route} answered ${JSON.stringify(Object.fromEntries(answered))}`).toEqual(documented);
    // each documented error is the project's error shape
    for (const status of documented)
      expect(op.responses[status]!.content['application/json'].schema, `${route} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
    // and the request it was driven from is answered
    now += 3_600_000;
    const ok = await send(target.app, spec.valid(scenario));
    expect(ok.status, `${route}: ${ok.text}`).toBeLessThan(400);
  };

  for (const [route, spec] of Object.entries(ROUTES)) it(route, () => drive({ app, noLake, doc }, route, spec));

  it('GET /metrics, where it asks for the admin token', async () => {
    const guarded = createHttpApp({ ...deps, metricsRequireAdmin: true });
    const spec: RouteSpec = { bodyKind: 'none', auth: 'admin', valid: get('/metrics'), probes: [] };
    await drive({ app: guarded, noLake: guarded, doc: generateOpenApiDocument(guarded) as Doc }, 'GET /metrics', spec);
  });
});
