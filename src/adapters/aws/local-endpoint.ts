// An AWS emulator on this machine (DynamoDB Local, kinesalite, fauxqs) checks neither region nor
// credentials, but the SDK asks for both before it sends anything: without them a local run fails
// with `Region is missing`, then `CredentialsProviderError` after probing the instance metadata
// address. A client of a loopback endpoint therefore gets a region (AWS_REGION, AWS_DEFAULT_REGION,
// else us-east-1) and, when the environment names no credentials (AWS_ACCESS_KEY_ID, AWS_PROFILE),
// placeholder ones. What the caller passes wins; any other endpoint gets nothing: on AWS the SDK's
// own chain applies.

const LOOPBACK = /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\/?$/;

/** Whether the endpoint is an address on this machine (127.x.x.x, localhost, [::1]). */
export const isLoopbackEndpoint = (endpoint: unknown): endpoint is string => typeof endpoint === 'string' && LOOPBACK.test(endpoint);

/** The region the environment names, else us-east-1 (an emulator takes any). */
export const regionOrDefault = (env: NodeJS.ProcessEnv = process.env): string => env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';

/** Placeholder credentials for an emulator, unless the environment names credentials of its own. */
export const localCredentials = (env: NodeJS.ProcessEnv = process.env): { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined =>
  env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE ? undefined : { accessKeyId: 'local', secretAccessKey: 'local' };

/** What a client config of a loopback endpoint lacks: a region, credentials; nothing for other endpoints. */
export const loopbackDefaults = (
  config: { readonly endpoint?: unknown; readonly region?: unknown; readonly credentials?: unknown },
  env: NodeJS.ProcessEnv = process.env,
): { region?: string; credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } } => {
  if (!isLoopbackEndpoint(config.endpoint)) return {};
  const credentials = config.credentials === undefined ? localCredentials(env) : undefined;
  return { ...(config.region === undefined ? { region: regionOrDefault(env) } : {}), ...(credentials ? { credentials } : {}) };
};

/**
 * A client config whose options may also be given as undefined, as `process.env.X` gives them: so
 * `{ endpoint: process.env.DYNAMODB_ENDPOINT }` type-checks under `exactOptionalPropertyTypes`.
 */
export type ClientOptions<C> = { readonly [K in keyof C]?: C[K] | undefined };

/** The options given a value: one given as undefined is left unset (`maxAttempts: undefined` must not undo the adapters' retry settings). */
export const definedOptions = <C>(options: ClientOptions<C>): C => Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as C;
