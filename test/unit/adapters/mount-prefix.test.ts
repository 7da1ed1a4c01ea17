import { describe, expect, it } from 'vitest';
import { isMountPrefix, mountPrefixOf } from '../../../src/adapters/http/mount-prefix.js';
import { mountPrefix } from '../../../src/adapters/lambda/api.event.js';

// The mount prefix a page builds its links from: what the gateway stripped, and only path segments.

describe('the mount prefix', () => {
  it('is what the client path carries in front of the route path', () => {
    expect(mountPrefix('/prod/console/search', '/console/search')).toBe('/prod');
    expect(mountPrefix('/api/v2/console', '/console')).toBe('/api/v2');
    expect(mountPrefix('/console', '/console')).toBe('');
    expect(mountPrefix('/prod', '/')).toBe('/prod');
    expect(mountPrefix('/prod/', '/')).toBe('/prod');
  });

  it('is empty when the client path does not end with the route path, or the rest is not plain segments', () => {
    expect(mountPrefix('/prod/other', '/console')).toBe('');
    for (const odd of ['/../console', '/./console', '/a b/console', '//evil.example/console', '/a%2Fb/console', '/a"/console', 'prod/console'])
      expect(mountPrefix(odd, '/console'), odd).toBe('');
  });

  it('is read from the fetch env only in its shape, else empty', () => {
    expect(mountPrefixOf({ mountPrefix: '/prod' })).toBe('/prod');
    for (const env of [undefined, null, {}, { mountPrefix: 7 }, { mountPrefix: '//evil.example' }, { mountPrefix: '/prod/' }, { mountPrefix: 'https://x' }])
      expect(mountPrefixOf(env), JSON.stringify(env)).toBe('');
    expect(isMountPrefix('')).toBe(true);
    expect(isMountPrefix(`/${'a'.repeat(300)}`)).toBe(false);
  });
});
