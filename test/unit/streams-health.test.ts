import { describe, expect, it } from 'vitest';
import { STREAM_REFUSALS_RECENT_MS, streamsHealth } from '../../src/infrastructure/server.js';

// What /health says of the records the local Streams poller refused for good: counted since the
// start, and not ok while the last one is recent (the DynamoDB Local test drives the server).

describe('streamsHealth', () => {
  const at = Date.UTC(2026, 0, 2, 10, 0, 0);

  it('is ok with none refused', () => {
    expect(streamsHealth(undefined, at)).toEqual({ recent: false, details: { refused: 0 } });
  });

  it('is not ok while the last refusal is recent, then ok again, still counting them', () => {
    const refusals = { count: 3, lastReason: 'UNDECODABLE_EVENT', lastAt: at };
    const details = { refused: 3, lastReason: 'UNDECODABLE_EVENT', lastRefusedAt: '2026-01-02T10:00:00.000Z' };
    expect(streamsHealth(refusals, at)).toEqual({ recent: true, details });
    expect(streamsHealth(refusals, at + STREAM_REFUSALS_RECENT_MS - 1)).toEqual({ recent: true, details });
    expect(streamsHealth(refusals, at + STREAM_REFUSALS_RECENT_MS)).toEqual({ recent: false, details });
  });
});
