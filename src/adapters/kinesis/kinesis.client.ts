import { type ClientOptions, definedOptions, loopbackDefaults } from '../aws/local-endpoint.js';
import { KinesisClient, type KinesisClientConfig } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

// Every Kinesis client of the adapters: HTTP/1.1 (kinesalite speaks nothing else, and PutRecords/
// GetRecords need no HTTP/2) and the SDK's standard retry mode. Created on first use, so a Lambda
// that never touches Kinesis pays nothing for it at cold start. A loopback endpoint (kinesalite)
// gets a region and placeholder credentials when none are given (see ../aws/local-endpoint.ts).

export const KINESIS_RETRY = { retryMode: 'standard', maxAttempts: 5 } as const satisfies KinesisClientConfig;

export const createKinesisClient = (options: ClientOptions<KinesisClientConfig> = {}): KinesisClient => {
  const config = definedOptions(options);
  return new KinesisClient({ ...KINESIS_RETRY, requestHandler: new NodeHttpHandler(), ...config, ...loopbackDefaults(config) });
};

/** A client built on the first call and reused after. */
export const lazyKinesisClient = (config: ClientOptions<KinesisClientConfig> = {}): (() => KinesisClient) => {
  let client: KinesisClient | undefined;
  return () => (client ??= createKinesisClient(config));
};

export type KinesisClientSource = KinesisClient | (() => KinesisClient);

export const resolveClient = (source: KinesisClientSource): KinesisClient => (typeof source === 'function' ? source() : source);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
