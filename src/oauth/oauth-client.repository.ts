import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app-config.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';
import { StorageError } from '../storage/storage.errors.js';
import { ClientMetadataDocuments, isClientIdUrl } from './client-metadata-document.js';
import { GrantType, hashSecret, OAuthClient, TokenEndpointAuthMethod } from './oauth-client.js';

export interface NewClient {
  clientName?: string;
  clientUri?: string;
  redirectUris: string[];
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  grantTypes: GrantType[];
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * OAuth clients: the ones configured in OAUTH_STATIC_CLIENTS, and registered ones in S3 (`{OAUTH_PREFIX}clients/`).
 * A registered client unused for OAUTH_UNUSED_CLIENT_TTL_DAYS is deleted lazily, when it is next looked up; its
 * object is rewritten at most once a day when used, so an S3 lifecycle rule on the prefix (expire after the TTL
 * plus one day) removes the ones nobody looks up any more (README, "OAuth").
 */
@Injectable()
export class OAuthClientRepository {
  private readonly logger = new Logger('OAuthClients');
  private readonly prefix: string;
  private readonly staticClients: Map<string, OAuthClient>;
  private readonly unusedTtlMs: number;
  private readonly cimd: boolean;

  constructor(
    private readonly objects: JsonObjectRepository,
    config: AppConfig,
    private readonly documents: ClientMetadataDocuments,
  ) {
    this.cimd = config.values.cimd.enabled;
    this.prefix = `${config.values.oauth.prefix}clients/`;
    this.unusedTtlMs = config.values.oauth.unusedClientTtlDays * DAY_MS;
    this.staticClients = new Map(
      config.values.oauth.staticClients.map((c) => [
        c.client_id,
        {
          clientId: c.client_id,
          clientName: c.client_name,
          redirectUris: c.redirect_uris,
          tokenEndpointAuthMethod: c.client_secret_sha256 ? (c.token_endpoint_auth_method ?? 'client_secret_basic') : 'none',
          grantTypes: c.grant_types,
          secretHash: c.client_secret_sha256,
          createdAt: new Date(0).toISOString(),
          static: true,
          firstParty: c.first_party === true,
        } satisfies OAuthClient,
      ]),
    );
  }

  /** Registers a client; returns it with the secret in clear (shown once) for confidential clients. */
  async register(input: NewClient): Promise<{ client: OAuthClient; secret?: string }> {
    const clientId = `wsb_${randomBytes(16).toString('base64url')}`;
    const secret = input.tokenEndpointAuthMethod === 'none' ? undefined : randomBytes(32).toString('base64url');
    const now = new Date().toISOString();
    const client: OAuthClient = { clientId, ...input, secretHash: secret ? hashSecret(secret) : undefined, createdAt: now, lastUsedAt: now, static: false };
    // Create-only at a fresh id; a retry that meets its own lost-answer write is success, not a 409.
    await this.objects.create(this.key(clientId), client);
    return { client, secret };
  }

  /**
   * A client by id, or undefined (also for a registered client unused for too long, which is deleted now).
   * `requester`: the client IP of the request, whose share of metadata document fetches a URL client_id may take.
   */
  async findById(clientId: string, requester?: string): Promise<OAuthClient | undefined> {
    const fixed = this.staticClients.get(clientId);
    if (fixed) return fixed;
    if (isClientIdUrl(clientId)) return this.cimd ? this.documents.resolve(clientId, requester) : undefined;
    if (!/^wsb_[A-Za-z0-9_-]{22}$/.test(clientId)) return undefined;
    const stored = await this.objects.get(this.key(clientId));
    if (!stored) return undefined;
    const client = stored.value as OAuthClient;
    if (this.lastUse(client) + this.unusedTtlMs < Date.now()) {
      await this.objects.delete(this.key(clientId));
      this.logger.log({ msg: 'unused oauth client deleted', event: 'client_expired', clientId });
      return undefined;
    }
    return client;
  }

  /**
   * A person approved this client (a code was issued or exchanged for it): a metadata document client's document is
   * now kept in S3 for every replica (ClientMetadataDocuments.keep). Nothing to do for other clients.
   */
  async approvedInUse(client: OAuthClient | string): Promise<void> {
    const clientId = typeof client === 'string' ? client : client.clientId;
    if (this.cimd && isClientIdUrl(clientId)) await this.documents.keep(clientId);
  }

  /** Records that the client was used, at most once a day (an S3 write per token request would be waste). */
  async recordUse(client: OAuthClient): Promise<void> {
    if (client.static || isClientIdUrl(client.clientId) || this.lastUse(client) + DAY_MS > Date.now()) return;
    try {
      await this.objects.put(this.key(client.clientId), { ...client, lastUsedAt: new Date().toISOString() });
    } catch (err) {
      // Losing one "last used" update costs nothing: the next use records it.
      if (!(err instanceof StorageError)) throw err;
    }
  }

  private lastUse(client: OAuthClient): number {
    return Date.parse(client.lastUsedAt ?? client.createdAt);
  }

  private key(clientId: string): string {
    return `${this.prefix}${clientId}.json`;
  }
}
