import { expect } from 'vitest';
import type { IngestOutcome } from '../../src/application/ingest/ingest.use-case.js';

// The data set every erasure proof uses: Alice (to be erased) arrives as three customers that
// later merge into one cluster; Bob and Carol stay, Bob as a merged pair too. Some of Alice's and
// Bob's calls are invalid and land in the quarantine, naming their emails.

// before the harnesses' clock (2026-01-01): calls may not be stamped more than a day ahead of receipt
const T0 = Date.UTC(2025, 11, 29, 9);
const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();

/** Alice's personal values, as sent (the proofs search them lower-cased, in any casing). */
export const ALICE = {
  userId: 'u-alice-7f3c91',
  email: 'Alice.Smithers@Example.com',
  otherEmail: 'a.smithers.private@mailbox-example.org',
  phone: '+44 20 7946 0958',
  phoneE164: '+442079460958',
  anonymousId: 'anon-alice-5d2e88',
  deviceId: 'dev-alice-c4b1aa',
  crmId: 'crm-alice-88421',
  name: 'Alice Smithers',
  nickname: 'Ally Smithers',
  street: '12 Quillfeather Lane',
  city: 'Marrowbridge',
  postalCode: 'MB7 3QX',
  ip: '198.51.100.231',
} as const;

export const aliceValues: readonly string[] = Object.values(ALICE);

export const BOB = {
  userId: 'u-bob-22aa',
  email: 'bob.builder@example.net',
  anonymousId: 'anon-bob-77',
  name: 'Bob Builder',
  street: '4 Girder Street',
} as const;
export const CAROL = { email: 'carol.c@example.com', phone: '+1 415 555 0133', name: 'Carol Chen' } as const;

type Call = Record<string, unknown>;

export const scenarioCalls = (): { readonly valid: readonly Call[]; readonly invalid: readonly Call[] } => {
  const a = ALICE;
  const address = { street: a.street, city: a.city, postalCode: a.postalCode };
  const valid: Call[] = [
    // three separate customers first
    { type: 'identify', messageId: 'm-a1', userId: a.userId, traits: { email: a.email, name: a.name, phone: a.phone, address }, timestamp: at(0) },
    {
      type: 'track',
      messageId: 'm-a2',
      anonymousId: a.anonymousId,
      event: 'Product Viewed',
      properties: { note: `for ${a.name}` },
      context: { ip: a.ip, device: { id: a.deviceId } },
      timestamp: at(1),
    },
    {
      type: 'identify',
      messageId: 'm-a3',
      anonymousId: 'anon-alice-second-91',
      traits: { email: a.otherEmail, name: a.nickname },
      context: { externalIds: [{ id: a.crmId, type: 'crm_id', collection: 'users', encoding: 'none' }] },
      timestamp: at(2),
    },
    {
      type: 'identify',
      messageId: 'm-b1',
      userId: BOB.userId,
      traits: { email: BOB.email, name: BOB.name, address: { street: BOB.street } },
      timestamp: at(3),
    },
    { type: 'track', messageId: 'm-b2', anonymousId: BOB.anonymousId, event: 'Signed Up', properties: { plan: 'pro' }, timestamp: at(4) },
    {
      type: 'identify',
      messageId: 'm-c1',
      traits: { email: CAROL.email, phone: CAROL.phone, name: CAROL.name },
      anonymousId: 'anon-carol-1',
      timestamp: at(5),
    },
    // merges: Alice's anonymous visitor, then her second email, join her user id; Bob's pair joins
    { type: 'page', messageId: 'm-a4', userId: a.userId, anonymousId: a.anonymousId, name: 'Checkout', context: { ip: a.ip }, timestamp: at(6) },
    { type: 'identify', messageId: 'm-a5', userId: a.userId, traits: { email: a.otherEmail }, timestamp: at(7) },
    {
      type: 'track',
      messageId: 'm-b3',
      userId: BOB.userId,
      anonymousId: BOB.anonymousId,
      event: 'Order Completed',
      properties: { orderId: 'o-b1', revenue: 12.5, currency: 'EUR' },
      timestamp: at(8),
    },
    {
      type: 'track',
      messageId: 'm-a6',
      userId: a.userId,
      event: 'Order Completed',
      properties: {
        orderId: 'o-a1',
        revenue: 99.9,
        currency: 'GBP',
        products: [{ product_id: 'p1', name: 'Quill', category: 'Stationery', price: 99.9, quantity: 1 }],
      },
      timestamp: at(9),
    },
    {
      type: 'track',
      messageId: 'm-c2',
      anonymousId: 'anon-carol-1',
      event: 'Newsletter Opened',
      context: { consent: { categoryPreferences: { Marketing: true } } },
      timestamp: at(10),
    },
  ];
  const invalid: Call[] = [
    { type: 'identify', messageId: 'm-qa1', userId: a.userId, traits: { email: a.email.toUpperCase(), name: a.name }, timestamp: 'yesterday-ish' },
    { type: 'track', messageId: 'm-qa2', anonymousId: 'x', event: '', properties: { contact: { email: ` ${a.otherEmail} ` } } },
    { type: 'identify', messageId: 'm-qb1', userId: BOB.userId, traits: { email: BOB.email }, timestamp: 'not a time' },
  ];
  return { valid, invalid };
};

