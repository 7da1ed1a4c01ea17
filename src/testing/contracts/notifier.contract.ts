import { describe, expect, it } from '../vitest.js';
import type { Notification, Notifier } from '../../application/ports/notifier.port.js';

// What every Notifier promises (src/application/ports/notifier.port.ts): a notification is the
// decision's ids, channel, offer and times, and nothing else (no personal data: a subscriber looks
// the customer up); it is published at least once, and carries its decisionId so subscribers drop
// repeats; publish resolves only once the notification is acknowledged, and throws otherwise (the
// outbox relay publishes it again later). Each runner says how a subscriber sees what was
// published: the message body, the id it de-duplicates by and, where the transport keeps order,
// the ordering group.

/** One message as a subscriber receives it. */
export type DeliveredNotification = {
  /** the message body, parsed: what a subscriber reads */
  readonly body: unknown;
  /** what a subscriber drops repeats by */
  readonly dedupId: string | undefined;
  /** the ordering group, on transports that order within groups (SNS FIFO) */
  readonly group?: string | undefined;
};

export type NotifierUnderTest = {
  readonly notifier: Notifier;
  /** what subscribers got so far: waits until at least `count` messages arrived, then shows any more on the way */
  delivered(count: number): Promise<DeliveredNotification[]>;
  /** a notifier on the same subscribers whose next publish is not acknowledged (the transport is unreachable) */
  failing(): Notifier;
};

export type NotifierTraits = {
  /** the transport itself drops a republished decision id (SNS FIFO); otherwise every publish is delivered */
  readonly dropsRepeats: boolean;
  /** one customer's notifications are delivered in publish order (memory, SNS FIFO); standard SNS promises no order */
  readonly ordersPerCustomer: boolean;
};

const T0 = 1_767_225_600_000;

export const notification = (n: number, overrides: Partial<Notification> = {}): Notification => ({
  decisionId: `0197a000-0000-7000-8000-${String(n).padStart(12, '0')}`,
  tenant: 'acme',
  customerId: `0197b000-0000-7000-8000-${String(n % 3).padStart(12, '0')}`,
  channel: 'email',
  offerId: `offer-${n}`,
  offerTitle: `Offer number ${n}`,
  decidedAt: T0 + n,
  ...overrides,
});

/** The port's fields and nothing else, as a subscriber should see them. */
const fieldsOf = (n: Notification): Notification => ({
  decisionId: n.decisionId,
  tenant: n.tenant,
  customerId: n.customerId,
  channel: n.channel,
  offerId: n.offerId,
  offerTitle: n.offerTitle,
  decidedAt: n.decidedAt,
});

const decisionIdOf = (d: DeliveredNotification): string => (d.body as Notification).decisionId;

export const notifierContract = (name: string, traits: NotifierTraits, make: () => Promise<NotifierUnderTest> | NotifierUnderTest): void => {
  describe(`Notifier contract: ${name}`, () => {
    it('delivers a published notification as exactly its fields, with its decisionId to drop repeats by', async () => {
      const { notifier, delivered } = await make();
      const n = notification(1, { offerTitle: 'Bücher – 3 für 2 "quoted" \\ ✓', channel: 'push', decidedAt: 4_102_444_800_000 });
      await notifier.publish(n);
      const got = await delivered(1);
      expect(got).toHaveLength(1);
      expect(got[0]!.body).toStrictEqual(fieldsOf(n));
      expect(got[0]!.dedupId).toBe(n.decisionId);
    });

    it("passes on no field beyond the port's, whatever else the object carries (no personal data)", async () => {
      const { notifier, delivered } = await make();
      const n = notification(2);
      const smuggled = {
        ...n,
        email: 'ada@example.com',
        traits: { name: 'Ada Lovelace', phone: '+447700900123' },
        profile: { city: 'London' },
      } as Notification;
      await notifier.publish(smuggled);
      const [got] = await delivered(1);
      expect(got!.body).toStrictEqual(fieldsOf(n));
      expect(JSON.stringify(got)).not.toMatch(/ada@example|lovelace|447700900123|london|traits|profile/i);
    });

    it('publishes each decision at least once; a republished decision is dropped by its id, by the transport or the subscriber', async () => {
      const { notifier, delivered } = await make();
      const ns = [3, 4, 5].map((i) => notification(i));
      for (const n of ns) await notifier.publish(n);
      await notifier.publish(ns[0]!); // the relay publishes again after a lost acknowledgement
      const got = await delivered(traits.dropsRepeats ? 3 : 4);
      expect(got).toHaveLength(traits.dropsRepeats ? 3 : 4);
      for (const d of got) expect(d.dedupId).toBe(decisionIdOf(d));
      // what a subscriber keeps, in decision id order (standard SNS promises no order)
      const once = [...new Map(got.map((d) => [d.dedupId, d.body])).values()].sort((a, b) =>
        (a as Notification).decisionId < (b as Notification).decisionId ? -1 : 1,
      );
      expect(once).toStrictEqual(ns.map(fieldsOf));
    });

    if (traits.ordersPerCustomer) {
      it("delivers one customer's notifications in publish order, tenants and customers kept apart", async () => {
        const { notifier, delivered } = await make();
        // the same customer id in two tenants is two customers
        const a = (i: number) => notification(10 + i, { customerId: 'c-a' });
        const b = (i: number) => notification(20 + i, { customerId: 'c-b' });
        const other = (i: number) => notification(30 + i, { tenant: 'globex', customerId: 'c-a' });
        const order = [a(1), b(1), a(2), other(1), a(3), b(2), other(2), a(4)];
        for (const n of order) await notifier.publish(n);
        const got = await delivered(order.length);
        expect(got).toHaveLength(order.length);
        const of = (tenant: string, customerId: string) =>
          got.filter((d) => (d.body as Notification).tenant === tenant && (d.body as Notification).customerId === customerId);
        for (const [tenant, customerId, expected] of [
          ['acme', 'c-a', [a(1), a(2), a(3), a(4)]],
          ['acme', 'c-b', [b(1), b(2)]],
          ['globex', 'c-a', [other(1), other(2)]],
        ] as const) {
          expect(of(tenant, customerId).map(decisionIdOf)).toEqual(expected.map((n) => n.decisionId));
          // where the transport orders by group: one group per customer, none shared with another
          const groups = new Set(of(tenant, customerId).map((d) => d.group));
          expect(groups.size).toBe(1);
          const [group] = groups;
          if (group !== undefined) expect(got.filter((d) => d.group === group)).toHaveLength(expected.length);
        }
      });
    }

    it('throws when a notification is not acknowledged, delivers nothing for it, and delivers it when published again', async () => {
      const { notifier, delivered, failing } = await make();
      const n = notification(6);
      await expect(failing().publish(n)).rejects.toThrow();
      await notifier.publish(notification(7));
      expect((await delivered(1)).map(decisionIdOf)).toEqual([notification(7).decisionId]);
      await notifier.publish(n);
      const got = await delivered(2);
      expect(got.map(decisionIdOf).sort()).toEqual([notification(6).decisionId, notification(7).decisionId].sort());
    });
  });
};
