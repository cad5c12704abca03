import { Injectable } from '@nestjs/common';
import { EncryptJWT, jwtDecrypt } from 'jose';
import { AppConfig } from '../config/app-config.js';

/** What a sealed value is for; a value sealed for one purpose is refused for any other. */
export type SealPurpose = 'consent-form' | 'resume' | 'remembered-user';

/**
 * Values the authorization server hands to the browser and must get back unchanged and unread (the pending
 * request in the consent form, the ticket back from the Google sign-in, the remembered-user cookie): encrypted and
 * authenticated (JWE, AES-256-GCM) with a key derived from the JWT key, so every replica can open them.
 */
@Injectable()
export class SealedValues {
  private readonly key: Uint8Array;

  constructor(config: AppConfig) {
    this.key = new Uint8Array(config.values.oauth.sealKey);
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
    try {
      const { payload } = await jwtDecrypt(sealed, this.key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
      return payload.p === purpose ? (payload as unknown as T) : undefined;
    } catch {
      return undefined;
    }
  }
}
