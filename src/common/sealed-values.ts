import { EncryptJWT, jwtDecrypt } from 'jose';

/** What a sealed value is for; a value sealed for one purpose is refused for any other. */
export type SealPurpose = 'consent-form' | 'resume' | 'declined' | 'remembered-user' | 'sign-in-handoff';

/**
 * Values the service hands to the browser and must get back unchanged and unread (the pending request in the
 * consent form, the tickets back from the Google sign-in, the remembered-user cookie, the sign-in handoff link):
 * encrypted and authenticated (JWE, AES-256-GCM) with a key every replica derives alike from its configuration.
 */
export class SealedValues {
  private readonly keys: Uint8Array[];

  /**
   * `key` seals and opens; `acceptedKeys` (derived from JWT_ACCEPTED_SECRETS / JWT_ACCEPTED_PUBLIC_KEYS) only open:
   * while the signing key is rotated, a value sealed by a replica on the other key still opens here.
   */
  constructor(
    private readonly key: Uint8Array,
    acceptedKeys: readonly Uint8Array[] = [],
  ) {
    this.keys = [key, ...acceptedKeys];
  }

  /** Seals a JSON payload for one purpose, valid for `ttlSeconds`. */
  seal(purpose: SealPurpose, payload: Record<string, unknown>, ttlSeconds: number): Promise<string> {
    return new EncryptJWT({ ...payload, p: purpose })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .encrypt(this.key);
  }

  /** Opens a sealed value of the given purpose; undefined when forged, expired, or sealed for something else. */
  async open<T extends Record<string, unknown>>(purpose: SealPurpose, sealed: unknown): Promise<T | undefined> {
    if (typeof sealed !== 'string' || sealed.length === 0 || sealed.length > 8192) return undefined;
    const payload = await openWithAny(sealed, this.keys);
    return payload?.p === purpose ? (payload as unknown as T) : undefined;
  }
}

/**
 * A JWE (dir, A256GCM) opened with the first of `keys` that decrypts it: the current key first, so a value sealed
 * with it costs one attempt as it always did; the accepted keys only for what they sealed (or for forgeries, which
 * fail on each). Undefined when none decrypts it, or it has expired (checked once it is decrypted).
 */
export async function openWithAny(sealed: string, keys: readonly Uint8Array[]): Promise<Record<string, unknown> | undefined> {
  for (const key of keys) {
    try {
      return (await jwtDecrypt(sealed, key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] })).payload;
    } catch (err) {
      // Decrypted but refused (expired, malformed claims): no other key would do better.
      if ((err as { code?: string }).code !== 'ERR_JWE_DECRYPTION_FAILED') return undefined;
    }
  }
  return undefined;
}
