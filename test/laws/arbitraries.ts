// moved to src/testing so the package can ship them (the `testing` subpath); the laws import them from here as before
export * from '../../src/testing/arbitraries.js';
