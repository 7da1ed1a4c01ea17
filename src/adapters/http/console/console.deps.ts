import type { Context, MiddlewareHandler } from 'hono';
import type { Core } from '../../../application/core.js';
import type { Authenticator, Principal, Scope } from '../../../application/ports/access.port.js';
import type { AnalyticsQueries } from '../../../application/ports/lake.port.js';
import type { AppEnv } from '../auth.js';
import type { Session } from './session.js';

/** The console's own settings; without them the app serves no console. */
export type ConsoleOptions = {
  /** seals the session cookie: at least 32 characters, kept like the other secrets */
  readonly sessionKey: string;
  /** how long a sign-in lasts (default 8 hours) */
  readonly sessionTtlMs?: number | undefined;
};

export type ConsoleDeps = {
  readonly core: Pick<Core, 'queries' | 'identity' | 'quarantine' | 'gdpr' | 'export' | 'consents' | 'matching' | 'ports'>;
  readonly auth: Authenticator;
  /** the analytics lake's queries, where this process has a lake (the API's GET /v1/analytics too) */
  readonly analytics?: AnalyticsQueries | undefined;
  readonly now: () => number;
  /** ids and codes only, never personal values (the API's logger) */
  readonly logger?: { info(msg: string, fields?: Record<string, unknown>): void; error(msg: string, fields?: Record<string, unknown>): void } | undefined;
};

export type ConsoleEnv = {
  Variables: AppEnv['Variables'] & {
    readonly session: Session;
    /** who signed in, as the credential says now */
    readonly viewer: Principal;
  };
};

export type ConsoleContext = Context<ConsoleEnv>;

/** Route middleware: the session's token must carry the scope (any one of several), as the API asks. */
export type Needs = (scope: Scope | readonly Scope[]) => MiddlewareHandler<ConsoleEnv>;
