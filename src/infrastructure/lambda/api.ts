import { apiFunction } from './api.function.js';
import { startFunction } from './function-start.js';
import { functionApp } from './secrets.js';

// API Gateway (REST and HTTP APIs): the App is built once per cold start. The OpenAPI document is
// loaded (from its own chunk in the bundle) when /openapi.json is first asked for.
export const handler = await startFunction(async () =>
  apiFunction(await functionApp(), { openApiDocument: async () => (await import('./openapi-document.js')).openApiDocument }),
);
