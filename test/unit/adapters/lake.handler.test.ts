import { describe, expect, it } from 'vitest';
import { createLakeHandler, LakeCatchUpError, type LakeRun } from '../../../src/adapters/lambda/lake.handler.js';
import { createTelemetry } from '../../../src/adapters/lambda/lambda.telemetry.js';
import { captureStdout, scheduledEvent } from '../../support/lambda-events.js';

// The lake function's loop, on a run whose steps are scripted: marking erasure receipts clean is
// its own step after a tenant's lake work. A failure there leaves the receipts for the next run and
// neither undoes nor fails the lake work; a failed catch-up marks nothing. (The real function, on
// DynamoDB Local and S3, is test/e2e/lambda.lake.test.ts.)

const runWith = (steps: { catchUp?: (tenant: string) => Promise<void>; markClean: (tenant: string) => Promise<number> }): LakeRun => ({
  catchUp: async (tenant) => (await steps.catchUp?.(tenant), { events: 3, caughtUp: true }),
  rebuild: async () => ({ events: 0, caughtUp: true }),
  markClean: steps.markClean,
});

describe('the lake function and the erasure receipts', () => {
  it('reports the lake work done when marking the receipts fails, says so, and still marks the next tenant', async () => {
    const marked: string[] = [];
    const handler = createLakeHandler({
      start: () =>
        runWith({
          markClean: async (tenant) => {
            if (tenant === 'acme') throw new Error('ledger throttled');
            marked.push(tenant);
            return 1;
          },
        }),
      tenants: ['acme', 'globex'],
      telemetry: createTelemetry({ serviceName: 'c360-lake' }),
    });
    const { result, lines } = await captureStdout(() => handler(scheduledEvent('c360-lake')));
    expect(result).toEqual({
      tenants: [
        { tenant: 'acme', events: 3, caughtUp: true },
        { tenant: 'globex', events: 3, caughtUp: true },
      ],
      events: 6,
    });
    expect(marked).toEqual(['globex']);
    // counted in the invocation's EMF document (the warning itself goes to stderr)
    const emf = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => '_aws' in l);
    expect(emf?.lake_receipts_unmarked).toBe(1);
  });

  it('marks nothing for a tenant whose catch-up failed, and fails the invocation naming it', async () => {
    const marked: string[] = [];
    const handler = createLakeHandler({
      start: () =>
        runWith({
          catchUp: async (tenant) => {
            if (tenant === 'acme') throw new Error('bucket gone');
          },
          markClean: async (tenant) => (marked.push(tenant), 0),
        }),
      tenants: ['acme', 'globex'],
      telemetry: createTelemetry({ serviceName: 'c360-lake' }),
    });
    const { result } = await captureStdout(() =>
      handler(scheduledEvent('c360-lake')).then(
        () => 'ok',
        (e: unknown) => e,
      ),
    );
    expect(result).toBeInstanceOf(LakeCatchUpError);
    expect(String((result as Error).message)).toContain('acme');
    expect(marked).toEqual(['globex']);
  });
});
