// A store the core depends on cannot be reached right now (connection refused, no answer within the
// client's deadline): nothing is wrong with the request, and the same request may succeed later.
// A store adapter throws it in place of its client's error; the HTTP API answers 503 with
// Retry-After (STORE_UNAVAILABLE), never a client error or INTERNAL_ERROR.

/** What a client is told to wait before retrying, unless the adapter knows better. */
export const STORE_RETRY_AFTER_SECONDS = 5;

export class StoreUnavailable extends Error {
  override readonly name = 'StoreUnavailable';
  constructor(
    /** which store, as an operator names it (EventStoreDB) */
    readonly store: string,
    /** the client's word for it (unavailable, deadline-exceeded): short, no address or credential */
    readonly reason: string,
    options: { readonly cause?: unknown; readonly retryAfterSeconds?: number } = {},
  ) {
    super(`${store} cannot be reached right now (${reason})`, { cause: options.cause });
    this.retryAfterSeconds = options.retryAfterSeconds ?? STORE_RETRY_AFTER_SECONDS;
  }

  readonly retryAfterSeconds: number;
}
