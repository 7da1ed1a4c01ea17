import { buildApp } from '../app.js';
import { loadConfig } from '../config.js';
import { outboxFunction, startFunction } from './functions.js';

// A schedule (EventBridge) -> the engagement outbox relay: the App is built once per cold start.
export const handler = await startFunction(async () => outboxFunction(await buildApp(loadConfig())));
