// Errors carry a stable code, a message a person can act on, and the offending field path.
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'IDENTIFIER_INVALID'
  | 'IDENTIFIER_BLOCKED'
  | 'IDENTIFIER_LIMIT_EXCEEDED'
  | 'NO_USABLE_IDENTIFIER'
  | 'CUSTOMER_NOT_FOUND'
  | 'QUARANTINE_ENTRY_NOT_FOUND'
  | 'QUARANTINE_PAYLOAD_UNAVAILABLE'
  | 'CUSTOMER_MERGED'
  | 'CUSTOMER_ERASED'
  | 'CUSTOMER_NOT_ACTIVE'
  | 'MERGE_NOT_FOUND'
  | 'MERGE_NOT_UNDOABLE'
  | 'MERGE_SAME_CUSTOMER'
  | 'MERGE_CROSS_TENANT'
  | 'CLUSTER_GUARD_EXCEEDED'
  | 'DO_NOT_LINK'
  | 'MATCH_NOT_SUGGESTED'
  | 'POINTER_CHAIN_TOO_DEEP'
  | 'CONCURRENCY_CONFLICT'
  | 'IDEMPOTENCY_CONFLICT'
  | 'COMMIT_TOO_LARGE'
  | 'CONFIG_INVALID';

export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly path: readonly (string | number)[] = [],
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

export const assertNever = (value: never): never => {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
};
