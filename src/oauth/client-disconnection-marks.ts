import { Injectable } from '@nestjs/common';
import { sha256Url } from '../common/sha256.js';
import { AppConfig } from '../config/app-config.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';

interface DisconnectionMark {
  version: 1;
  disconnected_at: string;
}

/**
 * When a person last disconnected a client, `{OAUTH_PREFIX}client-disconnections/{sha256(email)}/{sha256(client_id)}.json`:
 * an authorization code from a sign-in before that moment issues nothing. Without it, a code the client held while
 * the person disconnected it (codes live 60 s), exchanged after the disconnection listed the client's grants, would
 * start a grant the disconnection never saw. Kept like the revocation times (RevocationWatermarks): one small object
 * per user and client ever disconnected.
 */
@Injectable()
export class ClientDisconnectionMarks {
  private readonly prefix: string;

  constructor(
    private readonly objects: JsonObjectRepository,
    config: AppConfig,
  ) {
    this.prefix = `${config.values.oauth.prefix}client-disconnections/`;
  }

  /** Records that the person disconnected the client at `at`. */
  async record(email: string, clientId: string, at: Date): Promise<void> {
    await this.objects.put(this.key(email, clientId), { version: 1, disconnected_at: at.toISOString() } satisfies DisconnectionMark);
  }

  /** True when the person disconnected the client at or after `signedInAt` (ms): what that sign-in issued is void. */
  async disconnectedSince(email: string, clientId: string, signedInAt: number): Promise<boolean> {
    const mark = (await this.objects.get(this.key(email, clientId)))?.value as Partial<DisconnectionMark> | undefined;
    if (!mark || typeof mark.disconnected_at !== 'string') return false;
    const at = Date.parse(mark.disconnected_at);
    return !Number.isNaN(at) && at >= signedInAt;
  }

  private key(email: string, clientId: string): string {
    return `${this.prefix}${sha256Url(email)}/${sha256Url(clientId)}.json`;
  }
}
