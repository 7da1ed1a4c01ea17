import { z } from 'zod';

/**
 * What matching compares about one customer: personal fields, normalised. Every field is optional;
 * a field missing on either side of a pair says nothing (weight 0). Dates are YYYY-MM-DD.
 */
export const MatchRecord = z.object({
  givenName: z.string().optional(),
  surname: z.string().optional(),
  dateOfBirth: z.string().optional(),
  email: z.string().optional(),
  phone: z.string().optional(),
  street: z.string().optional(),
  postcode: z.string().optional(),
  city: z.string().optional(),
  /** a national id (social security or similar) where a tenant holds one */
  nationalId: z.string().optional(),
});
export type MatchRecord = z.infer<typeof MatchRecord>;
export type MatchField = keyof MatchRecord;

const text = (v: string | undefined): string | undefined => {
  const t = v
    ?.normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9@.+ ]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return t ? t : undefined;
};
const compact = (v: string | undefined): string | undefined => {
  const t = text(v)?.replace(/[ .]/g, '');
  return t ? t : undefined;
};
const digits = (v: string | undefined): string | undefined => {
  const d = v?.replace(/\D/g, '');
  return d ? d : undefined;
};
/** YYYY-MM-DD from YYYYMMDD, YYYY-MM-DD or an ISO timestamp (Segment's birthday) */
const isoDate = (v: string | undefined): string | undefined => {
  const m = v?.trim().match(/^(\d{4})-?(\d{2})-?(\d{2})(?:$|T)/);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
};
const email = (v: string | undefined): string | undefined => {
  const t = v?.trim().toLowerCase();
  return t?.includes('@') ? t : undefined;
};

/** Normalises raw values: case, accents, punctuation and spacing never decide a comparison. */
export const normaliseRecord = (raw: MatchRecord): MatchRecord => {
  const out: Record<string, string> = {};
  const put = (k: MatchField, v: string | undefined) => v !== undefined && (out[k] = v);
  put('givenName', compact(raw.givenName));
  put('surname', compact(raw.surname));
  put('dateOfBirth', isoDate(raw.dateOfBirth));
  put('email', email(raw.email));
  put('phone', digits(raw.phone));
  put('street', text(raw.street));
  put('postcode', compact(raw.postcode));
  put('city', text(raw.city));
  put('nationalId', compact(raw.nationalId));
  return out as MatchRecord;
};
