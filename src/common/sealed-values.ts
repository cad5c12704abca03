import { EncryptJWT, jwtDecrypt } from 'jose';

/** What a sealed value is for; a value sealed for one purpose is refused for any other. */
export type SealPurpose = 'consent-form' | 'resume' | 'declined' | 'remembered-user' | 'sign-in-handoff';

/**
 * Values the service hands to the browser and must get back unchanged and unread (the pending request in the
 * consent form, the tickets back from the Google sign-in, the remembered-user cookie, the sign-in handoff link):
 * encrypted and authenticated (JWE, AES-256-GCM) with a key every replica derives alike from its configuration.
 */
export class SealedValues {
  constructor(private readonly key: Uint8Array) {}

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
    try {
      const { payload } = await jwtDecrypt(sealed, this.key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
      return payload.p === purpose ? (payload as unknown as T) : undefined;
    } catch {
      return undefined;
    }
  }
}
