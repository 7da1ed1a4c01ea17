import { describe, expect, it } from '../vitest.js';
import type { IdentityChange, IdentityFeed } from '../../application/ports/identity-feed.port.js';

// What every IdentityFeed promises (src/application/ports/identity-feed.port.ts): merges, unmerges
// and erasures, each as its own fields only (ids, type, time: no personal data); at least once,
// each change carrying its id so subscribers drop repeats; publish resolves once every change is
// acknowledged and throws otherwise (the projection delivers them again). Each runner says how a
// subscriber sees what was published: the message body, the id it de-duplicates by and, where the
// transport keeps order, the ordering group.

/** One message as a subscriber receives it. */
export type DeliveredChange = {
  /** the message body, parsed */
  readonly body: unknown;
  /** what a subscriber drops repeats by */
  readonly dedupId: string | undefined;
  /** the ordering group, on transports that order within groups (SNS FIFO) */
  readonly group?: string | undefined;
};

export type IdentityFeedUnderTest = {
  readonly feed: IdentityFeed;
  /** what subscribers got so far: waits until at least `count` messages arrived, then shows any more on the way */
  delivered(count: number): Promise<DeliveredChange[]>;
  /** a feed on the same subscribers whose next publish is not acknowledged (the transport is unreachable) */
  failing(): IdentityFeed;
};

export type IdentityFeedTraits = {
  /** one tenant's changes are delivered in publish order (memory, SNS FIFO); standard SNS promises no order */
  readonly ordersPerTenant: boolean;
};

const T0 = 1_767_225_600_000;
const id = (prefix: string, n: number) => `${prefix}-0197c000-0000-7000-8000-${String(n).padStart(12, '0')}`;

export const mergedChange = (n: number, tenant = 'acme'): IdentityChange => ({
  id: id('ev', n),
  tenant,
  type: 'merged',
  at: T0 + n,
  survivorId: id('cs', n),
  absorbedId: id('ca', n),
  mergeId: id('mg', n),
});
export const unmergedChange = (n: number, tenant = 'acme'): IdentityChange => ({
  id: id('ev', n),
  tenant,
  type: 'unmerged',
  at: T0 + n,
  survivorId: id('cs', n),
  restoredId: id('ca', n),
  mergeId: id('mg', n),
});
export const erasedChange = (n: number, tenant = 'acme'): IdentityChange => ({
  id: id('ev', n),
  tenant,
  type: 'erased',
  at: T0 + n,
  customerId: id('c', n),
  erasureId: id('er', n),
});

/** The change's own fields and nothing else, as a subscriber should see them. */
const fieldsOf = (c: IdentityChange): IdentityChange => {
  const base = { id: c.id, tenant: c.tenant, at: c.at };
  switch (c.type) {
    case 'merged':
      return { ...base, type: c.type, survivorId: c.survivorId, absorbedId: c.absorbedId, mergeId: c.mergeId };
    case 'unmerged':
      return { ...base, type: c.type, survivorId: c.survivorId, restoredId: c.restoredId, mergeId: c.mergeId };
    case 'erased':
      return { ...base, type: c.type, customerId: c.customerId, erasureId: c.erasureId };
  }
};

const idOf = (d: DeliveredChange): string => (d.body as IdentityChange).id;
/** What a subscriber that drops repeats by id keeps, in first-delivered order. */
const once = (got: readonly DeliveredChange[]) => [...new Map(got.map((d) => [d.dedupId, d.body])).values()];
/** Bodies in id order, to compare as a set (standard SNS promises no order). */
const byId = (xs: readonly unknown[]) => [...xs].sort((a, b) => ((a as IdentityChange).id < (b as IdentityChange).id ? -1 : 1));

