// The DynamoDB Streams poller and its client: the local stand-in for the streams Lambda, loaded by
// App.startBackground only when views are projected from the stream in this process.
export { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
export { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
export { DynamoDbStreamsPoller } from '../../adapters/dynamodb/dynamodb.streams-poller.js';
