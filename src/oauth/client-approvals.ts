import { Injectable, OnModuleInit } from '@nestjs/common';
import { Revocation } from '../auth/revocation.js';
import { sha256Url } from '../common/sha256.js';
import { eachTried } from '../common/each-tried.js';
import { AppConfig } from '../config/app-config.js';
import { ProtectedResources, type ProtectedResource } from '../sessions/protected-resources.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';
import { StorageError } from '../storage/storage.errors.js';
import { OAuthError } from './oauth-error.js';
import { redirectUriMatches } from './redirect-uris.js';

/** Access a person allowed a client for one resource. */
export interface ApprovedAccess {
  /**
   * The path below PUBLIC_URL of the resource the consent page named (`/mcp`); `/` for the whole service, also when
   * the request named none. A path, not the identifier: replicas agree on it, and it survives a new PUBLIC_URL.
   */
  resource: string;
  /** Every scope allowed for it (the union of the pages the person pressed Allow on for this resource). */
  scopes: string[];
}

/** A person's approval of one client: the access they allowed it, in S3 so every replica knows it. */
export interface ClientApproval {
  version: 2;
  email: string;
  clientId: string;
  grants: ApprovedAccess[];
  /**
   * The redirect URIs the consent page named when the person pressed Allow (a loopback one with any port). A client
   * may register several, and one shown harmless (an app on this computer) must not vouch for another (a site the
   * page would have warned about): an approval covers a request only for a destination in this list. Approvals
   * recorded before it existed have none, so they cover nothing and the person is asked once more.
   */
  redirectUris?: string[];
  approvedAt: string;
  updatedAt: string;
}

/** Approvals of one user deleted at a time by a revocation (a user has a handful; S3 takes many at once). */
const DELETE_CONCURRENCY = 8;
/** Destinations kept per approval (a client registers at most 10); the oldest go first. */
const MAX_REDIRECT_URIS = 20;

/**
 * Approvals per user and client, `{OAUTH_PREFIX}approvals/{sha256(email)}/{sha256(client_id)}.json` (hashed: client
 * ids may be URLs, and the key then does not spell out who uses what; one folder per user, so a revocation finds
 * all of a user's approvals with one listing). Updated with If-Match, so two replicas recording approvals for one
 * pair at once both land.
 *
 * An approval covers a request when the requested scopes were allowed for the requested resource or one containing
 * it, compared as a token's audience is (ProtectedResources.covers): allowing the whole service covers /mcp, never
 * the other way round. Approvals written before resources were recorded (`{OAUTH_PREFIX}approvals/{sha256(email NUL
 * client_id)}.json`, version 1) cover nothing: which resource the person saw is unknown, so they are asked once
 * more; the next approval of that pair deletes the old object.
 */
@Injectable()
export class ClientApprovals implements OnModuleInit {
  private readonly prefix: string;

  constructor(
    private readonly objects: JsonObjectRepository,
    private readonly resources: ProtectedResources,
    private readonly revocation: Revocation,
    config: AppConfig,
  ) {
    this.prefix = `${config.values.oauth.prefix}approvals/`;
  }

  /** Makes every revocation of a user also forget the clients that user approved. */
  onModuleInit(): void {
    this.revocation.register({
      finding: 'listing the OAuth client approvals in S3',
      erasing: 'deleting the OAuth client approvals in S3',
      find: (email) => this.listForUser(email),
      erase: (_email, keys) => this.forget(keys),
    });
  }

  /**
   * True when the person has allowed this client every scope in `scopes` for `resource` (an RFC 8707 identifier;
   * undefined: the whole service) or for a resource containing it, sending the code to `redirectUri`.
   */
  async covers(email: string, clientId: string, scopes: string[], resource: string | undefined, redirectUri: string): Promise<boolean> {
    const approval = await this.find(email, clientId);
    const wanted = this.resourceOf(resource);
    if (!approval || !wanted || !destinationApproved(approval, redirectUri)) return false;
    const allowed = new Set(approval.grants.filter((g) => this.grantCovers(g, wanted)).flatMap((g) => g.scopes));
    return scopes.every((s) => allowed.has(s));
  }

  /** True when the person has approved this client for anything sent to `redirectUri` (they trust it there). */
  async hasApproved(email: string, clientId: string, redirectUri: string): Promise<boolean> {
    const approval = await this.find(email, clientId);
    return approval !== undefined && approval.grants.length > 0 && destinationApproved(approval, redirectUri);
  }

