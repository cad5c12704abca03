import { createHash } from 'node:crypto';

/** SHA-256 of a string as base64url: the one digest the service keys S3 objects and compares secrets by. */
export function sha256Url(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
