import { ProvisionedThroughputExceededException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

// Faults injected under the SDK's retry middleware (finalizeRequest, low priority: inside the
// retry loop), so each attempt passes through here and the SDK's own retry strategy decides.

export type FaultOptions = {
  /** throw a throttling error, before sending, on this many first attempts of every request */
  readonly throttleFirst?: number;
  /** let the first attempt of these commands reach DynamoDB, then lose its response */
  readonly loseFirstResponseOf?: readonly string[];
};

export type FaultCounts = { requests: number; throttled: number; lost: number };

export const injectFaults = (client: DynamoDBClient, options: FaultOptions): FaultCounts => {
  const counts: FaultCounts = { requests: 0, throttled: 0, lost: 0 };
  // retries pass the same input object again, so it identifies one request across its attempts
  const attempts = new WeakMap<object, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const attempt = (attempts.get(args.input as object) ?? 0) + 1;
      attempts.set(args.input as object, attempt);
      if (attempt === 1) counts.requests++;
      if (attempt <= (options.throttleFirst ?? 0)) {
        counts.throttled++;
        // the shape DynamoDB's error deserializer produces, marked throttling as the service marks it
        throw Object.assign(
          new ProvisionedThroughputExceededException({
            message: 'The level of configured provisioned throughput for the table was exceeded (injected)',
            $metadata: { httpStatusCode: 400, attempts: attempt },
          }),
          {
            $retryable: { throttling: true },
          },
        );
      }
      const out = await next(args);
      if (attempt === 1 && options.loseFirstResponseOf?.includes(context.commandName ?? '')) {
        counts.lost++;
        throw Object.assign(new Error('socket hang up: the response was lost after DynamoDB applied the write (injected)'), {
          name: 'TimeoutError',
          code: 'ECONNRESET',
          $metadata: {},
        });
      }
      return out;
    },
    { step: 'finalizeRequest', priority: 'low', name: 'injectFaults' },
  );
  return counts;
};
