// moved to src/testing so the package can ship them; tests import them from here as before
export * from '../../src/testing/paging.js';
