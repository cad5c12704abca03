import { Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import type { LRUCache } from 'lru-cache';
import { AppConfig } from '../config/app-config.js';
import { growingLru } from '../common/growing-lru.js';
import { SingleFlight } from '../common/single-flight.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';
import { StorageError } from '../storage/storage.errors.js';
import type { OAuthClient } from './oauth-client.js';
import { clientIdUrlProblem, documentClient } from './client-metadata-validation.js';
import { FetchSlots, requesterKey, type SlotRefusal } from './document-fetch-slots.js';
import { DocumentError, fetchDocument, type FetchedDocument } from './document-fetch.js';
import { OAuthError } from './oauth-error.js';
import type { HostPattern } from '../config/host-patterns-setting.js';

/**
 * Document fetches in flight at once per replica, and the share of one requester and of one document host (see
 * FetchSlots for the decision). Anyone can name any URL, so without a cap a slow document server would pile up
 * sockets, and a host whose DNS never answers would take libuv's 4 threads, which S3's and Google's lookups and file
 * reads share: 3 leaves one of them even when every fetch is stuck in a lookup. Legitimate fetches are rare
 * (documents are kept up to their max-age).
 */
const SLOTS = { total: 3, perRequester: 1, perHost: 1, waitMs: 2000 };
/**
 * How long past its expiry a kept copy is still served when its refetch cannot start now (every slot it could take
 * is busy) or is already running for someone else. Without it, an attacker keeping the slots busy turned away every
 * client whose copy had just expired. Bounded, because a document's owner may have changed it for a reason (a
 * redirect URI taken away): an hour beyond its max-age, and only while its refetch cannot run.
 */
const STALE_GRACE_MS = 3600 * 1000;
/** Documents kept in this replica's memory (fetched ones, approved or not); at most ~5 KB each. */
const MAX_DOCUMENTS_IN_MEMORY = 1000;

/** Whether a client_id is a Client ID Metadata Document URL rather than a registered id. */
export function isClientIdUrl(clientId: string): boolean {
  return /^https?:\/\//i.test(clientId);
}

/** A kept document, as stored in S3 (`{OAUTH_PREFIX}client-metadata/{sha256(url)}.json`) and in memory. */
interface CachedDocument {
  client: OAuthClient;
  expiresAt: string;
}

/** A document in this replica's memory; `inS3`: a copy is in S3 too (the client was approved, see keep). */
interface HeldDocument {
  doc: CachedDocument;
  inS3: boolean;
}

const isFresh = (d: CachedDocument) => Date.parse(d.expiresAt) > Date.now();
const isServableStale = (d: CachedDocument | undefined) => d !== undefined && Date.parse(d.expiresAt) + STALE_GRACE_MS > Date.now();

/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, the MCP spec's preferred registration):
 * a client_id that is an https URL names a JSON document describing the client. It is fetched with the limits an
 * open fetcher needs (document-fetch.ts), fairly shared (FetchSlots), validated (client-metadata-validation.ts: its
 * client_id equals the URL, redirect URIs by our rules, public clients only), and kept as long as its Cache-Control
 * allows (at most a day).
 *
 * Where it is kept: anyone can name any URL, so a document nobody approved is kept only in this replica's memory
 * (a bounded LRU); it is written to S3, for every replica, once a person approved the client (a code was issued or
 * exchanged for it: keep()). Writing every fetched document let anyone mint distinct URLs on their own domain and
 * make the service write an S3 object per URL, bounded only by the authorize and token rate limits. A copy already
 * in S3 (an approved client's) is replaced there when refetched; an expired one nothing replaces is deleted when
 * next found, and a lifecycle rule on the prefix reclaims the rest.
 */
@Injectable()
export class ClientMetadataDocuments {
  private readonly logger = new Logger('ClientMetadataDocuments');
  private readonly prefix: string;
  private readonly allowPrivate: boolean;
  /** OAUTH_CIMD_SHARED_HOSTS: a client's name carries its publisher, told apart on hosts where anyone can publish. */
  private readonly sharedHosts: readonly HostPattern[];
  /** Root certificates for document fetches: the public ones, plus OAUTH_CIMD_EXTRA_CA (an internal PKI, tests). */
  private readonly ca?: string[];
  private readonly fetches = new SingleFlight<FetchedDocument>();
  private readonly slots = new FetchSlots(SLOTS);
  private readonly held: LRUCache<string, HeldDocument> = growingLru<string, HeldDocument>({ max: MAX_DOCUMENTS_IN_MEMORY });

  constructor(
    private readonly objects: JsonObjectRepository,
    config: AppConfig,
  ) {
    this.prefix = `${config.values.oauth.prefix}client-metadata/`;
    this.allowPrivate = config.values.cimd.allowPrivateHosts;
    this.sharedHosts = config.values.cimd.sharedHosts;
    this.ca = config.values.cimd.extraCa ? [...rootCertificates, config.values.cimd.extraCa] : undefined;
  }

  /**
   * The client a metadata document URL describes, or undefined when it cannot be used (the reason is logged).
   * `requester`: the client IP the request came from, whose share of the fetch slots a fetch takes. Throws an
   * OAuthError (429 for the requester's own share, else 503) when no fetch can start now and no copy may be served.
   */
  async resolve(url: string, requester?: string): Promise<OAuthClient | undefined> {
    const key = this.key(url);
    // The ETag of an expired copy found in S3, deleted unless the fetch below replaces it (see forgetExpired).
    let expired: string | undefined;
    try {
      const problem = clientIdUrlProblem(url, this.allowPrivate);
      if (problem) throw new DocumentError(problem);
      const held = this.held.get(url);
      if (held && isFresh(held.doc)) return held.doc.client;
      const stored = await this.objects.get(key);
      const cached = stored?.value as CachedDocument | undefined;
      const usable = cached !== undefined && cached.client?.clientId === url && typeof cached.expiresAt === 'string' ? cached : undefined;
      if (usable && isFresh(usable)) {
        this.held.set(url, { doc: usable, inS3: true });
        return usable.client;
      }
      const stale = [usable, held?.doc].find(isServableStale);
      let release: (() => void) | undefined;
      if (this.fetches.has(url)) {
        // Someone's refetch is running: the kept copy answers now rather than after up to 5 s.
        if (stale) return this.serveStale(url, stale, 'refetch_pending');
      } else {
        const who = requesterKey(requester);
        const host = new URL(url).hostname;
        let slot = this.slots.take(who, host);
        // An expired copy stays for now: a later lookup fetches and replaces it.
        if (typeof slot === 'string' && stale) return this.serveStale(url, stale, slot);
        if (slot === 'host' || slot === 'total') slot = await this.slots.takeWaiting(who, host);
        if (typeof slot === 'string') throw this.busy(url, slot);
        // While this waited, someone may have started fetching this very URL: share that fetch, give the slot back.
        if (this.fetches.has(url)) slot.release();
        else release = slot.release;
      }
      expired = stored?.etag;
      let fetched: FetchedDocument;
      try {
        fetched = await this.fetches.run(url, () => {
          const fetching = fetchDocument(url, { allowPrivate: this.allowPrivate, ca: this.ca });
          void fetching.idle.finally(release);
          return fetching.result;
        });
      } catch (err) {
        // The document's host failing for a moment is not the client changing its document: the copy kept from
        // before answers, within its grace, as while a refetch cannot start; past that grace, an approved client
        // (its copy is in S3, and stays) is told to retry. Refused, it was 401 invalid_client at the token endpoint,
        // on which OAuth clients drop their credentials and authorize again.
        if (!(err instanceof DocumentError && err.transient)) throw err;
        expired = undefined;
        if (stale) return this.serveStale(url, stale, 'refetch_failed');
        if (stored !== undefined) throw this.unreachable(url);
        throw err;
      }
      const { body, ttlSeconds } = fetched;
      const { client, ignored } = documentClient(url, body, this.sharedHosts);
      if (ignored.length) this.logger.warn({ msg: 'client metadata document fields ignored', event: 'cimd_fields_ignored', host: safeHost(url), fields: ignored });
      if (ttlSeconds > 0) {
        const doc: CachedDocument = { client, expiresAt: new Date(Date.now() + ttlSeconds * 1000).toISOString() };
        // Only an approved client's copy is in S3; it is kept current there for every replica.
        // A copy S3 would not replace is no reason to refuse the client just fetched: it is used, and keep() (after
        // its next accepted code or token) writes it again. The expired copy stays for that too.
        const inS3 = stored !== undefined && (await this.replaceStored(key, doc, url));
        if (stored !== undefined) expired = undefined;
        this.held.set(url, { doc, inS3 });
      } else this.held.delete(url);
      return client;
    } catch (err) {
      // S3 failing says nothing about the document: it propagates as the 503 it is (temporarily_unavailable at the
      // token endpoint). Read as "no usable document" it was 401 invalid_client at /oauth/token, on which OAuth
      // clients drop their credentials (the MCP SDK's auth() invalidates all of them and starts a new authorization
      // in the person's browser): every refresh of a metadata document client during an S3 incident lost its grant.
      if (!(err instanceof DocumentError)) throw err;
      this.held.delete(url);
      this.logger.warn({ msg: 'client metadata document refused', event: 'cimd_refused', host: safeHost(url), reason: err.message });
      return undefined;
    } finally {
      if (expired) await this.forgetExpired(key, expired, url);
    }
  }

  /**
   * Writes the document of a client a person approved to S3 (once), so every replica, the token endpoint and later
   * refreshes find it without fetching. Called when a code is issued or exchanged for the client; the document is
   * then in this replica's memory (it was just resolved). Best effort, and it never throws: the code or the tokens
   * are already issued when this runs, and an error now would lose them; a failed write leaves it to the next call.
   * Approvals are themselves one S3 object per user and client and need a Google sign-in, so this adds no growth
   * a stranger controls.
   */
  async keep(url: string): Promise<void> {
    const held = this.held.get(url);
    if (!held || held.inS3 || !isFresh(held.doc)) return;
    try {
      await this.objects.put(this.key(url), held.doc);
      held.inS3 = true;
    } catch (err) {
      const reason = err instanceof StorageError ? err.detail : 'unexpected error';
      this.logger.warn({ msg: 'approved client metadata document not stored', event: 'cimd_keep_failed', host: safeHost(url), reason });
    }
  }

  /** Replaces an approved client's copy in S3 with the document just fetched; false (logged) when S3 failed. */
  private async replaceStored(key: string, doc: CachedDocument, url: string): Promise<boolean> {
    try {
      await this.objects.put(key, doc);
      return true;
    } catch (err) {
      if (!(err instanceof StorageError)) throw err;
      this.logger.warn({ msg: 'approved client metadata document not stored', event: 'cimd_keep_failed', host: safeHost(url), reason: err.message });
      return false;
    }
  }

  private serveStale(url: string, stale: CachedDocument, why: SlotRefusal | 'refetch_pending' | 'refetch_failed'): OAuthClient {
    this.logger.log({ msg: 'expired client metadata document served while it cannot be refetched', event: 'cimd_stale_served', host: safeHost(url), reason: why });
    return stale.client;
  }

  /**
   * The refusal when no fetch can start: the requester's own share is a 429 at once, the host's or the total a 503
   * after waiting SLOTS.waitMs for a slot.
   */
  private busy(url: string, why: SlotRefusal): OAuthError {
    this.logger.warn({ msg: 'client metadata document not fetched: no fetch slot', event: 'cimd_busy', host: safeHost(url), reason: why });
    const retry = { 'Retry-After': '5' };
    if (why === 'requester') {
      return new OAuthError('temporarily_unavailable', 'A client metadata document asked for from your address is still being fetched; one is fetched at a time per address. Retry in a few seconds.', 429, retry);
    }
    if (why === 'host') {
      return new OAuthError('temporarily_unavailable', `Another client metadata document from ${safeHost(url)} is being fetched right now; one is fetched at a time per host. Retry in a few seconds.`, 503, retry);
    }
    return new OAuthError('temporarily_unavailable', 'Too many client metadata documents are being fetched right now. Retry in a few seconds.', 503, retry);
  }

  /** The refusal when an approved client's document cannot be fetched for now and no copy may stand in. */
  private unreachable(url: string): OAuthError {
    this.logger.warn({ msg: 'approved client metadata document not fetched for now', event: 'cimd_unreachable', host: safeHost(url) });
    return new OAuthError('temporarily_unavailable', `This application's client metadata document (at ${safeHost(url)}) could not be fetched just now. Retry in a few seconds.`, 503, { 'Retry-After': '5' });
  }

  private key(url: string): string {
    return `${this.prefix}${createHash('sha256').update(url).digest('hex')}.json`;
  }

  /**
   * Deletes a cached copy past its expiry that nothing replaced (the document now says no-store, or it cannot be
   * fetched or used any more). An expired copy is only ever served for STALE_GRACE_MS more, and keeping it would
   * let the prefix grow for good (copies written before only approved ones were stored are strangers'). What is
   * never looked up again is not found here: the S3 lifecycle rule on the prefix (docs/operations.md, "The S3 bucket") removes it, which is safe because no
   * copy is trusted longer than MAX_TTL_S. Only the version read is deleted (If-Match): a fresh copy another replica
   * wrote meanwhile stays. Best effort: a failed delete leaves the object to that rule.
   */
  private async forgetExpired(key: string, etag: string, url: string): Promise<void> {
    try {
      await this.objects.delete(key, { ifMatch: etag });
    } catch (err) {
      if (!(err instanceof StorageError)) throw err;
      if (err.code === 'conflict') return; // replaced by another replica's fetch: nothing to forget
      this.logger.warn({ msg: 'expired client metadata document not deleted', event: 'cimd_cache_delete_failed', host: safeHost(url), reason: err.message });
    }
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid';
  }
}
