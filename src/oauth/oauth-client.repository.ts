import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app-config.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';
import { StorageError } from '../storage/storage.errors.js';
import { CimdAdmission } from './cimd-admission.js';
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
/** Clients whose "last used" write may be under way at once on a replica (see recordUse). */
const MAX_LAST_USE_WRITES = 64;

/**
 * OAuth clients: the ones configured in OAUTH_STATIC_CLIENTS, and registered ones in S3 (`{OAUTH_PREFIX}clients/`).
 * A registered client unused for OAUTH_UNUSED_CLIENT_TTL_DAYS is deleted lazily, when it is next looked up; its
 * object is rewritten at most once a day when used, so an S3 lifecycle rule on the prefix (expire after the TTL
 * plus one day) removes the ones nobody looks up any more (docs/http-api.md, "Registration limits"; docs/operations.md, "The S3 bucket").
 */
@Injectable()
export class OAuthClientRepository {
  private readonly logger = new Logger('OAuthClients');
  private readonly prefix: string;
  private readonly staticClients: Map<string, OAuthClient>;
  private readonly unusedTtlMs: number;
  private readonly cimd: boolean;
  /** Clients whose "last used" write is under way (see recordUse). */
  private readonly recording = new Set<string>();

  constructor(
    private readonly objects: JsonObjectRepository,
    config: AppConfig,
    private readonly documents: ClientMetadataDocuments,
    private readonly admission: CimdAdmission,
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
   * Throws invalid_request (400) for a document URL on a host OAUTH_CIMD_ALLOWED_HOSTS leaves out, before any fetch.
   */
  async findById(clientId: string, requester?: string): Promise<OAuthClient | undefined> {
    const fixed = this.staticClients.get(clientId);
    if (fixed) return fixed;
    if (isClientIdUrl(clientId)) {
      if (!this.cimd) return undefined;
      this.admission.check(clientId, 'authorize');
      return this.documents.resolve(clientId, requester);
    }
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

  /**
   * Records that the client was used, at most once a day (an S3 write per token request would be waste). Never
   * awaited by the request that used the client: the token endpoint and /oauth/authorize answer without it, so a
   * stalled S3 does not add S3_TIMEOUT_MS to a code exchange or a refresh for a date that only decides when an idle
   * client is deleted. Bounded: the write itself ends within S3_TIMEOUT_MS (storage layer), one client has at most
   * one write under way on this replica, and at most MAX_LAST_USE_WRITES clients at once (a flood while S3 stalls
   * adds no work). A failure is logged (the client id and the error's code, never the stored object, which holds the
   * secret's hash) and costs nothing: the next use records it.
   */
  recordUse(client: OAuthClient): void {
    if (client.static || isClientIdUrl(client.clientId) || this.lastUse(client) + DAY_MS > Date.now()) return;
    if (this.recording.has(client.clientId) || this.recording.size >= MAX_LAST_USE_WRITES) return;
    this.recording.add(client.clientId);
    const write = (async () => this.objects.put(this.key(client.clientId), { ...client, lastUsedAt: new Date().toISOString() }))();
    void write
      .catch((err: unknown) => {
        const reason = err instanceof StorageError ? err.code : ((err as Error)?.name ?? 'error');
        this.logger.warn({ msg: 'oauth client last use not recorded; the next use records it', event: 'client_last_use_unrecorded', clientId: client.clientId, reason });
      })
      .finally(() => this.recording.delete(client.clientId));
  }

  private lastUse(client: OAuthClient): number {
    return Date.parse(client.lastUsedAt ?? client.createdAt);
  }

  private key(clientId: string): string {
    return `${this.prefix}${clientId}.json`;
  }
}
