import { Injectable, OnModuleInit } from '@nestjs/common';
import { Revocation } from '../auth/revocation.js';
import { eachTried } from '../common/each-tried.js';
import { sha256Url } from '../common/sha256.js';
import { AppConfig } from '../config/app-config.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';
import { ClientDisconnectionMarks } from './client-disconnection-marks.js';
import { OAuthError } from './oauth-error.js';

/** Index entries deleted at a time (a user has a handful per client; S3 takes many at once). */
const DELETE_CONCURRENCY = 8;

/**
 * Which refresh families (and so which sessions) a user's authorizations issued to each client:
 * `{OAUTH_PREFIX}client-families/{sha256(email)}/{sha256(client_id)}/{familyId}`. Families live under their own id
 * (`refresh/{familyId}.json`, the refresh token's first half), so without this a disconnection of one client would
 * have to read every family of every user. Every code exchange records a family, also for a client without the
 * refresh_token grant, so these are all of the client's sessions of that user.
 *
 * An entry is written before its family, so no family exists unlisted; an entry whose family was never written (the
 * exchange failed) names nothing and is removed by the next disconnection or revocation. Families issued before
 * this index existed are not listed (see the README's upgrade notes).
 */
@Injectable()
export class ClientFamilyIndex implements OnModuleInit {
  private readonly prefix: string;

  constructor(
    private readonly objects: JsonObjectRepository,
    private readonly revocation: Revocation,
    private readonly disconnections: ClientDisconnectionMarks,
    config: AppConfig,
  ) {
    this.prefix = `${config.values.oauth.prefix}client-families/`;
  }

  /** A revocation ends every session of the user, so the entries naming them go with it. */
  onModuleInit(): void {
    this.revocation.register({
      finding: "listing the OAuth clients' refresh families in S3",
      erasing: "deleting the OAuth clients' refresh family index in S3",
      find: (email) => this.keysUnder(this.userPrefix(email)),
      erase: (_email, keys) => this.forget(keys),
    });
  }

  /**
   * Records that `familyId` is being issued to `clientId` for `email` (idempotent: a retried exchange writes it
   * again), from a sign-in at `signedInAt` (ms). Refused (invalid_grant) when the person disconnected the client
   * since that sign-in; the entry written meanwhile names a family never created, which is harmless.
   *
   * The entry first, the mark read after it: a disconnection writes its mark, then lists. So either its listing
   * finds this entry (and revokes the family, see ClientDisconnection) or the entry landed after that listing, and
   * so after the mark, which this read then finds. Read at once, both could miss each other.
   */
  async record(email: string, clientId: string, familyId: string, signedInAt: number): Promise<void> {
    await this.objects.put(this.key(email, clientId, familyId), { family_id: familyId });
    if (await this.disconnections.disconnectedSince(email, clientId, signedInAt)) {
      throw new OAuthError('invalid_grant', 'The user disconnected this application after signing in for this authorization code, so nothing is issued from it. Start a new authorization.');
    }
  }

  /** The family ids recorded for this user and client, with the keys that record them. */
  async list(email: string, clientId: string): Promise<{ familyId: string; key: string }[]> {
    const keys = await this.keysUnder(this.clientPrefix(email, clientId));
    return keys.map((key) => ({ key, familyId: key.slice(key.lastIndexOf('/') + 1) }));
  }

  /** Deletes index entries (idempotent; every delete is tried before the first failure is thrown). */
  async forget(keys: readonly string[]): Promise<void> {
    await eachTried(keys, DELETE_CONCURRENCY, (key) => this.objects.delete(key));
  }

  private async keysUnder(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of this.objects.listAll(prefix)) keys.push(key);
    return keys;
  }

  private userPrefix(email: string): string {
    return `${this.prefix}${sha256Url(email)}/`;
  }

  private clientPrefix(email: string, clientId: string): string {
    return `${this.userPrefix(email)}${sha256Url(clientId)}/`;
  }

  private key(email: string, clientId: string, familyId: string): string {
    return `${this.clientPrefix(email, clientId)}${familyId}`;
  }
}
