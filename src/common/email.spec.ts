import { normalizeEmail } from './email.js';

describe('normalizeEmail', () => {
  it('lower-cases and trims valid addresses', () => {
    expect(normalizeEmail('  Alice.Smith+tag@Example.COM ')).toBe('alice.smith+tag@example.com');
  });

  it.each([
    ['\u212Aate@example.com', 'KELVIN SIGN, which toLowerCase folds to k'],
    ['\u0130nes@example.com', 'I WITH DOT ABOVE'],
    ['kate@\u212Aexample.com', 'a folded letter in the domain'],
    ['k\u00e4te@example.com', 'a non-ASCII letter that does not fold'],
  ])('refuses %p (%s): it must never become another user\'s key', (input) => {
    expect(normalizeEmail(input)).toBeUndefined();
  });

  it.each([
    'a/b@example.com',
    '../x@example.com',
    'a..b@example.com',
    'a@example..com',
    'a\u0000b@example.com',
    'a\nb@example.com',
    'a\\b@example.com',
    'a%2f@example.com',
    'a b@example.com',
    'no-at-sign',
    '@example.com',
    'a@localhost',
    `${'x'.repeat(250)}@example.com`,
    42,
    undefined,
  ])('refuses %p so it never becomes an S3 key', (input) => {
    expect(normalizeEmail(input)).toBeUndefined();
  });
});
