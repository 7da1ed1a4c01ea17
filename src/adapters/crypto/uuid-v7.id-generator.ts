import type { IdGenerator } from '../../application/ports/runtime.port.js';
import { takeRandom } from './random-pool.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const COUNTER_MAX = 0xfff;

/**
 * RFC 9562 UUIDv7. rand_a is a 12-bit counter (method 1) seeded randomly below 0x800 each new ms,
 * so ids from one generator are strictly increasing even within a millisecond or when the clock
 * steps back; on counter overflow the timestamp runs ahead by a millisecond, as the RFC allows.
 */
export class UuidV7Generator implements IdGenerator {
  private lastMs = -1;
  private counter = 0;

  constructor(private readonly now: () => number = Date.now) {}

  customerId(): string {
    return this.next();
  }

  newId(): string {
    return this.next();
  }

  private next(): string {
    const r = takeRandom(10);
    const now = this.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.counter = ((r[8]! << 8) | r[9]!) & 0x7ff;
    } else if (this.counter < COUNTER_MAX) {
      this.counter++;
    } else {
      this.lastMs++;
      this.counter = 0;
    }
    const ts = this.lastMs.toString(16).padStart(12, '0');
    const c = this.counter;
    return (
      `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${HEX[c >> 8]![1]}${HEX[c & 0xff]}-` +
      `${HEX[0x80 | (r[0]! & 0x3f)]}${HEX[r[1]!]}-${HEX[r[2]!]}${HEX[r[3]!]}${HEX[r[4]!]}${HEX[r[5]!]}${HEX[r[6]!]}${HEX[r[7]!]}`
    );
  }
}
