import { randomUUID } from 'node:crypto';
import type { StoredEvent, StreamAppend } from '../application/ports/event-store.port.js';
import type { QuarantineEntry } from '../application/ports/quarantine.port.js';
import type { ViewDoc } from '../application/ports/read-model.port.js';
import { emptyView } from '../domain/projection/customer360.js';

// Realistic storage-format values for contract tests: what the codec would produce, with `pii`
// shaped like ciphertext and claim keys shaped like HMACs.

let seq = 0;
const fakeB64 = (n: number): string => Buffer.alloc(n, ++seq % 256).toString('base64url');

export const storedEvent = (tenant: string, streamId: string, version: number, overrides: Partial<StoredEvent> = {}): StoredEvent => ({
  tenant,
  streamId,
  version,
  eventId: randomUUID(),
  type: 'TraitsUpdated',
  v: 1,
  observedAt: 1_767_225_600_000 + version * 1000,
  recordedAt: 1_767_225_600_500 + version * 1000,
  source: 'web-sdk',
  sourcePriority: 10,
  channel: 'web',
  messageId: `msg-${randomUUID()}`,
  identifierKeys: [fakeB64(32)],
  data: { names: ['plan', 'firstName'], context: 'identify' },
  pii: `v1.${fakeB64(12)}.${fakeB64(48)}.${fakeB64(16)}`,
  ...overrides,
});

/** `count` consecutive events for one stream, starting after `expectedVersion`. */
export const append = (tenant: string, streamId: string, expectedVersion: number, count = 1, overrides: Partial<StoredEvent> = {}): StreamAppend => ({
  streamId,
  expectedVersion,
  events: Array.from({ length: count }, (_, i) => storedEvent(tenant, streamId, expectedVersion + i + 1, overrides)),
});

export const registered = (tenant: string, customerId: string): StreamAppend => ({
  streamId: customerId,
  expectedVersion: 0,
  events: [storedEvent(tenant, customerId, 1, { type: 'CustomerRegistered', data: { customerId, firstObservedAt: 1_767_225_600_000 }, pii: undefined })],
});

export const claimKey = (): string => fakeB64(32);

export const viewDoc = (customerId: string, version: number, applied: Record<string, number> = { [customerId]: version }): ViewDoc => ({
  kind: 'view',
  customerId,
  version,
  applied,
  view: { ...emptyView(customerId), eventCount: version, firstSeenAt: 1_767_225_600_000, lastSeenAt: 1_767_225_600_000 + version },
});

export const pointerDoc = (customerId: string, mergedInto: string, version: number): ViewDoc => ({
  kind: 'pointer',
  customerId,
  version,
  applied: { [customerId]: version },
  mergedInto,
});

export const quarantineEntry = (tenant: string, id: string, overrides: Partial<QuarantineEntry> = {}): QuarantineEntry => ({
  id,
  tenant,
  receivedAt: 1_767_225_600_000,
  source: 'http:/v1/identify',
  reason: {
    code: 'VALIDATION_FAILED',
    message: 'traits.email: Invalid email address',
    issues: [{ path: 'traits.email', message: 'Invalid email address' }],
  },
  payload: { type: 'identify', userId: 'u-1', traits: { email: 'not-an-email' }, messageId: `msg-${id}` },
  status: 'pending',
  ...overrides,
});
