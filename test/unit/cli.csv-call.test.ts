import { describe, expect, it } from 'vitest';
import { CliError } from '../../src/adapters/cli/cli-error.js';
import { compileHeader, rowToCall } from '../../src/adapters/cli/csv-call.js';

describe('CSV columns to Segment call fields', () => {
  const columns = compileHeader('f.csv', [
    'type',
    'userId',
    'traits.email',
    'properties.revenue:number',
    'context.consent.categoryPreferences.Marketing:boolean',
    'properties.products:json',
  ]);

  it('nests dotted headers, keeps text as text and converts typed columns', () => {
    const out = rowToCall(columns, ['track', '00123', 'Ada@Example.com', '12.50', 'true', '[{"product_id":"p1"}]']);
    expect(out).toEqual({
      call: {
        type: 'track',
        userId: '00123',
        traits: { email: 'Ada@Example.com' },
        properties: { revenue: 12.5, products: [{ product_id: 'p1' }] },
        context: { consent: { categoryPreferences: { Marketing: true } } },
      },
    });
  });

  it('leaves empty cells out', () => {
    expect(rowToCall(columns, ['identify', 'u1', '', '', '', ''])).toEqual({ call: { type: 'identify', userId: 'u1' } });
  });

  it('names the field of every cell that does not fit its type', () => {
    const out = rowToCall(columns, ['track', 'u1', '', 'twelve', 'maybe', '{']);
    expect('issues' in out && out.issues.map((i) => i.path)).toEqual([
      'properties.revenue',
      'context.consent.categoryPreferences.Marketing',
      'properties.products',
    ]);
  });

  it.each([
    [['type', 'x:date'], /column 2 "x:date": unknown type "date"/],
    [['type', 'traits..email'], /column 2 "traits..email": not a field path/],
    [['type', '__proto__.polluted'], /not a field path/],
    [['type', 'userId', 'userId'], /names userId twice/],
    [['type', 'traits:json', 'traits.email'], /both traits and traits.email/],
    [['userId', 'event'], /no "type" column/],
  ])('refuses the header %j with a message naming the column', (header, message) => {
    expect(() => compileHeader('f.csv', header)).toThrow(CliError);
    expect(() => compileHeader('f.csv', header)).toThrow(message);
  });
});
