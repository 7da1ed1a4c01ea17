import { CUSTOMER_EVENT_TYPES, type CustomerEvent } from './customer.events.js';

// Stored events are never rewritten. When a schema changes, its new version gets an upcaster here
// that lifts older stored shapes on read. Every shipped event is still at version 1.

type Raw = { readonly type: string; readonly v: number; readonly data: unknown; readonly pii?: unknown };
type Upcaster = (raw: Raw) => Raw;

const UPCASTERS: ReadonlyMap<string, Upcaster> = new Map();

export const LATEST_VERSION = 1;

const KNOWN_TYPES: ReadonlySet<string> = new Set(CUSTOMER_EVENT_TYPES);

/** Lifts a stored event to the current schema; an unknown type is an error, never a silent cast. */
export const upcast = (raw: Raw): CustomerEvent => {
  if (!KNOWN_TYPES.has(raw.type)) throw new Error(`unknown event type ${raw.type}`);
  let current = raw;
  for (let guard = 0; current.v < LATEST_VERSION && guard < 32; guard++) {
    const up = UPCASTERS.get(`${current.type}@${current.v}`);
    if (!up) throw new Error(`no upcaster for ${current.type} v${current.v}`);
    current = up(current);
  }
  return current as CustomerEvent;
};
