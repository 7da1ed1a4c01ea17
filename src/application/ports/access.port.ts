// Who is calling, for which tenant, allowed to do what. Driving adapters (HTTP, Lambda, CLI) turn
// a credential into a Principal; use cases receive the tenant from it, never from the payload.

export const SCOPES = ['ingest', 'read', 'admin', 'gdpr'] as const;
export type Scope = (typeof SCOPES)[number];

export type Principal = {
  /** a stable, non-secret name for the credential (rate limits, audit, logs) */
  readonly id: string;
  readonly tenant: string;
  readonly scopes: ReadonlySet<Scope>;
  /** the ingest source (priority, channel) that calls under this credential count as */
  readonly source: string;
  /** calls per second allowed for this credential, each call of a batch counted and any other request as one (token bucket, burst = 2 s worth) */
  readonly rateLimitPerSecond: number;
};

export interface Authenticator {
  /** Segment write key (Basic-auth user name, or a call's writeKey field) */
  byWriteKey(writeKey: string): Principal | undefined;
  /** Bearer token */
  byToken(token: string): Principal | undefined;
}
