import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

/**
 * JWT_ACCEPTED_SECRETS (HS256) and JWT_ACCEPTED_PUBLIC_KEYS (ES256): keys a replica accepts besides the one it signs
 * with, so the signing key can be rotated without logging anyone out (README, "Rotating the signing key"). They are
 * only ever used to verify and to open; tokens and sealed values are always made with JWT_SECRET / JWT_PRIVATE_KEY.
 *
 * Messages never contain a key: they name the entry by its position.
 */

/** HS256 secrets accepted when verifying, exactly as each was written in JWT_SECRET; or why the setting is refused. */
export function acceptedSecrets(raw: string): { secrets: string[] } | { problem: string } {
  // Split on commas only and kept exactly otherwise (no trimming): an accepted secret must be byte for byte the
  // JWT_SECRET another replica signs with, and a secret read from a file may well end with a newline.
  const entries = raw.split(',').filter((entry) => entry.trim() !== '');
  if (entries.length === 0) return { problem: 'lists no secret: leave it unset when no other key is accepted' };
  for (const [i, entry] of entries.entries()) {
    const which = `entry ${i + 1} of ${entries.length}`;
    if (/-----BEGIN /.test(entry)) {
      return { problem: `${which} is a PEM key, not an HS256 secret: bearer tokens here are HS256 (JWT_SECRET); ES256 keys go in JWT_ACCEPTED_PUBLIC_KEYS with JWT_PRIVATE_KEY` };
    }
    if (entry.length < 32) {
      return { problem: `${which} must be at least 32 bytes (HS256 key), like JWT_SECRET. Entries are separated by commas (a secret cannot contain one)` };
    }
  }
  return { secrets: [...new Set(entries)] };
}

/** One ES256 key of JWT_ACCEPTED_PUBLIC_KEYS. */
export interface AcceptedEcKey {
  /** The public key, SPKI PEM: verifies bearer tokens, published in the JWKS. */
  publicPem: string;
  /**
   * Present when the entry was the private key itself: the spellings JWT_PRIVATE_KEY may have had on a replica that
   * signs with it, from which that replica derived its flow cookie and seal keys (see derivationSpellings).
   */
  privateSpellings?: string[];
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/**
 * ES256 keys accepted when verifying: PEM public keys (`openssl ec -in key.pem -pubout`), or private keys (their
 * public part verifies bearers, and values sealed by a replica signing with them open too); or why refused.
 */
export function acceptedEcKeys(raw: string): { keys: AcceptedEcKey[] } | { problem: string } {
  const text = raw.replace(/\\n/g, '\n');
  const blocks = [...text.matchAll(PEM_BLOCK)];
  const rest = text.replace(PEM_BLOCK, '').replace(/[\s,]/g, '');
  if (blocks.length === 0 || rest !== '') {
    return { problem: 'must be one or more EC P-256 keys in PEM (-----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----, one after the other; newlines may be written as \\n), and nothing else' };
  }
  const keys: AcceptedEcKey[] = [];
  for (const [i, [block, label]] of blocks.entries()) {
    const which = `key ${i + 1} of ${blocks.length}`;
    let key: KeyObject;
    let isPrivate = false;
    try {
      isPrivate = label.includes('PRIVATE');
      key = isPrivate ? createPublicKey(createPrivateKey(block)) : createPublicKey(block);
    } catch {
      return { problem: `${which} does not read as an unencrypted PEM public (or private) key. Make the public key of a JWT_PRIVATE_KEY with \`openssl ec -in key.pem -pubout\`` };
    }
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
      return { problem: `${which} must be an EC P-256 key (ES256), this one is of type ${key.asymmetricKeyType}${curve ? ` (curve ${curve})` : ''}: bearer tokens here are ES256 (JWT_PRIVATE_KEY)` };
    }
    const publicPem = key.export({ type: 'spki', format: 'pem' }) as string;
    if (keys.some((k) => k.publicPem === publicPem)) continue;
    keys.push({ publicPem, ...(isPrivate ? { privateSpellings: derivationSpellings(block, blocks.length === 1 ? raw : undefined) } : {}) });
  }
  return { keys };
}

/**
 * The ways a PEM private key may have been written in JWT_PRIVATE_KEY on a replica that signs with it. That replica
 * derived its flow cookie and seal keys from the variable's text as written (config.schema.ts, `keyMaterial`; kept so,
 * or this very upgrade would have ended every sign-in in flight), so the same key written with real newlines or with
 * `\n`, with or without a final newline, gives other derived keys: each spelling is tried when opening.
 */
function derivationSpellings(block: string, wholeValue: string | undefined): string[] {
  const escaped = block.replace(/\n/g, '\\n');
  return [...new Set([...(wholeValue === undefined ? [] : [wholeValue]), block, `${block}\n`, escaped, `${escaped}\\n`])];
}

/** The sign-in flow cookie key derived from a JWT key's text (JWT_SECRET, or JWT_PRIVATE_KEY as written). */
export function flowCookieKeyOf(keyMaterial: string): Buffer {
  return createHash('sha256').update('oauth-flow-cookie\0').update(keyMaterial).digest();
}

/** The authorization server's seal key derived from a JWT key's text. */
export function sealKeyOf(keyMaterial: string): Buffer {
  return createHash('sha256').update('oauth-server-seal\0').update(keyMaterial).digest();
}
