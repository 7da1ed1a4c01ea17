import { buildApp } from '../app.js';
import { loadConfig } from '../config.js';
import { apiFunction } from './api.function.js';
import { openApiDocument } from './openapi-document.js';

// API Gateway (REST and HTTP APIs): the App is built once per cold start.
export const handler = apiFunction(await buildApp(loadConfig()), { openApiDocument });
