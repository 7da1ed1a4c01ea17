// Bounds on the numbers and times a call may carry. A value outside them is refused with the field
// named, never stored: an amount that overflows to Infinity or a timestamp in year 0 would poison
// sums and "earliest first observation survives" for good. Pure: `now` is an argument.

/** The earliest time a call may state: nothing this system holds was observed before 2000. */
export const OBSERVED_AT_FLOOR = Date.UTC(2000, 0, 1);
/** How far ahead of the time received a stated time may be (time-zone bugs stay within a day). */
export const MAX_CLOCK_SKEW_MS = 24 * 3_600_000;
/** Largest money amount (major units: revenue, total, price); minor units stay exact integers (10^4 x 10^9 < 2^53). */
export const MAX_AMOUNT = 1_000_000_000;
export const MAX_QUANTITY = 1_000_000;

// ISO 4217 codes (the active ones and a few recently replaced, as senders still use them)
const ISO_4217 = new Set(
  (
    'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF ' +
    'CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF ' +
    'IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU ' +
    'MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD ' +
    'SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST ' +
    'XAF XCD XCG XDR XOF XPF XSU XUA YER ZAR ZMW ZWG ZWL'
  ).split(' '),
);

/** The ISO 4217 code a sender meant (case and surrounding blanks forgiven), or undefined. */
export const currencyCode = (raw: string): string | undefined => {
  const code = raw.trim().toUpperCase();
  return ISO_4217.has(code) ? code : undefined;
};

// ISO 4217 minor units: the digits after the decimal point of each currency, 2 for every code not
// listed. Written out rather than read from Intl.NumberFormat: its digits are CLDR's display digits,
// which differ from ISO 4217 for some codes (IQD 0 there against ISO's 3, HUF and LBP 0 against 2).
// XDR, XSU and XUA have no minor unit in ISO 4217 ("N.A."); they keep 2, as before.
const MINOR_DIGITS: Readonly<Record<string, number>> = {
  ...Object.fromEntries('BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF'.split(' ').map((c) => [c, 0])),
  ...Object.fromEntries('BHD IQD JOD KWD LYD OMR TND'.split(' ').map((c) => [c, 3])),
  CLF: 4,
  UYW: 4,
};

/** The ISO 4217 minor-unit digits of a currency code (as `currencyCode` returns it): JPY 0, USD 2, BHD 3. */
export const minorDigits = (code: string): number => MINOR_DIGITS[code] ?? 2;

/**
 * A money amount (major units) as an integer count of the currency's minor units, or undefined when
 * it has more decimals than the currency has (1.5 JPY, 19.999 USD): refused, never rounded. Binary
 * floating point is forgiven: 19.99 x 100 is 1998.9999999999998, which is 1999 cents.
 */
export const toMinorUnits = (amount: number, digits: number): number | undefined => {
  const scale = 10 ** digits;
  const minor = Math.round(amount * scale);
  // the nearest count of minor units must give the amount back, up to one rounding error of a double
  // (a decimal as JSON reads it gives itself back exactly: both are the double nearest to it)
  return Math.abs(minor / scale - amount) <= Math.abs(amount) * Number.EPSILON ? minor : undefined;
};

/** An integer count of minor units as the decimal text of the major amount: 150 USD "1.50", 100 JPY "100", 1500 BHD "1.500". */
/** An integer count of minor units as the major amount: 150 USD 1.5, 100 JPY 100, 1500 BHD 1.5. */
export const fromMinorUnits = (minor: number, currency: string): number => minor / 10 ** minorDigits(currency);

export const formatMinorUnits = (minor: number, currency: string): string => fromMinorUnits(minor, currency).toFixed(minorDigits(currency));

/** Why a money amount (major units) is out of bounds, or undefined when it is fine. */
export const amountProblem = (n: number): string | undefined => {
  if (!Number.isFinite(n)) return 'must be a finite number';
  if (n < 0) return 'must not be negative';
  if (n > MAX_AMOUNT) return `must be at most ${MAX_AMOUNT}`;
  return undefined;
};

/** Why a quantity is out of bounds, or undefined when it is fine: a whole number (an order line counts units). */
export const quantityProblem = (n: number): string | undefined => {
  if (!Number.isFinite(n)) return 'must be a finite number';
  if (!Number.isInteger(n)) return 'must be a whole number';
  if (n < 0) return 'must not be negative';
  if (n > MAX_QUANTITY) return `must be at most ${MAX_QUANTITY}`;
  return undefined;
};

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;
/** Gregorian (proleptic): Date.UTC would read years 0-99 as 1900-1999, and 1900 was no leap year where 0 was */
const isLeapYear = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const daysIn = (year: number, month: number): number => (month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!);

/** An ISO 8601 date or date-time naming a day that exists (2024-02-30 does not) and a valid time of day. */
export const isCalendarDateTime = (s: string): boolean => {
  const m = ISO_DATE_TIME.exec(s);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return false;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59)) return false;
  return !Number.isNaN(isoTimeMs(s));
};

/**
 * The time an ISO 8601 date or date-time stands for, in ms since the epoch (NaN when it is none).
 * A date-time without an offset is read as UTC: Date.parse reads it in the process's time zone, so
 * the same call would be stored at another instant by a server or an import run elsewhere (a date
 * alone is UTC for Date.parse already).
 */
export const isoTimeMs = (s: string): number => {
  // nearly every time sent ends with Z or an offset: no pattern to run for those
  if (ENDS_WITH_OFFSET.test(s)) return Date.parse(s);
  const m = ISO_DATE_TIME.exec(s);
  if (m && m[4] !== undefined && m[7] === undefined) return Date.parse(`${s.slice(0, 10)}T${s.slice(11)}Z`);
  return Date.parse(s);
};

/** Z or an offset at the end (a date alone, `2025-01-01`, ends like one too, and is UTC for Date.parse all the same) */
const ENDS_WITH_OFFSET = /(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$/;

/** Why a stated time cannot be an observation time at `now`, or undefined when it can. */
export const observedAtProblem = (at: number, now: number): string | undefined => {
  if (at < OBSERVED_AT_FLOOR) return `must not be before ${new Date(OBSERVED_AT_FLOOR).toISOString()}`;
  if (at > now + MAX_CLOCK_SKEW_MS) return `must not be more than ${MAX_CLOCK_SKEW_MS / 3_600_000} h after the time received`;
  return undefined;
};
