import { describe, expect, it } from 'vitest';
import { STREAM_REFUSALS_RECENT_MS, streamsHealth } from '../../src/infrastructure/server.js';

// What /health says of the records the local Streams poller refused for good: counted since the
// start, and `recent` while the last one is (the DynamoDB Local test drives the server).

describe('streamsHealth', () => {
  const at = Date.UTC(2026, 0, 2, 10, 0, 0);

  it('counts none', () => {
    expect(streamsHealth(undefined, at)).toEqual({ refused: 0, recent: false });
  });

  it('is recent while the last refusal is, then not, still counting them', () => {
    const refusals = { count: 3, lastReason: 'UNDECODABLE_EVENT', lastAt: at };
    const said = { refused: 3, lastReason: 'UNDECODABLE_EVENT', lastRefusedAt: '2026-01-02T10:00:00.000Z' };
    expect(streamsHealth(refusals, at)).toEqual({ ...said, recent: true });
    expect(streamsHealth(refusals, at + STREAM_REFUSALS_RECENT_MS - 1)).toEqual({ ...said, recent: true });
    expect(streamsHealth(refusals, at + STREAM_REFUSALS_RECENT_MS)).toEqual({ ...said, recent: false });
  });
});
