import { createKinesisHandler, type KinesisHandler } from '../../adapters/lambda/kinesis.handler.js';
import { createTelemetry } from '../../adapters/lambda/lambda.telemetry.js';
import { createOutboxHandler, type OutboxHandler } from '../../adapters/lambda/outbox.handler.js';
import { createStreamsHandler, type StreamsHandler } from '../../adapters/lambda/streams.handler.js';
import type { App } from '../app.js';
import { ConfigError } from '../config.js';

// Each Lambda function's handler over a built App: the entry points (kinesis.ts, streams.ts) call
// these once per cold start, and the tests call them the same way. The api function's lives in
// api.function.ts, so that the HTTP routes stay out of the other bundles (their schemas are built
// at import time, which tree shaking cannot drop).

export type Env = NodeJS.ProcessEnv;

/**
 * Builds a function's handler at its cold start. A configuration error fails the start with its
 * message alone: thrown at the top level of a minified bundle it would otherwise be printed after
 * the bundle's source line (one line of a few hundred kB), with stack frames into minified code
 * and the minified name of its class. Here it leaves as a rejection (no source line is printed
 * for one) of a plain Error named ConfigError whose stack is its message. Other errors (ours) keep
 * their stack.
 */
export const startFunction = async <H>(build: () => Promise<H>): Promise<H> => {
  try {
    return await build();
  } catch (e) {
    if (!(e instanceof Error) || e.name !== 'ConfigError') throw e;
    const plain = new Error(e.message);
    plain.name = e.name;
    plain.stack = `${e.name}: ${e.message}`;
    throw plain;
  }
};

/** Powertools' own variables win; otherwise each function logs and counts under its own name. */
export const telemetryFor = (service: string, app: App, env: Env) =>
  createTelemetry({ serviceName: env.POWERTOOLS_SERVICE_NAME || service, namespace: env.POWERTOOLS_METRICS_NAMESPACE || 'c360', counters: app.metrics });

/**
 * Kinesis records -> ingest. Calls without a writeKey belong to C360_TENANT only when the function
 * sets it explicitly; otherwise they are quarantined as unattributed rather than guessed.
 */
export const kinesisFunction = (app: App, env: Env = process.env): KinesisHandler =>
  createKinesisHandler({
    core: app.core,
    sourceOf: app.sourceOf,
    auth: app.auth,
    defaultTenant: env.C360_TENANT ? app.config.tenant : undefined,
    telemetry: telemetryFor('c360-kinesis', app, env),
  });

/** DynamoDB Streams of the events table -> the 360 views. */
export const streamsFunction = (app: App, env: Env = process.env): StreamsHandler =>
  createStreamsHandler({ projector: app.streamsProjector, telemetry: telemetryFor('c360-streams', app, env) });

/**
 * A schedule -> the engagement outbox relay. Without a topic there is nothing to publish to (the
 * notifier would keep them in memory and lose them): the function refuses to start instead.
 */
export const outboxFunction = (app: App, env: Env = process.env): OutboxHandler => {
  if (!app.config.snsTopicArn) throw new ConfigError('C360_SNS_TOPIC_ARN: required by the outbox function (the topic it publishes engagement decisions to)');
  if (!app.core.engagement.enabled) throw new ConfigError('C360_ENGAGEMENT: the outbox function needs engagement on');
  return createOutboxHandler({ relay: app.core.engagement.relay, telemetry: telemetryFor('c360-outbox', app, env) });
};
