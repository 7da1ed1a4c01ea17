import { DomainError } from '../../src/domain/shared/errors.js';

/** Awaits a promise expected to fail with a DomainError and returns it. */
export const domainError = async (p: Promise<unknown>): Promise<DomainError> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
  throw new Error('expected a DomainError, but the call succeeded');
};
