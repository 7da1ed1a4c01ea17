import { startFunction, streamsFunction } from './functions.js';
import { functionApp } from './secrets.js';

// DynamoDB Streams (events table) -> the 360 views: the App is built once per cold start (secrets: secrets.ts).
export const handler = await startFunction(async () => streamsFunction(await functionApp()));
