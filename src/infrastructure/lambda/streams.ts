import { buildApp } from '../app.js';
import { loadConfig } from '../config.js';
import { streamsFunction } from './functions.js';

// DynamoDB Streams (events table) -> the 360 views: the App is built once per cold start.
export const handler = streamsFunction(await buildApp(loadConfig()));
