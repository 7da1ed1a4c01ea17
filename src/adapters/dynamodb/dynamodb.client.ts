import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

// Every DynamoDB client of the adapters: the SDK's standard retry mode (exponential backoff with
// full jitter, throttling recognised by error code) with more attempts than the SDK's default 3,
// as AWS advises for DynamoDB, so a throttled burst is slowed down rather than failed.

export const DYNAMODB_RETRY = { retryMode: 'standard', maxAttempts: 8 } as const satisfies DynamoDBClientConfig;

export const createDynamoDbClient = (config: DynamoDBClientConfig = {}): DynamoDBClient => new DynamoDBClient({ ...DYNAMODB_RETRY, ...config });

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Full-jitter exponential backoff for the retries the SDK cannot do (unprocessed keys, cancelled transactions). */
export const backoff = (attempt: number, baseMs = 25, capMs = 2_000): Promise<void> => sleep(Math.random() * Math.min(capMs, baseMs * 2 ** attempt));
