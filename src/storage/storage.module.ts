import { Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { S3Client } from '@aws-sdk/client-s3';
import { ConditionalWritesCheck } from './conditional-writes.check.js';
import { JsonObjectRepository } from './json-object.repository.js';
import { S3AuditSink } from './s3-audit-sink.js';
import { S3_CLIENT, s3ClientProvider } from './s3-client.provider.js';
import { StorageLatency } from './storage-latency.js';

/** S3 access: the client, the JSON object repository, S3 latency records, and the check that S3 honours conditional writes. */
@Module({
  providers: [s3ClientProvider, StorageLatency, JsonObjectRepository, S3AuditSink, ConditionalWritesCheck],
  exports: [JsonObjectRepository, StorageLatency, ConditionalWritesCheck],
})
export class StorageModule implements OnApplicationShutdown {
  constructor(@Inject(S3_CLIENT) private readonly s3: S3Client) {}

  /** Closes the client's keep-alive sockets so a stopped instance holds no connections. */
  onApplicationShutdown(): void {
    this.s3.destroy();
  }
}
