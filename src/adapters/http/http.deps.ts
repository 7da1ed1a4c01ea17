import type { Core } from '../../application/core.js';
import type { IngestSource } from '../../application/ingest/ingest.use-case.js';
import type { CallIntake } from '../../application/ingest/intake.js';
import type { Authenticator } from '../../application/ports/access.port.js';
import type { ConsoleOptions } from './console/console.deps.js';

/** Structured log sink. Fields hold ids, codes and counts only: never personal values or payloads. */
export type HttpLogger = {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
};

export type HealthReport = { readonly ok: boolean; readonly details?: Record<string, unknown> };

/**
 * What the HTTP adapter needs from the composition root. Every app built from one of these keeps
 * its own state (rate-limit buckets, request metrics), so two apps in one process share nothing.
 */
export type HttpDeps = {
  /** queries (get360, findByIdentifier, explain), identity (merge, unmerge), rebuild, quarantine */
  readonly core: Pick<Core, 'queries' | 'identity' | 'rebuild' | 'quarantine' | 'gdpr' | 'export' | 'consents' | 'matching'>;
  /** where Segment calls go: processed now (sync) or validated and queued ('queued' answers like accepted) */
  readonly intake: CallIntake;
  /** turns a write key or bearer token into a Principal (tenant, scopes, source, rate limit) */
  readonly auth: Authenticator;
  /** the ingest source (priority, channel) a principal's `source` names */
  readonly sourceOf: (tenant: string, name: string) => IngestSource;
  /** core counters, exposed on GET /metrics */
  readonly metrics: { snapshot(): Readonly<Record<string, number>> };
  /** milliseconds; the rate limiter's clock (injectable so tests can move time) */
  readonly now: () => number;
  /** GET /health; without it the app answers ok while it can serve requests */
  readonly health?: (() => Promise<HealthReport>) | undefined;
  /**
   * loads a pre-generated OpenAPI document (Lambda bundles), on the first GET /openapi.json; without
   * it, or when it gives undefined, the app generates the document then
   */
  readonly openApiDocument?: (() => Promise<object | undefined>) | undefined;
  readonly logger?: HttpLogger | undefined;
  /** GET /metrics needs an admin bearer token when true (default false: counts only, no tenant or personal labels) */
  readonly metricsRequireAdmin?: boolean | undefined;
  /** requests without a valid credential, per client address and second (default 10); over it they get 429 */
  readonly anonymousRateLimitPerSecond?: number | undefined;
  /** how long `?minVersion=N` waits for the view to catch up before answering stale (default 2000 ms) */
  readonly minVersionWaitMs?: number | undefined;
  /** the web console under /console (session key, session length); without it there is none */
  readonly console?: ConsoleOptions | undefined;
};
