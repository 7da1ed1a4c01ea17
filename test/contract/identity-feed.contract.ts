// the suite ships with the package (the `testing` subpath); adapters' tests call it from here
export * from '../../src/testing/contracts/identity-feed.contract.js';
