import { normalizeEmail } from './email.js';

describe('normalizeEmail', () => {
  it('lower-cases and trims valid addresses', () => {
    expect(normalizeEmail('  Alice.Smith+tag@Example.COM ')).toBe('alice.smith+tag@example.com');
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
