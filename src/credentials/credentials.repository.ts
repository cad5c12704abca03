import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { normalizeEmail } from '../common/email.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';
import { StorageError } from '../storage/storage.errors.js';
import { CredentialsPatch, fromDocument, GoogleCredentials, mergeCredentials, toDocument } from './google-credentials.js';

const MAX_WRITE_ATTEMPTS = 8;

/** Users' Google credentials in S3, one `{S3_PREFIX}{email}.json` each. */
@Injectable()
export class CredentialsRepository {
  private readonly prefix: string;

  constructor(
    private readonly objects: JsonObjectRepository,
    config: AppConfig,
  ) {
    this.prefix = config.values.s3.credentialsPrefix;
  }

  /** The stored credentials of a user, or undefined. */
  async findByEmail(email: string): Promise<GoogleCredentials | undefined> {
    const stored = await this.objects.get(this.keyFor(email));
    return stored ? fromDocument(email, stored.value) : undefined;
  }

  /**
   * Merges `patch` into what is stored and writes it atomically: If-None-Match on create, If-Match on the ETag
   * read for updates. When another writer wins (412), re-reads, merges again and retries.
   */
  async save(email: string, patch: CredentialsPatch): Promise<GoogleCredentials> {
    const key = this.keyFor(email);
    for (let attempt = 1; ; attempt++) {
      const stored = await this.objects.get(key);
      const current = stored ? fromDocument(email, stored.value) : undefined;
      const merged = mergeCredentials(current, email, patch);
      try {
        await this.objects.put(key, toDocument(merged), stored ? { ifMatch: stored.etag } : { ifNoneMatch: '*' });
        return merged;
      } catch (err) {
        if (!(err instanceof StorageError && err.code === 'conflict') || attempt >= MAX_WRITE_ATTEMPTS) throw err;
        await jitter(attempt);
      }
    }
  }

  /** Deletes a user's credentials; already gone is fine. */
  async delete(email: string): Promise<void> {
    await this.objects.delete(this.keyFor(email));
  }

  private keyFor(email: string): string {
    // Second line of defence: callers normalise already, but nothing unvalidated ever becomes a key.
    const safe = normalizeEmail(email);
    if (!safe || safe !== email) throw new Error('refusing to build an S3 key from an unvalidated email');
    return `${this.prefix}${safe}.json`;
  }
}

function jitter(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
}