export type Seeded = { readonly alice: readonly string[]; readonly aliceSurvivor: string; readonly others: readonly string[]; readonly quarantined: number };

/** Ingests the scenario; checks it really produced Alice's three-customer cluster and the quarantine. */
export const seedScenario = async (ingest: (call: Call) => Promise<IngestOutcome>): Promise<Seeded> => {
  const { valid, invalid } = scenarioCalls();
  const created = new Map<string, string>();
  let merges = 0;
  for (const call of valid) {
    const out = await ingest(call);
    expect(out.status, JSON.stringify(out)).toBe('accepted');
    if (out.status !== 'accepted') continue;
    if (out.created) created.set(String(call.messageId), out.customerId);
    merges += out.merged.length;
  }
  let quarantined = 0;
  for (const call of invalid) if ((await ingest(call)).status === 'quarantined') quarantined++;
  expect(quarantined).toBe(invalid.length);
  expect(merges).toBe(3);
  const alice = ['m-a1', 'm-a2', 'm-a3'].map((m) => created.get(m)!);
  const others = [...created.values()].filter((id) => !alice.includes(id));
  return { alice, aliceSurvivor: alice[0]!, others, quarantined };
};

/** A last name that only Alice's unparseable bodies carry: an erasure must take them whole. */
export const ALICE_MALFORMED_LAST_NAME = 'Vantablackwood-Smithers';

/**
 * Request bodies that do not parse as JSON (MALFORMED_JSON): three name Alice (by email, by phone
 * number, by user id under a single-quoted key), one names Bob and must stay.
 */
export const malformedBodies = (): { readonly alice: readonly string[]; readonly bob: readonly string[] } => ({
  alice: [
    `{"type":"identify","traits":{"email":"${ALICE.email.toUpperCase()}","lastName":"${ALICE_MALFORMED_LAST_NAME}"`,
    `{type: identify, traits: {phone: ${ALICE.phone}, lastName: ${ALICE_MALFORMED_LAST_NAME}}`,
    `{'userId': "${ALICE.userId}", "traits": {"lastName": "${ALICE_MALFORMED_LAST_NAME}",}}`,
  ],
  bob: [`{"type":"identify","userId":"${BOB.userId}","traits":{"email":"${BOB.email}","lastName":"Builder-Malformed"`],
});

/** Quarantines every malformed body as an unreadable request would; returns their entry ids. */
export const holdMalformed = async (
  hold: (raw: string) => Promise<string>,
): Promise<{ readonly alice: readonly string[]; readonly bob: readonly string[] }> => {
  const bodies = malformedBodies();
  for (const raw of [...bodies.alice, ...bodies.bob]) expect(() => JSON.parse(raw)).toThrow();
  const alice: string[] = [];
  for (const raw of bodies.alice) alice.push(await hold(raw));
  const bob: string[] = [];
  for (const raw of bodies.bob) bob.push(await hold(raw));
  return { alice, bob };
};

export const MALFORMED_REASON = { code: 'MALFORMED_JSON', message: 'not valid JSON', issues: [{ path: '(root)', message: 'not valid JSON' }] } as const;

/**
 * What operators wrote as the reasons of a manual unmerge and merge of Alice's cluster: free text
 * naming her (an email and a phone number of hers, never sent as an identifier). Personal data.
 */
export const ALICE_REASONS = {
  email: 'alice.reason-callback@example.org',
  phone: '+44 20 7946 0777',
  unmerge: 'Alice phoned from +44 20 7946 0777: not her device, alice.reason-callback@example.org',
  merge: 'Alice wrote from alice.reason-callback@example.org: it is her device after all',
} as const;
export const aliceReasonValues: readonly string[] = Object.values(ALICE_REASONS);

type Identity = {
  merge(tenant: string, a: string, b: string, o: { actor: string; reason?: string; force?: boolean }): Promise<{ survivorId: string; absorbedId: string }>;
  unmerge(tenant: string, id: string, mergeId: string, o: { actor: string; reason?: string }): Promise<{ restoredId: string }>;
};

/**
 * Undoes one of the merges of Alice's cluster and merges it back by hand, each with a reason that
 * names her: her cluster is the same three customers afterwards.
 */
export const reasonsOnAlice = async (
  identity: Identity,
  mergesOf: (id: string) => Promise<readonly string[]>,
  tenant: string,
  seeded: Seeded,
): Promise<void> => {
  const mergeId = (await mergesOf(seeded.aliceSurvivor))[0]!;
  const undone = await identity.unmerge(tenant, seeded.aliceSurvivor, mergeId, { actor: 'ops', reason: ALICE_REASONS.unmerge });
  const merged = await identity.merge(tenant, seeded.aliceSurvivor, undone.restoredId, { actor: 'ops', reason: ALICE_REASONS.merge, force: true });
  expect(merged.survivorId).toBe(seeded.aliceSurvivor);
};
