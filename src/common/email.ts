import { BadRequestError } from './domain-error.js';

// Deliberately stricter than RFC 5321: the address becomes part of an S3 key, so anything that could change the
// key's meaning (slashes, backslashes, "..", control characters, whitespace, percent-encoding) is refused.
const EMAIL = /^[a-z0-9!#$&'*+=?^_`{|}~-]+(?:\.[a-z0-9!#$&'*+=?^_`{|}~-]+)*@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** Lower-cases and validates an email address; undefined when it is not a safe, well-formed address. */
export function normalizeEmail(input: unknown): string | undefined {
  if (typeof input !== 'string') return undefined;
  const trimmed = input.trim();
  // ASCII is checked before lower-casing: toLowerCase folds some non-ASCII letters into ASCII ones (U+212A KELVIN
  // SIGN becomes "k"), so "\u212Aate@example.com" would turn into kate@example.com and reach Kate's S3 key.
  if (!/^[\x21-\x7e]*$/.test(trimmed)) return undefined;
  const email = trimmed.toLowerCase();
  if (email.length < 3 || email.length > 254) return undefined;
  if (!EMAIL.test(email)) return undefined;
  return email;
}

/** Like normalizeEmail, but throws a 400 naming the field. */
export function normalizeEmailOrThrow(input: unknown, field = 'email'): string {
  const email = normalizeEmail(input);
  if (!email) {
    throw new BadRequestError(`"${field}" is not a valid email address (letters, digits and . _ + - only; no "/", ".." or control characters).`, 'invalid_email');
  }
  return email;
}