export const identityFeedContract = (name: string, traits: IdentityFeedTraits, make: () => Promise<IdentityFeedUnderTest> | IdentityFeedUnderTest): void => {
  describe(`IdentityFeed contract: ${name}`, () => {
    it('delivers each change (merged, unmerged, erased) as exactly its fields, with its id to drop repeats by', async () => {
      const { feed, delivered } = await make();
      const changes = [mergedChange(1), unmergedChange(2), erasedChange(3, 'globex')];
      await feed.publish(changes);
      const got = await delivered(3);
      expect(got).toHaveLength(3);
      for (const d of got) expect(d.dedupId).toBe(idOf(d));
      expect(byId(got.map((d) => d.body))).toStrictEqual(byId(changes.map(fieldsOf)));
    });

    it("passes on no field beyond the change's, whatever else the object carries (no personal data)", async () => {
      const { feed, delivered } = await make();
      const evidence = { rule: 'shared-identifier', identifiers: [{ type: 'email', value: 'ada@example.com' }] };
      const smuggled = [
        { ...mergedChange(4), email: 'ada@example.com', evidence },
        { ...erasedChange(5), traits: { name: 'Ada Lovelace', phone: '+447700900123' } },
      ] as unknown as IdentityChange[];
      await feed.publish(smuggled);
      const got = await delivered(2);
      expect(got).toHaveLength(2);
      expect(byId(got.map((d) => d.body))).toStrictEqual(byId([fieldsOf(mergedChange(4)), fieldsOf(erasedChange(5))]));
      expect(JSON.stringify(got)).not.toMatch(/ada@example|lovelace|447700900123|evidence|traits/i);
    });

    it('delivers every change of a large publish; a change repeated, in the call or later, is dropped by its id', async () => {
      const { feed, delivered } = await make();
      const changes = Array.from({ length: 23 }, (_, i) =>
        i % 3 === 0 ? mergedChange(100 + i) : i % 3 === 1 ? unmergedChange(100 + i) : erasedChange(100 + i),
      );
      // a redelivered event within one call, then the whole first part again
      await feed.publish([...changes, changes[4]!]);
      await feed.publish(changes.slice(0, 5));
      const got = await delivered(changes.length);
      expect(got.length).toBeGreaterThanOrEqual(changes.length);
      expect(got.length).toBeLessThanOrEqual(changes.length + 6);
      for (const d of got) expect(d.dedupId).toBe(idOf(d));
      expect(byId(once(got))).toStrictEqual(byId(changes.map(fieldsOf)));
    });

    it('an empty publish resolves and delivers nothing', async () => {
      const { feed, delivered } = await make();
      await feed.publish([]);
      await feed.publish([erasedChange(7)]);
      expect((await delivered(1)).map(idOf)).toEqual([erasedChange(7).id]);
    });

    if (traits.ordersPerTenant) {
      it("delivers one tenant's changes in publish order, tenants kept apart", async () => {
        const { feed, delivered } = await make();
        const acme = [mergedChange(201), unmergedChange(202), mergedChange(203), erasedChange(204)];
        const globex = [mergedChange(301, 'globex'), erasedChange(302, 'globex')];
        await feed.publish([acme[0]!, globex[0]!, acme[1]!]);
        await feed.publish([acme[2]!, globex[1]!, acme[3]!]);
        const got = await delivered(6);
        expect(got).toHaveLength(6);
        for (const [tenant, expected] of [
          ['acme', acme],
          ['globex', globex],
        ] as const) {
          const mine = got.filter((d) => (d.body as IdentityChange).tenant === tenant);
          expect(mine.map(idOf)).toEqual(expected.map((c) => c.id));
          const groups = new Set(mine.map((d) => d.group));
          expect(groups.size).toBe(1);
          const [group] = groups;
          if (group !== undefined) expect(got.filter((d) => d.group === group)).toHaveLength(expected.length);
        }
      });
    }

    it('throws when changes are not acknowledged, delivers nothing for them, and delivers them when published again', async () => {
      const { feed, delivered, failing } = await make();
      const lost = [mergedChange(401), erasedChange(402)];
      await expect(failing().publish(lost)).rejects.toThrow();
      await feed.publish([unmergedChange(403)]);
      expect((await delivered(1)).map(idOf)).toEqual([unmergedChange(403).id]);
      await feed.publish(lost);
      const got = await delivered(3);
      expect(got.map(idOf).sort()).toEqual([...lost, unmergedChange(403)].map((c) => c.id).sort());
    });
  });
};
