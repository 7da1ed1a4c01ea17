import { readFileSync } from 'node:fs';
import { parseCatalogue, type Offer } from '../../domain/engagement/offer.js';
import { DomainError } from '../../domain/shared/errors.js';
import sample from './sample-offers.json' with { type: 'json' };

// The offer catalogue at start-up: C360_OFFERS_FILE when set, else the sample shipped here
// (common retail interests, and offers for Cape Town, Johannesburg, London and New York). Imported
// rather than read from disk, so it is inside every bundle.

export class OffersError extends Error {
  override readonly name = 'OffersError';
}

export const SAMPLE_OFFERS: unknown = sample;

/** Throws OffersError naming the file, the offer (index and id) and the field. */
export const loadOffers = (file: string | undefined): readonly Offer[] => {
  if (file === undefined) return parseCatalogue(SAMPLE_OFFERS);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new OffersError(`cannot read ${file} as JSON (${(e as Error).message})`);
  }
  try {
    return parseCatalogue(raw);
  } catch (e) {
    if (e instanceof DomainError) throw new OffersError(`${file}: ${e.message}`);
    throw e;
  }
};
