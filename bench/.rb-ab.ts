// A/B helper (not committed): node --import tsx <wt>/bench/.rb-ab.ts <dataDir>: rebuild timing of a seeded dir
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { buildApp } from '../src/infrastructure/app.js';
import { loadConfig } from '../src/infrastructure/config.js';
const dir = process.argv[2]!;
const app = await buildApp(loadConfig({ C360_STORE: 'sqlite', C360_DATA_DIR: dir, C360_TENANT: 'demo', C360_ENGAGEMENT: 'off', C360_CLAIM_SECRET: process.env.C360_CLAIM_SECRET, C360_MASTER_KEY: process.env.C360_MASTER_KEY }));
const t0 = performance.now();
const r = await app.core.rebuild.rebuild('demo');
const s = (performance.now() - t0) / 1000;
await app.close();
console.log(JSON.stringify({ dir, events: r.events, seconds: +s.toFixed(2), eventsPerSecond: Math.round(r.events / s) }));
