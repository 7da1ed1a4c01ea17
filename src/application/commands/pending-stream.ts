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

  /** Runs a command against the stream's current state and records what it decided. */
  run(command: CustomerCommand, stamp: EventStamp): readonly CustomerEvent[] {
    const events = decide(command, this.state);
    this.push(events, () => stamp);
    return events;
  }

  /** Records events as they are (adopted copies keep their original stamps). */
  push(events: readonly CustomerEvent[], stampOf: (i: number) => EventStamp): void {
    events.forEach((event, i) => {
      const r: RecordedEvent = {
        ...stampOf(i),
        eventId: this.eventIdFor(this.before.id, this.recorded.length),
        streamId: this.before.id,
        version: this.state.version + 1,
        event,
      };
      this.recorded.push(r);
      this.state = evolve(this.state, r);
    });
  }
}
