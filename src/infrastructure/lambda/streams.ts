import { buildApp } from '../app.js';
import { loadConfig } from '../config.js';
import { startFunction, streamsFunction } from './functions.js';

// DynamoDB Streams (events table) -> the 360 views: the App is built once per cold start.
export const handler = await startFunction(async () => streamsFunction(await buildApp(loadConfig())));