  /**
   * Records that the person allowed the client these scopes for `resource` (undefined: the whole service), with the
   * code sent to `redirectUri` (the one the page named).
   */
  async approve(email: string, clientId: string, scopes: string[], resource: string | undefined, redirectUri: string): Promise<void> {
    const key = this.key(email, clientId);
    const approved = this.resourceOf(resource);
    // Only a consent form sealed before a deploy that dropped the resource gets here (requests are checked first).
    if (!approved) throw new OAuthError('invalid_target', 'This request is for a resource this service no longer has. Start again from the application.');
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await this.objects.get(key);
      const before = stored && readApproval(stored.value, email, clientId);
      const now = new Date().toISOString();
      const approval: ClientApproval = {
        version: 2,
        email,
        clientId,
        grants: this.withGrant(before?.grants ?? [], pathOf(approved), scopes),
        redirectUris: withDestination(before?.redirectUris ?? [], redirectUri),
        approvedAt: before?.approvedAt ?? now,
        updatedAt: now,
      };
      try {
        await this.objects.put(key, approval, stored ? { ifMatch: stored.etag } : { ifNoneMatch: '*' });
      } catch (err) {
        if (!(err instanceof StorageError && err.code === 'conflict')) throw err;
        continue;
      }
      return this.dropPreResourceApproval(email, clientId);
    }
    throw new StorageError('conflict', 'The approval kept changing while being recorded; press Allow again.');
  }

  /** Every approval of the user in the current format (the person's list of connected applications). */
  async listApprovals(email: string): Promise<ClientApproval[]> {
    const read = async (key: string) => {
      const value = (await this.objects.get(key))?.value as Partial<ClientApproval> | undefined;
      // Only what this user approved, stored where that approval belongs (the key is the user's and the client's).
      const clientId = typeof value?.clientId === 'string' ? value.clientId : undefined;
      return clientId !== undefined && key === this.key(email, clientId) ? readApproval(value, email, clientId) : undefined;
    };
    const found = await Promise.all((await this.listForUser(email)).map(read));
    return found.filter((a): a is ClientApproval => a !== undefined);
  }

  /** True when the person has an approval of this client in the current format (whatever it covers). */
  async hasApproval(email: string, clientId: string): Promise<boolean> {
    return (await this.find(email, clientId)) !== undefined;
  }

  /** Forgets the person's approval of this client (idempotent; the consent page is shown again). */
  async withdraw(email: string, clientId: string): Promise<void> {
    await Promise.all([this.objects.delete(this.key(email, clientId)), this.dropPreResourceApproval(email, clientId)]);
  }

  /**
   * The keys of every approval the user has recorded (a revocation's find, made with its first reads). One
   * recorded after this listing, while the revocation runs, is kept: it comes from a consent given during the
   * revocation, as valid as one given a moment after it.
   */
  private async listForUser(email: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of this.objects.listAll(this.userPrefix(email))) keys.push(key);
    return keys;
  }

  /**
   * Deletes the listed approvals (a revocation step: idempotent, and every delete is tried before the first failure
   * is thrown, so a retry, which lists again, finds only what is left).
   */
  private async forget(keys: string[]): Promise<void> {
    await eachTried(keys, DELETE_CONCURRENCY, (key) => this.objects.delete(key));
  }

  private async find(email: string, clientId: string): Promise<ClientApproval | undefined> {
    const stored = await this.objects.get(this.key(email, clientId));
    return stored && readApproval(stored.value, email, clientId);
  }

  /** `grants` with `scopes` added for `resource`; grants for resources this service no longer has are dropped. */
  private withGrant(grants: ApprovedAccess[], resource: string, scopes: string[]): ApprovedAccess[] {
    const kept = grants.filter((g) => g.resource !== resource && this.resources.byPath(g.resource));
    const same = grants.find((g) => g.resource === resource);
    return [...kept, { resource, scopes: [...new Set([...(same?.scopes ?? []), ...scopes])] }];
  }

  /** Whether access approved for the grant's resource may be used at `wanted` (as a token's audience would). */
  private grantCovers(grant: ApprovedAccess, wanted: ProtectedResource): boolean {
    const approved = this.resources.byPath(grant.resource);
    return approved !== undefined && this.resources.covers(approved.identifier, wanted);
  }

  /** The resource a request is for; undefined when the identifier is not (or no longer) one of ours. */
  private resourceOf(identifier: string | undefined): ProtectedResource | undefined {
    return identifier === undefined ? this.resources.root : this.resources.byIdentifier(identifier);
  }

  /**
   * The same pair's approval in the layout before resources were recorded: it covers nothing, but names who used
   * what, so it goes once its successor is stored. Best effort: if the delete fails it stays as inert as before.
   */
  private async dropPreResourceApproval(email: string, clientId: string): Promise<void> {
    await this.objects.delete(`${this.prefix}${sha256Url(`${email}\0${clientId}`)}.json`).catch(() => undefined);
  }

  private userPrefix(email: string): string {
    return `${this.prefix}${sha256Url(email)}/`;
  }

  private key(email: string, clientId: string): string {
    return `${this.userPrefix(email)}${sha256Url(clientId)}.json`;
  }
}

/** The stored approval when it is one of ours for this pair in the current format; anything else covers nothing. */
function readApproval(value: unknown, email: string, clientId: string): ClientApproval | undefined {
  const a = value as Partial<ClientApproval> | undefined;
  if (a?.version !== 2 || a.email !== email || a.clientId !== clientId || !Array.isArray(a.grants)) return undefined;
  const wellFormed = a.grants.every((g) => typeof g?.resource === 'string' && Array.isArray(g.scopes) && g.scopes.every((s) => typeof s === 'string'));
  const destinations = a.redirectUris === undefined || (Array.isArray(a.redirectUris) && a.redirectUris.every((u) => typeof u === 'string'));
  return wellFormed && destinations ? (a as ClientApproval) : undefined;
}

/** Whether the person pressed Allow on a page naming this redirect URI (a loopback one on any port). */
function destinationApproved(approval: ClientApproval, redirectUri: string): boolean {
  return (approval.redirectUris ?? []).some((approved) => redirectUriMatches(approved, redirectUri));
}

/** `approved` with `redirectUri` added unless it is already there (as redirectUriMatches compares). */
function withDestination(approved: string[], redirectUri: string): string[] {
  if (approved.some((a) => redirectUriMatches(a, redirectUri))) return approved;
  return [...approved, redirectUri].slice(-MAX_REDIRECT_URIS);
}

/** How an approval records a resource: its path, `/` for the whole service. */
function pathOf(resource: ProtectedResource): string {
  return resource.path || '/';
}
