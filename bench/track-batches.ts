// The /v1/batch workload of the profiling targets: batches of 100 Product Viewed calls, each with a
// new messageId (prefix-n) and one of 5,000 users.

/** A maker of batches; each call returns the next 100 calls. */
export const trackBatches = (prefix: string): (() => Record<string, unknown>[]) => {
  let n = 0;
  return () =>
    Array.from({ length: 100 }, () => {
      n++;
      return {
        type: 'track',
        messageId: `${prefix}-${n}`,
        userId: `user-${n % 5_000}`,
        event: 'Product Viewed',
        properties: { product_id: `p${n % 200}`, category: 'electronics', price: 19.99 },
        timestamp: new Date().toISOString(),
      };
    });
};
