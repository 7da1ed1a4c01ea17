import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { isTransient } from '../../../src/adapters/dynamodb/dynamodb.streams-projector.js';

// Which failures the streams projector has delivered again (transient) and which it lists as
// rejected: a wrong answer either blocks a shard forever or drops events from the views.

const service = (name: string) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: 400 }, $fault: 'client' });

describe('isTransient', () => {
  it('retries throttling, server faults and lost connections', () => {
    expect(isTransient(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }))).toBe(true);
    expect(isTransient(service('InternalServerError'))).toBe(true);
    expect(isTransient(service('ResourceNotFoundException'))).toBe(true); // a missing table is fixed by deploying, not by dropping events
    expect(isTransient(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
  });

  it('does not retry what fails the same way every time', () => {
    expect(isTransient(service('ValidationException'))).toBe(false);
    expect(isTransient(new TypeError("Cannot read properties of undefined (reading 'names')"))).toBe(false);
    expect(isTransient(new Error('no upcaster for TraitsUpdated v0'))).toBe(false);
    expect(isTransient('a string')).toBe(false);
  });
});
