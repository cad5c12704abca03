import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { AppConfig } from '../config/app-config.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';
import { StorageError } from '../storage/storage.errors.js';

/** A person's approval of one client: the access they allowed it, in S3 so every replica knows it. */
export interface ClientApproval {
  version: 1;
  email: string;
  clientId: string;
  /** Every scope the person has allowed this client (the union of the pages they pressed Allow on). */
  scopes: string[];
  approvedAt: string;
  updatedAt: string;
}

/**
 * Approvals per user and client, `{OAUTH_PREFIX}approvals/{sha256(email, client_id)}.json` (hashed: client ids may
 * be URLs, and the key then does not spell out who uses what). Updated with If-Match, so two replicas recording
 * approvals for one pair at once both land.
 */
@Injectable()
export class ClientApprovals {
  private readonly prefix: string;

  constructor(
    private readonly objects: JsonObjectRepository,
    config: AppConfig,
  ) {
    this.prefix = `${config.values.oauth.prefix}approvals/`;
  }

  /** True when the person has allowed this client every scope in `scopes`. */
  async covers(email: string, clientId: string, scopes: string[]): Promise<boolean> {
    const stored = await this.objects.get(this.key(email, clientId));
    if (!stored) return false;
    const approval = stored.value as ClientApproval;
    return approval.email === email && approval.clientId === clientId && scopes.every((s) => approval.scopes.includes(s));
  }

  /** Records that the person allowed the client these scopes (added to what they allowed before). */
  async approve(email: string, clientId: string, scopes: string[]): Promise<void> {
    const key = this.key(email, clientId);
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await this.objects.get(key);
      const now = new Date().toISOString();
      const before = stored?.value as ClientApproval | undefined;
      const approval: ClientApproval = {
        version: 1,
        email,
        clientId,
        scopes: [...new Set([...(before?.scopes ?? []), ...scopes])],
        approvedAt: before?.approvedAt ?? now,
        updatedAt: now,
      };
      try {
        await this.objects.put(key, approval, stored ? { ifMatch: stored.etag } : { ifNoneMatch: '*' });
        return;
      } catch (err) {
        if (!(err instanceof StorageError && err.code === 'conflict')) throw err;
      }
    }
    throw new StorageError('conflict', 'The approval kept changing while being recorded; press Allow again.');
  }

  private key(email: string, clientId: string): string {
    return `${this.prefix}${createHash('sha256').update(`${email}\0${clientId}`).digest('base64url')}.json`;
  }
}
