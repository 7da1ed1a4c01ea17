import { minorDigits } from '../shared/bounds.js';
import { CUSTOMER_EVENT_TYPES, type CustomerEvent } from './customer.events.js';

// Stored events are never rewritten. When a schema changes, its new version gets an upcaster here
// that lifts older stored shapes on read. Every shipped event is still at version 1; an OrderPlaced
// of the builds before ISO 4217 minor units (no `minorDigits`) is lifted in place (orderInMinorUnits),
// and so is the readable reason of a CustomerMerged or CustomerUnmerged of the builds before the
// reason went into `pii` (reasonInPii).

type Raw = { readonly type: string; readonly v: number; readonly data: unknown; readonly pii?: unknown };
type Upcaster = (raw: Raw) => Raw;

const UPCASTERS: ReadonlyMap<string, Upcaster> = new Map();

export const LATEST_VERSION = 1;

const KNOWN_TYPES: ReadonlySet<string> = new Set(CUSTOMER_EVENT_TYPES);

type Order = { revenueMinor: number; currency: string; minorDigits?: number; products: readonly { priceMinor?: number | undefined }[] };

/**
 * An OrderPlaced stored without `minorDigits` holds its amounts in hundredths whatever the currency
 * (the builds before ISO 4217 minor units): they are lifted to the currency's digits. Exact for a
 * currency of 2 or more digits (1234 hundredths of BHD are 12340 fils); in one of 0 digits an amount
 * those builds took with a fraction (10050 hundredths of JPY) reads as the nearest whole unit (101).
 */
const orderInMinorUnits = (raw: Raw): Raw => {
  const data = raw.data as Order;
  if (data.minorDigits !== undefined) return raw;
  const digits = minorDigits(data.currency);
  // hundredths are the minor units of most currencies: nothing to lift, nor an object to copy
  if (digits === 2) return raw;
  const lift = (hundredths: number): number => (digits >= 2 ? hundredths * 10 ** (digits - 2) : Math.round(hundredths / 10 ** (2 - digits)));
  const lifted: Order = {
    ...data,
    minorDigits: digits,
    revenueMinor: lift(data.revenueMinor),
    products: data.products.map((p) => (p.priceMinor === undefined ? p : { ...p, priceMinor: lift(p.priceMinor) })),
  };
  return { ...raw, data: lifted };
};

/**
 * A CustomerMerged (`data.evidence.reason`) or CustomerUnmerged (`data.reason`) stored by the builds
 * that kept an operator's reason readable: the reason is read where today's events hold it, in
 * `pii.reason`, and no longer in `data`, so every reader finds it in one place and nothing folded
 * from `data` (the aggregate, its snapshots) carries it. The stored event itself is unchanged.
 */
const reasonInPii = (raw: Raw): Raw => {
  const data = raw.data as { reason?: string; evidence?: { reason?: string } };
  const holder = raw.type === 'CustomerMerged' ? data.evidence : data;
  if (holder?.reason === undefined) return raw;
  const { reason, ...rest } = holder;
  const lifted = raw.type === 'CustomerMerged' ? { ...data, evidence: rest } : rest;
  const pii = (raw.pii ?? {}) as { reason?: string };
  return { ...raw, data: lifted, pii: { ...pii, reason: pii.reason ?? reason } };
};

/** Lifts a stored event to the current schema; an unknown type is an error, never a silent cast. */
export const upcast = (raw: Raw): CustomerEvent => {
  if (!KNOWN_TYPES.has(raw.type)) throw new Error(`unknown event type ${raw.type}`);
  if (raw.type === 'OrderPlaced' && raw.v === 1) raw = orderInMinorUnits(raw);
  else if ((raw.type === 'CustomerMerged' || raw.type === 'CustomerUnmerged') && raw.v === 1) raw = reasonInPii(raw);
  let current = raw;
  for (let guard = 0; current.v < LATEST_VERSION && guard < 32; guard++) {
    const up = UPCASTERS.get(`${current.type}@${current.v}`);
    if (!up) throw new Error(`no upcaster for ${current.type} v${current.v}`);
    current = up(current);
  }
  return current as CustomerEvent;
};
