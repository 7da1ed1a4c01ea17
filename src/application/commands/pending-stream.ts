import { decide, type CustomerCommand } from '../../domain/customer/customer.decider.js';
import type { CustomerEvent, RecordedEvent } from '../../domain/customer/customer.events.js';
import { evolve, type CustomerState } from '../../domain/customer/customer.state.js';

// A decision's working copy of one customer stream: runs commands against its current state and
// records what they decided (meta, ids, versions). The command pipeline encrypts and commits it.

export type EventStamp = Omit<RecordedEvent, 'event' | 'streamId' | 'version' | 'eventId'>;

export class PendingStream {
  readonly recorded: RecordedEvent[] = [];
  private state: CustomerState;

  constructor(
    readonly before: CustomerState,
    private readonly eventIdFor: (streamId: string, index: number) => string,
  ) {
    this.state = before;
  }

  get current(): CustomerState {
    return this.state;
  }

  /**
   * Runs a command against the stream's current state and records what it decided. `ids`: the
   * events' ids by their index in this run, instead of the stream's own scheme.
   */
  run(command: CustomerCommand, stamp: EventStamp, ids?: (index: number) => string): readonly CustomerEvent[] {
    const events = decide(command, this.state);
    this.push(events, () => stamp, ids);
    return events;
  }

  /** Records events as they are (adopted copies keep their original stamps). */
  push(events: readonly CustomerEvent[], stampOf: (i: number) => EventStamp, ids?: (index: number) => string): void {
    events.forEach((event, i) => {
      const r: RecordedEvent = {
        ...stampOf(i),
        eventId: ids ? ids(i) : this.eventIdFor(this.before.id, this.recorded.length),
        streamId: this.before.id,
        version: this.state.version + 1,
        event,
      };
      this.recorded.push(r);
      this.state = evolve(this.state, r);
    });
  }

  /** A way back to what the stream holds now: undoes whatever is recorded after this call. */
  mark(): () => void {
    const length = this.recorded.length;
    const state = this.state;
    return () => {
      this.recorded.length = length;
      this.state = state;
    };
  }
}
