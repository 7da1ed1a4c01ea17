import { describe, expect, it } from 'vitest';
import { presentEngagement } from '../../../src/application/engagement/engagement.queries.js';
import type { RecordedEvent } from '../../../src/domain/customer/customer.events.js';
import { addDecision, ENGAGEMENT_HISTORY_SIZE, type EngagementHistory, joinHistories } from '../../../src/domain/engagement/engagement.history.js';

// The 360 view keeps a cluster's latest ENGAGEMENT_HISTORY_SIZE decisions; the answer says how many
// older ones it dropped, so a client paging the history knows the list is not the whole of it.

const decided = (i: number, outcome: 'sent' | 'suppressed'): RecordedEvent =>
  ({
    eventId: `e-${String(i).padStart(4, '0')}`,
    observedAt: 1_000 * i,
    event: {
      type: 'EngagementDecided',
      data: {
        decisionId: `d-${i}`,
        triggerEventId: `t-${i}`,
        trigger: 'Interest Expressed',
        outcome,
        ...(outcome === 'suppressed' ? { reason: 'NO_CONSENT' } : {}),
      },
    },
  }) as unknown as RecordedEvent;

const fold = (from: number, to: number): EngagementHistory | undefined => {
  let h: EngagementHistory | undefined;
  for (let i = from; i < to; i++) h = addDecision(h, decided(i, i % 3 === 0 ? 'suppressed' : 'sent'));
  return h;
};

describe('the engagement history past its size', () => {
  it('holds the latest decisions and says how many older ones were dropped', () => {
    expect(ENGAGEMENT_HISTORY_SIZE).toBe(100);
    const some = presentEngagement(fold(0, 40));
    expect(some.decisions).toHaveLength(40);
    expect(some.olderDecisionsDropped).toBe(0);
    const many = presentEngagement(fold(0, 130));
    expect(many.sent + many.suppressed).toBe(130);
    expect(many.decisions).toHaveLength(100);
    expect(many.decisions[0]?.decisionId).toBe('d-129');
    expect(many.decisions.at(-1)?.decisionId).toBe('d-30');
    expect(many.olderDecisionsDropped).toBe(30);
    expect(presentEngagement(undefined).olderDecisionsDropped).toBe(0);
  });

  it('counts the dropped decisions of a merge of two histories', () => {
    const joined = presentEngagement(joinHistories(fold(0, 70), fold(70, 150)));
    expect(joined.decisions).toHaveLength(100);
    expect(joined.olderDecisionsDropped).toBe(50);
  });
});
