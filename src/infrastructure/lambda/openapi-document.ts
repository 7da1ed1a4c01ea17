/**
 * The API's OpenAPI document. scripts/build-lambda.ts replaces this module with the document it
 * generates at build time, so the api function never builds it at run time; run from source
 * (tests, tsx) it is undefined and the app generates the document on first request.
 */
export const openApiDocument: object | undefined = undefined;
