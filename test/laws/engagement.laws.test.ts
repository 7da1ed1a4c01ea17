import { fc, test } from '@fast-check/vitest';
import { afterAll, expect } from 'vitest';
import { decisionEvents, interestCall, makeEngagementHarness } from '../support/engagement-harness.js';
import { describeOnStores, RUNS, TIMEOUT } from './support.js';

// docs/architecture.md "Engagement": whatever the event sequence, merges included, no offer is decided
// 'sent' while the cluster already has the cap's worth of sends on that channel in the window,
// and none without marketing consent at decision time. The oracle knows nothing of the
// implementation: clusters are the connected components of the identifiers calls carried together,
// consent is the latest answer any call (or the consent API) gave in the component.

const T = 'acme';
const HOUR = 3_600_000;
const CAP = 3;
const WINDOW = 24 * HOUR;

const ANON = ['a-1', 'a-2', 'a-3', 'a-4'] as const;
const EMAIL = ['ada@example.com', 'grace@example.org', 'alan@example.net'] as const;

type Op =
  | {
      readonly kind: 'call';
      readonly anon: number;
      readonly email?: number | undefined;
      readonly interest: string;
      readonly marketing?: boolean | undefined;
      readonly city?: string | undefined;
      readonly mobile: boolean;
      readonly advanceMs: number;
    }
  | { readonly kind: 'consent'; readonly anon: number; readonly granted: boolean; readonly advanceMs: number };

const arbAdvance = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3 * HOUR }), fc.integer({ min: 20 * HOUR, max: 30 * HOUR }));
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('call' as const),
      anon: fc.nat({ max: ANON.length - 1 }),
      email: fc.option(fc.nat({ max: EMAIL.length - 1 }), { nil: undefined }),
      interest: fc.constantFrom('electronics', 'electronics', 'books', 'gardening'),
      marketing: fc.option(fc.boolean(), { nil: undefined }),
      city: fc.option(fc.constantFrom('Cape Town', 'London'), { nil: undefined }),
      mobile: fc.boolean(),
      advanceMs: arbAdvance,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('consent' as const), anon: fc.nat({ max: ANON.length - 1 }), granted: fc.boolean(), advanceMs: arbAdvance }),
  },
);

/** Union-find over identifier labels. */
class Components {
  private readonly parent = new Map<string, string>();
  find(x: string): string {
    if (!this.parent.has(x)) this.parent.set(x, x);
    let root = x;
    while (this.parent.get(root) !== root) root = this.parent.get(root)!;
    this.parent.set(x, root);
    return root;
  }
  join(labels: readonly string[]): void {
    for (const l of labels.slice(1)) this.parent.set(this.find(l), this.find(labels[0]!));
  }
}

type Seen = {
  readonly labels: readonly string[];
  readonly at: number;
  readonly marketing?: boolean | undefined;
  readonly sends: readonly { at: number; channel: string }[];
};

describeOnStores('engagement laws', (store) => {
  /** outcomes over all runs: the property must not hold only because nothing was ever sent or capped */
  const tally: Record<string, number> = {};
  afterAll(() => {
    expect(tally.sent ?? 0).toBeGreaterThan(0);
    expect(tally.FREQUENCY_CAP ?? 0).toBeGreaterThan(0);
    expect(tally.NO_CONSENT ?? 0).toBeGreaterThan(0);
  });

  // full runs on both stores: with a fifth, some runs never reached a frequency cap on SQLite, and
  // the tally above (rightly) failed the property as not shown
  test.prop([fc.array(arbOp, { minLength: 1, maxLength: 25 })], { numRuns: RUNS })(
    'no send beyond the cap per channel in the window over the current cluster, and none without consent at decision time',
    async (ops) => {
      // only consent answers (for nobody yet): no call, no decision, nothing the law could check
      fc.pre(ops.some((op) => op.kind === 'call'));
      const h = makeEngagementHarness({ policy: { capPerChannel: CAP, capWindowMs: WINDOW }, store });
      const components = new Components();
      const seen: Seen[] = [];
      let known = 0;
      for (const [i, op] of ops.entries()) {
        h.clock.advance(op.advanceMs);
        const at = h.clock.now();
        const labels = [`anon:${ANON[op.anon]}`, ...(op.kind === 'call' && op.email !== undefined ? [`email:${EMAIL[op.email]}`] : [])];
        if (op.kind === 'consent') {
          const found = await h.core.queries.findByIdentifier(T, 'anonymous_id', ANON[op.anon]!).catch(() => undefined);
          if (found?.kind !== 'view') continue;
          await h.core.consents.record(
            T,
            found.customer.customerId,
            { purpose: 'marketing', status: op.granted ? 'granted' : 'withdrawn' },
            { actor: 'law', operationId: `op-${i}` },
          );
          seen.push({ labels, at, marketing: op.granted, sends: [] });
          continue;
        }
        const { userId: _none, ...call } = interestCall('', op.interest, { marketing: op.marketing, city: op.city, messageId: `m-${i}` });
        const out = await h.core.ingest.ingest(T, h.web, {
          ...call,
          anonymousId: ANON[op.anon],
          ...(op.mobile ? { channel: 'mobile' } : {}),
          context: { ...call.context, ...(op.email !== undefined ? { traits: { email: EMAIL[op.email] } } : {}) },
        });
        expect(out.status).toBe('accepted');
        components.join(labels);
        const decisions = await decisionEvents(h, T);
        const fresh = decisions.slice(known);
        known = decisions.length;
        // at most one decision per call
        expect(fresh.length).toBeLessThanOrEqual(1);
        const d = fresh[0];
        if (d) tally[String(d.reason ?? d.outcome)] = (tally[String(d.reason ?? d.outcome)] ?? 0) + 1;
        const root = components.find(labels[0]!);
        const cluster = seen.filter((s) => components.find(s.labels[0]!) === root);
        if (d?.outcome === 'sent') {
          const channel = String(d.channel);
          const earlier = cluster.flatMap((s) => s.sends).filter((s) => s.channel === channel && s.at > at - WINDOW);
          expect(earlier.length, `send ${i} on ${channel} with ${earlier.length} sends in the window`).toBeLessThan(CAP);
          // consent at decision time: the latest answers in the cluster (this call's included) are all grants
          const answers = [...cluster, { labels, at, marketing: op.marketing, sends: [] }].filter((s) => s.marketing !== undefined);
          const latest = Math.max(...answers.map((s) => s.at));
          const last = answers.filter((s) => s.at === latest);
          expect(last.length, `send ${i} without any consent`).toBeGreaterThan(0);
          expect(
            last.every((s) => s.marketing === true),
            `send ${i} with consent withdrawn`,
          ).toBe(true);
        }
        seen.push({ labels, at, marketing: op.marketing, sends: d?.outcome === 'sent' ? [{ at, channel: String(d.channel) }] : [] });
      }
      // every send was handed to the notifier exactly once
      const sent = (await decisionEvents(h, T)).filter((d) => d.outcome === 'sent').map((d) => d.decisionId);
      expect(h.notifier.published.map((n) => n.decisionId)).toEqual(sent);
    },
    TIMEOUT,
  );
});
