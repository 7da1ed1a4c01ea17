import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';

// Counts what a process sends to DynamoDB (and DynamoDB Streams): one SDK middleware on every
// client, at the initialize step (one count per request, whatever the SDK retries underneath it),
// reading the $metadata the retry middleware leaves on each answer or error (attempts, the delay
// spent waiting between them). A second middleware inside the retry loop counts HTTP attempts,
// so what the SDK retries silently shows even when a request ends in an error.

export type RequestCounts = {
  /** requests by "<Command> <table kind>", e.g. "TransactWriteItems events" */
  requests: Record<string, number>;
  /** HTTP attempts, counted inside the SDK's retry loop */
  attempts: number;
  /** requests the SDK sent more than once */
  retried: number;
  /** the SDK's waits between attempts, summed (ms) */
  retryDelayMs: number;
  /** requests that ended in an error, by error name */
  errors: Record<string, number>;
};

export const emptyCounts = (): RequestCounts => ({ requests: {}, attempts: 0, retried: 0, retryDelayMs: 0, errors: {} });

export const total = (c: RequestCounts): number => Object.values(c.requests).reduce((n, x) => n + x, 0);

export const difference = (after: RequestCounts, before: RequestCounts): RequestCounts => {
  const minus = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(a)
        .map(([k, v]) => [k, v - (b[k] ?? 0)])
        .filter(([, v]) => v !== 0),
    );
  return {
    requests: minus(after.requests, before.requests),
    attempts: after.attempts - before.attempts,
    retried: after.retried - before.retried,
    retryDelayMs: after.retryDelayMs - before.retryDelayMs,
    errors: minus(after.errors, before.errors),
  };
};

type Input = { TableName?: string; RequestItems?: Record<string, unknown>; TransactItems?: { [op: string]: { TableName?: string } | undefined }[] };

/** Which tables a request touches, named by `kinds`. */
const tableOf = (input: Input, kinds: (table: string) => string): string => {
  const names = new Set<string>();
  if (input.TableName) names.add(input.TableName);
  for (const t of Object.keys(input.RequestItems ?? {})) names.add(t);
  for (const item of input.TransactItems ?? []) for (const op of Object.values(item)) if (op?.TableName) names.add(op.TableName);
  return [...names].map(kinds).sort().join('+') || '-';
};

type Metadata = { attempts?: number; totalRetryDelay?: number };

export type Naming = {
  /** a table's name in the counts (default: the name itself) */
  readonly kinds?: ((table: string) => string) | undefined;
  /** a suffix that tells some requests apart by their input, e.g. which use case sent them */
  readonly origin?: ((input: unknown) => string | undefined) | undefined;
};

/** Adds both counting middlewares to one client; `streams` marks a DynamoDB Streams client. */
export const countRequests = (
  client: { middlewareStack: DynamoDBClient['middlewareStack'] },
  counts: RequestCounts,
  naming: Naming = {},
  streams = false,
): void => {
  const kinds = naming.kinds ?? ((t: string) => t);
  const stack = client.middlewareStack as unknown as {
    add: (
      mw: (
        next: (args: { input: unknown }) => Promise<{ output: unknown }>,
        context: { commandName?: string },
      ) => (args: { input: unknown }) => Promise<{ output: unknown }>,
      options: object,
    ) => void;
  };
  stack.add(
    (next, context) => async (args) => {
      const origin = naming.origin?.(args.input);
      const name = `${(context.commandName ?? '?').replace(/Command$/, '')} ${streams ? 'stream' : tableOf(args.input as Input, kinds)}${origin ? ` (${origin})` : ''}`;
      counts.requests[name] = (counts.requests[name] ?? 0) + 1;
      const seen = (m: Metadata | undefined) => {
        if ((m?.attempts ?? 1) > 1) counts.retried++;
        counts.retryDelayMs += m?.totalRetryDelay ?? 0;
      };
      try {
        const out = await next(args);
        seen((out.output as { $metadata?: Metadata }).$metadata);
        return out;
      } catch (e) {
        seen((e as { $metadata?: Metadata }).$metadata);
        const error = (e as Error).name ?? 'Error';
        counts.errors[error] = (counts.errors[error] ?? 0) + 1;
        throw e;
      }
    },
    { step: 'initialize', name: 'benchCountRequests' },
  );
  stack.add(
    (next) => async (args) => {
      counts.attempts++;
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'benchCountAttempts' },
  );
};

/**
 * Counts every DynamoDB and DynamoDB Streams request of this process, from every client it makes
 * (the app builds its own in the container): each client gets the middlewares on its first send.
 */
export const countEveryClient = (counts: RequestCounts, naming: Naming = {}): void => {
  for (const Client of [DynamoDBClient, DynamoDBStreamsClient]) {
    const proto = Client.prototype as unknown as { send: (...args: unknown[]) => unknown };
    const send = proto.send;
    const counted = new WeakSet<object>();
    proto.send = function (this: DynamoDBClient, ...args: unknown[]) {
      if (!counted.has(this)) {
        counted.add(this);
        countRequests(this, counts, naming, Client === DynamoDBStreamsClient);
      }
      return send.apply(this, args);
    };
  }
};
