import { expect } from 'vitest';
import { decide, type CustomerCommand } from '../../src/domain/customer/customer.decider.js';
import type { CustomerEvent, EventMeta, EventOf, RecordedEvent } from '../../src/domain/customer/customer.events.js';
import { evolve, initialState, type CustomerState } from '../../src/domain/customer/customer.state.js';
import type { KeyedIdentifier } from '../../src/domain/identity/identifier.js';
import { DomainError, type ErrorCode } from '../../src/domain/shared/errors.js';

// Given/when/then for the Customer decider, after Emmett's DeciderSpecification: the given events
// are recorded with meta on one stream, folded with `evolve`, and the command is decided on that.

export const T0 = Date.UTC(2026, 0, 1);
export const MINUTE = 60_000;
export const DAY = 86_400_000;

/** One recorded event on `streamId`; meta defaults are deterministic so folds are reproducible. */
export const recorded = (streamId: string, version: number, event: CustomerEvent, meta: Partial<EventMeta> = {}): RecordedEvent => ({
  eventId: `${streamId}-e${version}`,
  streamId,
  version,
  observedAt: T0 + version * MINUTE,
  source: 'test',
  sourcePriority: 10,
  channel: 'web',
  ...meta,
  event,
});

/** Records `events` as versions from+1.. of `streamId`. */
export const recordAll = (streamId: string, events: readonly CustomerEvent[], from = 0): RecordedEvent[] =>
  events.map((e, i) => recorded(streamId, from + i + 1, e));

const streamIdOf = (events: readonly CustomerEvent[]): string => {
  const first = events.find((e): e is EventOf<'CustomerRegistered'> => e.type === 'CustomerRegistered');
  return first?.data.customerId ?? 'c-1';
};

export const stateOf = (events: readonly CustomerEvent[], streamId = streamIdOf(events)): CustomerState =>
  recordAll(streamId, events).reduce(evolve, initialState(streamId));

const thrown = (run: () => unknown): unknown => {
  try {
    run();
  } catch (e) {
    return e;
  }
  return undefined;
};

export const given = (events: readonly CustomerEvent[], streamId = streamIdOf(events)) => {
  const state = stateOf(events, streamId);
  return {
    state,
    when: (command: CustomerCommand) => {
      const run = () => decide(command, state);
      return {
        then: (expected: readonly CustomerEvent[]): void => {
          expect(run()).toEqual(expected);
        },
        thenThrows: (code: ErrorCode, details?: Readonly<Record<string, unknown>>): void => {
          const error = thrown(run);
          expect(error, `expected ${code} to be thrown`).toBeInstanceOf(DomainError);
          expect((error as DomainError).code).toBe(code);
          if (details) expect((error as DomainError).details).toMatchObject(details);
        },
        thenNothing: (): void => {
          expect(run()).toEqual([]);
        },
      };
    },
  };
};

// Event and identifier builders shared by the domain tests.

export const keyed = (type: string, value: string): KeyedIdentifier => ({ type, value, key: `${type}:${value}` });

export const registered = (customerId: string, firstObservedAt = T0): EventOf<'CustomerRegistered'> => ({
  type: 'CustomerRegistered',
  v: 1,
  data: { customerId, firstObservedAt },
});

export const linked = (id: KeyedIdentifier, observedAt = T0): EventOf<'IdentifierLinked'> => ({
  type: 'IdentifierLinked',
  v: 1,
  data: { type: id.type, key: id.key, observedAt },
  pii: { value: id.value },
});
