import type { MetadataJson } from 'libphonenumber-js/core';
import metadata from 'libphonenumber-js/min/metadata';

/**
 * libphonenumber-js's metadata (the "min" set, as `libphonenumber-js` itself uses), handed to its
 * core functions on each call. The Lambda build (scripts/build-lambda.ts) replaces this module with
 * one that parses the same JSON on the first phone number, so a cold start never builds the 80 kB
 * object unless a phone number arrives.
 */
export const phoneMetadata = (): MetadataJson => metadata;
