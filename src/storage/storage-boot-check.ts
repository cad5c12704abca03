import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { JsonObjectRepository } from './json-object.repository.js';
import { StorageError } from './storage.errors.js';

/**
 * At start-up, checks the bucket once. A missing bucket or refused credentials are configuration errors: the boot
 * stops with the S3 guidance. A network error only warns; readiness keeps the pod out of rotation until S3 answers.
 */
@Injectable()
export class StorageBootCheck implements OnApplicationBootstrap {
  private readonly logger = new Logger('S3');

  constructor(private readonly objects: JsonObjectRepository) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.objects.ping();
    } catch (err) {
      if (err instanceof StorageError && ['bucket_missing', 'access_denied', 'bad_credentials'].includes(err.code)) throw err;
      this.logger.warn({ msg: 'S3 not reachable at start-up; readiness stays down until it is', detail: (err as Error).message });
    }
  }
}
