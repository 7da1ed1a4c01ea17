import type { ErrorCode } from '../../domain/shared/errors.js';

// Every error leaves the API as { error: { code, message, issues } }, with the status taken from
// ONE table below; unknown failures become INTERNAL_ERROR with no detail (never a stack trace).

export type HttpErrorCode =
  | ErrorCode
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'RATE_LIMITED'
  | 'BODY_TOO_LARGE'
  | 'CALL_TOO_LARGE'
  | 'MALFORMED_JSON'
  | 'NESTING_TOO_DEEP'
  | 'BODY_INCOMPLETE'
  | 'BODY_UNDECODABLE'
  | 'BODY_NOT_UTF8'
  | 'TOO_MANY_CALLS'
  | 'MALFORMED_REQUEST'
  | 'REQUEST_TIMEOUT'
  | 'HEADERS_TOO_LARGE'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'REPLAY_REJECTED'
  | 'STORE_UNAVAILABLE'
  | 'MASTER_KEY_UNAVAILABLE'
  | 'INTERNAL_ERROR';

export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 408 | 409 | 410 | 413 | 415 | 422 | 429 | 431 | 500 | 503;

export const STATUS_BY_CODE: Readonly<Record<HttpErrorCode, ErrorStatus>> = {
  VALIDATION_FAILED: 400,
  IDENTIFIER_INVALID: 400,
  NO_USABLE_IDENTIFIER: 400,
  MALFORMED_JSON: 400,
  NESTING_TOO_DEEP: 400,
  BODY_INCOMPLETE: 400,
  BODY_UNDECODABLE: 400,
  BODY_NOT_UTF8: 400,
  TOO_MANY_CALLS: 400,
  MALFORMED_REQUEST: 400,
  BODY_TOO_LARGE: 400,
  CALL_TOO_LARGE: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  MERGE_CROSS_TENANT: 403,
  CUSTOMER_NOT_FOUND: 404,
  MERGE_NOT_FOUND: 404,
  QUARANTINE_ENTRY_NOT_FOUND: 404,
  QUARANTINE_PAYLOAD_UNAVAILABLE: 410,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  CUSTOMER_ERASED: 410,
  // the request is well formed but conflicts with the customers' current state or rules
  IDENTIFIER_LIMIT_EXCEEDED: 409,
  IDENTIFIER_BLOCKED: 409,
  DO_NOT_LINK: 409,
  MATCH_NOT_SUGGESTED: 409,
  CLUSTER_GUARD_EXCEEDED: 409,
  MERGE_SAME_CUSTOMER: 409,
  MERGE_NOT_UNDOABLE: 409,
  CUSTOMER_MERGED: 409,
  CUSTOMER_NOT_ACTIVE: 409,
  CONCURRENCY_CONFLICT: 409,
  IDEMPOTENCY_CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  COMMIT_TOO_LARGE: 422,
  REPLAY_REJECTED: 422,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  POINTER_CHAIN_TOO_DEEP: 500,
  CONFIG_INVALID: 500,
  INTERNAL_ERROR: 500,
  // a store the API depends on cannot be reached now: retry after Retry-After, nothing is wrong with the request
  STORE_UNAVAILABLE: 503,
  // a data key the request needs is wrapped by a master key the server's keyring lacks: the
  // server's configuration is at fault, not the request; it succeeds once the keyring is fixed
  MASTER_KEY_UNAVAILABLE: 503,
};

export const statusOf = (code: string): ErrorStatus => STATUS_BY_CODE[code as HttpErrorCode] ?? 500;

export type Issue = { readonly path: string; readonly message: string };

export type ErrorBody = { error: { code: string; message: string; issues: Issue[]; [extra: string]: unknown } };

export const errorBody = (code: string, message: string, issues: readonly Issue[] = [], extra: Record<string, unknown> = {}): ErrorBody => {
  const core = { code, message, issues: [...issues] };
  // code, message and issues first and never overridden by the extras
  return { error: { ...core, ...extra, ...core } };
};

/** Thrown inside the adapter; the app's error handler renders it. */
export class HttpError extends Error {
  constructor(
    readonly code: HttpErrorCode,
    message: string,
    readonly issues: readonly Issue[] = [],
    readonly headers: Readonly<Record<string, string>> = {},
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
