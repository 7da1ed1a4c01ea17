import { outboxFunction, startFunction } from './functions.js';
import { functionApp } from './secrets.js';

// A schedule (EventBridge) -> the engagement outbox relay: the App is built once per cold start (secrets: secrets.ts).
export const handler = await startFunction(async () => outboxFunction(await functionApp()));
