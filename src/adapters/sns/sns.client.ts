import { type ClientOptions, definedOptions, loopbackDefaults } from '../aws/local-endpoint.js';
import { SNSClient, type SNSClientConfig } from '@aws-sdk/client-sns';

// Every SNS client of the adapters: the SDK's standard retry mode (backoff with jitter, throttling
// recognised by code). No endpoint here: the SDK reads AWS_ENDPOINT_URL_SNS (or AWS_ENDPOINT_URL)
// itself, which is how local runs and tests point it at fauxqs. Created on first use, so a Lambda
// that never publishes pays nothing for it at cold start. A loopback endpoint given here gets a
// region and placeholder credentials when none are given (see ../aws/local-endpoint.ts).

export const SNS_RETRY = { retryMode: 'standard', maxAttempts: 5 } as const satisfies SNSClientConfig;

/** A client built on the first call and reused after. */
export const createSnsClient = (options: ClientOptions<SNSClientConfig> = {}): (() => SNSClient) => {
  const config = definedOptions(options);
  let client: SNSClient | undefined;
  return () => (client ??= new SNSClient({ ...SNS_RETRY, ...config, ...loopbackDefaults(config) }));
};

export type SnsClientSource = SNSClient | (() => SNSClient);

export const resolveSnsClient = (source: SnsClientSource): SNSClient => (typeof source === 'function' ? source() : source);
