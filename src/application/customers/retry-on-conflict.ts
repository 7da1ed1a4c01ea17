import { DomainError } from '../../domain/shared/errors.js';
import type { Metrics } from '../ports/runtime.port.js';

/** Runs an operation again when its commit lost a race (CONCURRENCY_CONFLICT), a bounded number of times. */
export const retryOnConflict = async <T>(metrics: Metrics, run: () => Promise<T>, maxAttempts = 6): Promise<T> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      if (!(e instanceof DomainError) || e.code !== 'CONCURRENCY_CONFLICT' || attempt >= maxAttempts) throw e;
      metrics.increment('commit_conflict_retry');
    }
  }
};
