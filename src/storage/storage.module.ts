import { Module } from '@nestjs/common';
import { JsonObjectRepository } from './json-object.repository.js';
import { s3ClientProvider } from './s3-client.provider.js';
import { StorageLatency } from './storage-latency.js';

/** S3 access: the client, the JSON object repository, and S3 latency records. */
@Module({
  providers: [s3ClientProvider, StorageLatency, JsonObjectRepository],
  exports: [JsonObjectRepository, StorageLatency],
})
export class StorageModule {}
