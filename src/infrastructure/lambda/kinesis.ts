import { buildApp } from '../app.js';
import { loadConfig } from '../config.js';
import { kinesisFunction, startFunction } from './functions.js';

// Kinesis Data Streams -> ingest: the App is built once per cold start.
export const handler = await startFunction(async () => kinesisFunction(await buildApp(loadConfig())));
