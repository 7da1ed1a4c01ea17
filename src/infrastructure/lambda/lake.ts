import { startFunction } from './function-start.js';
import { lakeFunction } from './lake.function.js';
import { functionApp } from './secrets.js';

// A schedule (EventBridge) -> the analytics lake on S3: the App is built once per cold start (secrets: secrets.ts).
export const handler = await startFunction(async () => lakeFunction(await functionApp()));
