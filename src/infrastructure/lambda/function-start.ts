import { createTelemetry } from '../../adapters/lambda/lambda.telemetry.js';
import type { App } from '../app.js';

// What every function's entry point shares: the start that reports a configuration error plainly,
// and its telemetry. Kept apart from functions.ts so that an entry point importing these does not
// also import the other functions' handlers (the api function used to build their event schemas at
// every cold start for nothing: 114 zod schemas; they are now built on a function's first invocation).

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
