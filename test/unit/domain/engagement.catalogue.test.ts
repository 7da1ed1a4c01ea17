import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCatalogue } from '../../../src/domain/engagement/offer.js';
import { ConfigError, loadConfig } from '../../../src/infrastructure/config.js';
import { loadOffers } from '../../../src/infrastructure/offers/offers.loader.js';
import { DomainError } from '../../../src/domain/shared/errors.js';

// The offer catalogue: validated at start-up, with errors that name the offer and the field.

const expectDomainError = (run: () => unknown, code: string, want: { message?: RegExp; path: (string | number)[] }): void => {
  let caught: unknown;
  try {
    run();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(DomainError);
  const e = caught as DomainError;
  expect(e.code).toBe(code);
  if (want.message) expect(e.message).toMatch(want.message);
  expect(e.path).toEqual(want.path);
};

const offer = (o: Record<string, unknown> = {}) => ({ id: 'o-1', title: 'An offer', interests: ['electronics'], channels: ['email'], ...o });

describe('offer catalogue', () => {
  it('parses offers with defaults: lower-cased interests, no places, priority 50, open validity', () => {
    const [o] = parseCatalogue({ offers: [offer({ interests: [' Electronics '] })] });
    expect(o).toMatchObject({ id: 'o-1', interests: ['electronics'], locations: [], priority: 50, validFromMs: undefined, validUntilMs: undefined });
  });

  it('names the offending offer by index and id, and the field', () => {
    const bad = (o: Record<string, unknown>, message: RegExp, path: (string | number)[]) =>
      expectDomainError(() => parseCatalogue({ offers: [offer(), offer({ id: 'o-2', ...o })] }), 'CONFIG_INVALID', { message, path });
    bad({ channels: ['carrier-pigeon'] }, /^offers\[1\] \(id "o-2"\)\.channels\[0\]: /, ['offers', 1, 'channels', 0]);
    bad({ channels: [] }, /^offers\[1\] \(id "o-2"\)\.channels: must name at least one of email, push, web, sms/, ['offers', 1, 'channels']);
    bad({ priority: 101 }, /offers\[1\] \(id "o-2"\)\.priority/, ['offers', 1, 'priority']);
    bad({ validFrom: '2026-02-01T00:00:00Z', validUntil: '2026-01-01T00:00:00Z' }, /offers\[1\] \(id "o-2"\)\.validUntil: must be after validFrom/, [
      'offers',
      1,
      'validUntil',
    ]);
    bad({ validFrom: 'next tuesday' }, /validFrom: must be an ISO 8601 date-time/, ['offers', 1, 'validFrom']);
    bad({ id: '__proto__' }, /offers\[1\] \(id "__proto__"\)\.id/, ['offers', 1, 'id']);
    bad({ id: 'o-1' }, /offers\[1\] \(id "o-1"\)\.id: "o-1" is already the id of offers\[0\]/, ['offers', 1, 'id']);
    bad({ surprise: true }, /offers\[1\] \(id "o-2"\)/, ['offers', 1]);
    expectDomainError(() => parseCatalogue({ offers: [{ title: 'no id' }] }), 'CONFIG_INVALID', { message: /^offers\[0\]\.id: /, path: ['offers', 0, 'id'] });
    expectDomainError(() => parseCatalogue([offer()]), 'CONFIG_INVALID', { path: ['offers'] });
  });

  it('ships a sample that covers the demo interests, electronics first among them, and Cape Town', () => {
    const offers = loadOffers(undefined);
    const interests = new Set(offers.flatMap((o) => o.interests));
    for (const i of ['electronics', 'books', 'fashion', 'home', 'sports', 'beauty', 'toys', 'grocery']) expect(interests).toContain(i);
    expect(offers.filter((o) => o.locations.includes('Cape Town')).length).toBeGreaterThan(0);
  });

  it('loads C360_OFFERS_FILE at start-up and refuses a bad one naming the variable, the file and the offer', () => {
    const dir = mkdtempSync(join(tmpdir(), 'c360-offers-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ offers: [offer({ id: 'only-one' })] }));
    expect(
      loadConfig({ C360_STORE: 'memory', C360_OFFERS_FILE: good })
        .offers?.()
        .map((o) => o.id),
    ).toEqual(['only-one']);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, JSON.stringify({ offers: [offer(), offer({ id: 'x-2', channels: ['fax'] })] }));
    expect(() => loadConfig({ C360_STORE: 'memory', C360_OFFERS_FILE: broken })).toThrow(ConfigError);
    expect(() => loadConfig({ C360_STORE: 'memory', C360_OFFERS_FILE: broken })).toThrow(
      /^C360_OFFERS_FILE: .*broken\.json: offers\[1\] \(id "x-2"\)\.channels\[0\]/,
    );
    expect(() => loadConfig({ C360_STORE: 'memory', C360_OFFERS_FILE: join(dir, 'missing.json') })).toThrow(/^C360_OFFERS_FILE: cannot read/);
    expect(loadConfig({ C360_STORE: 'memory', C360_ENGAGEMENT: 'off' }).offers).toBeUndefined();
  });
});
