import { kinesisFunction, startFunction } from './functions.js';
import { functionApp } from './secrets.js';

// Kinesis Data Streams -> ingest: the App is built once per cold start (secrets: secrets.ts).
export const handler = await startFunction(async () => kinesisFunction(await functionApp()));
