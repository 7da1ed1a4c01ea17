import { type ClientOptions, definedOptions, loopbackDefaults } from '../aws/local-endpoint.js';
import { DynamoDBClient, QueryCommand, type AttributeValue, type DynamoDBClientConfig, type QueryCommandInput } from '@aws-sdk/client-dynamodb';

// Every DynamoDB client of the adapters: the SDK's standard retry mode (exponential backoff with
// full jitter, throttling recognised by error code) with more attempts than the SDK's default 3,
// as AWS advises for DynamoDB, so a throttled burst is slowed down rather than failed. A loopback
// endpoint (DynamoDB Local) gets a region and placeholder credentials when none are given.

export const DYNAMODB_RETRY = { retryMode: 'standard', maxAttempts: 8 } as const satisfies DynamoDBClientConfig;

/**
 * A DynamoDB client with the adapters' retry settings. With a loopback `endpoint`
 * (`http://127.0.0.1:8000`, `http://localhost:8000`) and no `region` or `credentials`, it uses
 * AWS_REGION (else us-east-1) and, unless AWS_ACCESS_KEY_ID or AWS_PROFILE is set, placeholder
 * credentials: DynamoDB Local checks neither, and the SDK then never looks for them.
 */
export const createDynamoDbClient = (options: ClientOptions<DynamoDBClientConfig> = {}): DynamoDBClient => {
  const config = definedOptions(options);
  return new DynamoDBClient({ ...DYNAMODB_RETRY, ...config, ...loopbackDefaults(config) });
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Full-jitter exponential backoff for the retries the SDK cannot do (unprocessed keys, cancelled transactions). */
export const backoff = (attempt: number, baseMs = 25, capMs = 2_000): Promise<void> => sleep(Math.random() * Math.min(capMs, baseMs * 2 ** attempt));

/**
 * One page of a list: up to `limit` items, reading one past it (over as many DynamoDB pages as a
 * filter needs) so a cursor is only handed out when another item exists and no last page is empty.
 */
export const queryPage = async (
  client: DynamoDBClient,
  input: Omit<QueryCommandInput, 'Limit' | 'ExclusiveStartKey'>,
  limit: number,
  start?: Record<string, AttributeValue> | undefined,
): Promise<{ readonly items: Record<string, AttributeValue>[]; readonly more: boolean }> => {
  const items: Record<string, AttributeValue>[] = [];
  let startKey = start;
  do {
    const page = await client.send(new QueryCommand({ ...input, Limit: limit + 1 - items.length, ExclusiveStartKey: startKey }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey && items.length <= limit);
  return { items: items.slice(0, limit), more: items.length > limit };
};
