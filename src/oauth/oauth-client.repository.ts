import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app-config.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';
import { hashSecret, OAuthClient, TokenEndpointAuthMethod } from './oauth-client.js';

export interface NewClient {
  clientName?: string;
  redirectUris: string[];
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
}

/** OAuth clients: the ones configured in OAUTH_STATIC_CLIENTS, and registered ones in S3 (`{OAUTH_PREFIX}clients/`). */
@Injectable()
export class OAuthClientRepository {
  private readonly prefix: string;
  private readonly staticClients: Map<string, OAuthClient>;

  constructor(
    private readonly objects: JsonObjectRepository,
    config: AppConfig,
  ) {
    this.prefix = `${config.values.oauth.prefix}clients/`;
    this.staticClients = new Map(
      config.values.oauth.staticClients.map((c) => [
        c.client_id,
        {
          clientId: c.client_id,
          clientName: c.client_name,
          redirectUris: c.redirect_uris,
          tokenEndpointAuthMethod: c.client_secret_sha256 ? 'client_secret_basic' : 'none',
          secretHash: c.client_secret_sha256,
          createdAt: new Date(0).toISOString(),
          static: true,
        } satisfies OAuthClient,
      ]),
    );
  }

  /** Registers a client; returns it with the secret in clear (shown once) for confidential clients. */
  async register(input: NewClient): Promise<{ client: OAuthClient; secret?: string }> {
    const clientId = `wsb_${randomBytes(16).toString('base64url')}`;
    const secret = input.tokenEndpointAuthMethod === 'none' ? undefined : randomBytes(32).toString('base64url');
    const client: OAuthClient = { clientId, ...input, secretHash: secret ? hashSecret(secret) : undefined, createdAt: new Date().toISOString(), static: false };
    await this.objects.put(this.key(clientId), client, { ifNoneMatch: '*' });
    return { client, secret };
  }

  /** A client by id, or undefined. */
  async findById(clientId: string): Promise<OAuthClient | undefined> {
    const fixed = this.staticClients.get(clientId);
    if (fixed) return fixed;
    if (!/^wsb_[A-Za-z0-9_-]{22}$/.test(clientId)) return undefined;
    const stored = await this.objects.get(this.key(clientId));
    return stored ? (stored.value as OAuthClient) : undefined;
  }

  private key(clientId: string): string {
    return `${this.prefix}${clientId}.json`;
  }
}
