import type { z } from 'zod';
import { zodIssues, type FieldIssue } from '../../application/segment/segment.schema.js';

// A Lambda event that does not have the shape its trigger promises (wrong trigger wired to the
// function, a hand-made test event) is a deployment fault, not bad data: it is refused as a
// whole with the field paths that did not match, and never half-processed.

export class InvalidLambdaEventError extends Error {
  override readonly name = 'InvalidLambdaEventError';
  readonly code = 'INVALID_LAMBDA_EVENT';

  constructor(
    readonly expected: string,
    readonly issues: readonly FieldIssue[],
  ) {
    const shown = issues
      .slice(0, 5)
      .map((i) => `${i.path}: ${i.message}`)
      .join('; ');
    super(`the event is not a valid ${expected} event (${shown}${issues.length > 5 ? `; and ${issues.length - 5} more` : ''}); check the function's trigger`);
  }
}

/**
 * An event schema built by the first invocation that parses with it, not at the cold start:
 * Powertools' schema modules build their zod schemas when imported (kinesis's some twenty, the
 * DynamoDB Streams ones among them). A failed load is tried again by the next invocation.
 */
export const schemaOnFirstUse = <S extends z.ZodType>(load: () => Promise<S>): (() => Promise<S>) => {
  let loaded: Promise<S> | undefined;
  return () =>
    (loaded ??= load().catch((e: unknown) => {
      loaded = undefined;
      throw e;
    }));
};

/** Powertools' EventBridge schema: what a scheduled rule sends (the outbox and lake functions) */
export const scheduledEvent = schemaOnFirstUse(async () => (await import('@aws-lambda-powertools/parser/schemas/eventbridge')).EventBridgeSchema);

export const parseEvent = <S extends z.ZodType>(schema: S, event: unknown, expected: string): z.output<S> => {
  const parsed = schema.safeParse(event);
  if (!parsed.success) throw new InvalidLambdaEventError(expected, zodIssues(parsed.error));
  return parsed.data;
};
