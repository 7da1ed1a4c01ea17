import { z } from 'zod';
import { DomainError } from '../shared/errors.js';

// The offer catalogue: what engagement may propose, to whom (interests, places), on which delivery
// channels and when. Loaded once at start-up; a bad catalogue fails the start with an error that
// names the offer (index and id) and the field, never at decision time.

export const DELIVERY_CHANNELS = ['email', 'push', 'web', 'sms'] as const;
export type DeliveryChannel = (typeof DELIVERY_CHANNELS)[number];

/** Offers are marketing: every delivery channel needs the `marketing` purpose granted. */
export const CHANNEL_PURPOSE: Readonly<Record<DeliveryChannel, string>> = { email: 'marketing', push: 'marketing', web: 'marketing', sms: 'marketing' };

// built on first parse, not at import (a Lambda's cold start builds no schema it does not use)
const offerSchema = () => {
  const IsoTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time such as 2026-01-31T00:00:00Z' });
  const Label = z.string().trim().min(1, 'must not be empty').max(100);

  const Offer = z
    .strictObject({
      // starts with a letter or digit: ids become record keys in the 360 view
      id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, 'must be 1-64 letters, digits, _ . : - (starting with a letter or digit)'),
      title: z.string().trim().min(1, 'must not be empty').max(200),
      /** lower-cased, as ingest records interests and product categories */
      interests: z
        .array(Label.transform((s) => s.toLowerCase()))
        .max(50)
        .default([]),
      /** city, region or country names (case-insensitive); empty: anywhere */
      locations: z.array(Label).max(50).default([]),
      channels: z.array(z.enum(DELIVERY_CHANNELS)).min(1, `must name at least one of ${DELIVERY_CHANNELS.join(', ')}`),
      validFrom: IsoTime.optional(),
      validUntil: IsoTime.optional(),
      /** 0..100, breaks near-ties between equally relevant offers */
      priority: z.number().int().min(0).max(100).default(50),
    })
    .refine((o) => o.validFrom === undefined || o.validUntil === undefined || Date.parse(o.validFrom) < Date.parse(o.validUntil), {
      message: 'must be after validFrom',
      path: ['validUntil'],
    })
    .transform((o) => ({
      ...o,
      validFromMs: o.validFrom === undefined ? undefined : Date.parse(o.validFrom),
      validUntilMs: o.validUntil === undefined ? undefined : Date.parse(o.validUntil),
    }));
  return Offer;
};
export const Offer = z.lazy(offerSchema);
export type Offer = z.infer<ReturnType<typeof offerSchema>>;
export type OfferInput = z.input<ReturnType<typeof offerSchema>>;

const fieldPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');

/**
 * `{ "offers": [...] }` into validated offers. Throws CONFIG_INVALID naming the first offending
 * offer by index and id, and the field, e.g. `offers[3] (id "cpt-braai").channels: ...`.
 */
export const parseCatalogue = (raw: unknown): readonly Offer[] => {
  const shape = z.object({ offers: z.array(z.unknown()) }).safeParse(raw);
  if (!shape.success) throw new DomainError('CONFIG_INVALID', 'the offer catalogue must be an object with an "offers" array', ['offers']);
  const seen = new Map<string, number>();
  return shape.data.offers.map((candidate, index) => {
    const id =
      typeof candidate === 'object' && candidate !== null && typeof (candidate as { id?: unknown }).id === 'string'
        ? (candidate as { id: string }).id
        : undefined;
    const who = `offers[${index}]${id === undefined ? '' : ` (id "${id}")`}`;
    const parsed = Offer.safeParse(candidate);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = fieldPath(issue.path);
      throw new DomainError(
        'CONFIG_INVALID',
        `${who}${field ? `.${field}` : ''}: ${issue.message}`,
        ['offers', index, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))],
        { offerId: id },
      );
    }
    const first = seen.get(parsed.data.id);
    if (first !== undefined)
      throw new DomainError(
        'CONFIG_INVALID',
        `${who}.id: "${parsed.data.id}" is already the id of offers[${first}]; ids must be unique`,
        ['offers', index, 'id'],
        { offerId: id },
      );
    seen.set(parsed.data.id, index);
    return parsed.data;
  });
};
