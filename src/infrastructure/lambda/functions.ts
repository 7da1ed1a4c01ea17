import { envelopeKey } from '../../adapters/kinesis/kinesis.record.js';
import { createKinesisHandler, type KinesisHandler } from '../../adapters/lambda/kinesis.handler.js';
import { createOutboxHandler, type OutboxHandler } from '../../adapters/lambda/outbox.handler.js';
import { createStreamsHandler, type StreamsHandler, type StreamsProjectorPort } from '../../adapters/lambda/streams.handler.js';
import type { App } from '../app.js';
import { ConfigError } from '../config.js';
import { telemetryFor, type Env } from './function-start.js';

// Each Lambda function's handler over a built App: the entry points (kinesis.ts, streams.ts) call
// these once per cold start, and the tests call them the same way. The api function's lives in
// api.function.ts, so that the HTTP routes stay out of the other bundles (their schemas are built
// at import time, which tree shaking cannot drop).

export { startFunction, telemetryFor, type Env } from './function-start.js';

/**
 * Kinesis records -> ingest. Calls without a writeKey belong to C360_TENANT only when the function
 * sets it explicitly; otherwise they are quarantined as unattributed rather than guessed. The core
 * is built by the first batch (the handler reads it there), not at the cold start; the
 * authenticator is, so that a malformed credentials file fails the start.
 */
export const kinesisFunction = (app: App, env: Env = process.env): KinesisHandler =>
  createKinesisHandler({
    get core() {
      return app.core;
    },
    sourceOf: app.sourceOf,
    auth: app.auth,
    defaultTenant: env.C360_TENANT ? app.config.tenant : undefined,
    // the api function signs the envelopes it queues under the same claim secret
    envelopeKey: envelopeKey(app.config.claimSecret),
    telemetry: telemetryFor('c360-kinesis', app, env),
  });

/**
 * DynamoDB Streams of the events table -> the 360 views. The projector (the core, the views' store
 * and the DynamoDB client under it) is built by the first batch, not at the cold start; off
 * DynamoDB there is none, and each batch fails saying so.
 */
export const streamsFunction = (app: App, env: Env = process.env): StreamsHandler => {
  const projector: StreamsProjectorPort | undefined =
    app.config.store === 'dynamodb' ? { handle: (records) => app.streamsProjector!.handle(records) } : undefined;
  return createStreamsHandler({ projector, telemetry: telemetryFor('c360-streams', app, env) });
};

/**
 * A schedule -> the engagement outbox relay. Without a topic there is nothing to publish to (the
 * notifier would keep them in memory and lose them): the function refuses to start instead.
 */
export const outboxFunction = (app: App, env: Env = process.env): OutboxHandler => {
  if (!app.config.snsTopicArn) throw new ConfigError('C360_SNS_TOPIC_ARN: required by the outbox function (the topic it publishes engagement decisions to)');
  if (!app.core.engagement.enabled) throw new ConfigError('C360_ENGAGEMENT: the outbox function needs engagement on');
  return createOutboxHandler({ relay: app.core.engagement.relay, telemetry: telemetryFor('c360-outbox', app, env) });
};
