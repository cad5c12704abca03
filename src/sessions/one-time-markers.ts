import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { AppConfig } from '../config/app-config.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';
import { StorageError } from '../storage/storage.errors.js';

/**
 * Values that may be used once across all replicas (sign-in `state`). A create-only S3 put decides who was
 * first. Objects live under `{S3_SESSION_PREFIX}used/`; an S3 lifecycle rule on that prefix (1 day) cleans them.
 */
@Injectable()
export class OneTimeMarkers {
  private readonly prefix: string;

  constructor(
    private readonly objects: JsonObjectRepository,
    config: AppConfig,
  ) {
    this.prefix = `${config.values.s3.sessionPrefix}used/`;
  }

  /** True the first time a value is claimed, false on every later claim (a replay). */
  async claim(kind: string, value: string): Promise<boolean> {
    const id = createHash('sha256').update(`${kind}\0${value}`).digest('base64url');
    try {
      await this.objects.put(`${this.prefix}${id}.json`, { kind, used_at: new Date().toISOString() }, { ifNoneMatch: '*' });
      return true;
    } catch (err) {
      if (err instanceof StorageError && err.code === 'conflict') return false;
      throw err;
    }
  }
}
