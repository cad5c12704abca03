import { Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import { AppConfig } from '../config/app-config.js';
import { SingleFlight } from '../common/single-flight.js';
import { JsonObjectRepository } from '../storage/json-object.repository.js';
import { StorageError } from '../storage/storage.errors.js';
import type { GrantType, OAuthClient } from './oauth-client.js';
import { clientUriProblem, displayedStringProblem } from './client-metadata-rules.js';
import { OAuthError } from './oauth-error.js';
import { isPrivateAddress } from './private-addresses.js';
import { redirectUriProblem } from './redirect-uris.js';

/** Largest document read (the CIMD draft recommends 5 KB) and how long its fetch may take, from lookup to last byte. */
const MAX_DOCUMENT_BYTES = 5 * 1024;
const FETCH_TIMEOUT_MS = 5000;
/**
 * Document fetches in flight at once, per replica; past it a new URL is refused with 503 (a URL already being
 * fetched shares that fetch). Anyone can name any URL, so without a cap a slow document server would pile up
 * sockets, and a host whose DNS never answers would take libuv's 4 threads, which S3's and Google's lookups and
 * file reads share. Legitimate fetches are rare (documents are kept in S3 up to their max-age).
 */
const MAX_FETCHES_IN_FLIGHT = 2;
/** How long a document is trusted when its server says nothing (Cache-Control), and at most. */
const DEFAULT_TTL_S = 3600;
const MAX_TTL_S = 24 * 3600;

/** Whether a client_id is a Client ID Metadata Document URL rather than a registered id. */
export function isClientIdUrl(clientId: string): boolean {
  return /^https?:\/\//i.test(clientId);
}

interface CachedDocument {
  client: OAuthClient;
  expiresAt: string;
}

class DocumentError extends Error {}

/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, the MCP spec's preferred registration):
 * a client_id that is an https URL names a JSON document describing the client. It is fetched with the limits an
 * open fetcher needs (https only, no private or loopback addresses, checked at connect time so DNS rebinding cannot
 * slip past; 5 KB; 5 s; no redirects), validated (its client_id equals the URL, redirect URIs by our rules, public
 * clients only), and kept in S3 for every replica as long as its Cache-Control allows (at most a day; an expired copy
 * is deleted when next found, and a lifecycle rule on `{OAUTH_PREFIX}client-metadata/` reclaims the rest). Hand-written on node:https
 * because fetch cannot check the address it connects to.
 */
@Injectable()
export class ClientMetadataDocuments {
  private readonly logger = new Logger('ClientMetadataDocuments');
  private readonly prefix: string;
  private readonly allowPrivate: boolean;
  /** Root certificates for document fetches: the public ones, plus OAUTH_CIMD_EXTRA_CA (an internal PKI, tests). */
  private readonly ca?: string[];
  private readonly fetches = new SingleFlight<{ body: unknown; ttlSeconds: number }>();

  constructor(
    private readonly objects: JsonObjectRepository,
    config: AppConfig,
  ) {
    this.prefix = `${config.values.oauth.prefix}client-metadata/`;
    this.allowPrivate = config.values.cimd.allowPrivateHosts;
    this.ca = config.values.cimd.extraCa ? [...rootCertificates, config.values.cimd.extraCa] : undefined;
  }

  /**
   * The client a metadata document URL describes, or undefined when it cannot be used (the reason is logged). Throws
   * a 503 OAuthError when MAX_FETCHES_IN_FLIGHT other documents are being fetched.
   */
  async resolve(url: string): Promise<OAuthClient | undefined> {
    const key = `${this.prefix}${createHash('sha256').update(url).digest('hex')}.json`;
    // The ETag of an expired copy found in S3, deleted unless the fetch below replaces it (see forgetExpired).
    let expired: string | undefined;
    try {
      const problem = this.urlProblem(url);
      if (problem) throw new DocumentError(problem);
      const stored = await this.objects.get(key);
      const cached = stored?.value as CachedDocument | undefined;
      if (cached && Date.parse(cached.expiresAt) > Date.now() && cached.client?.clientId === url) return cached.client;
      if (!this.fetches.has(url) && this.fetches.size >= MAX_FETCHES_IN_FLIGHT) {
        // An expired copy stays for now: the retry this answer asks for fetches and replaces it.
        this.logger.warn({ msg: 'client metadata document not fetched: too many fetches in flight', event: 'cimd_busy', host: safeHost(url) });
        throw new OAuthError('temporarily_unavailable', 'Too many client metadata documents are being fetched right now. Retry in a few seconds.', 503, { 'Retry-After': '5' });
      }
      expired = stored?.etag;
      const { body, ttlSeconds } = await this.fetches.run(url, () => this.fetch(url));
      const client = this.validate(url, body);
      if (ttlSeconds > 0) {
        await this.objects.put(key, { client, expiresAt: new Date(Date.now() + ttlSeconds * 1000).toISOString() } satisfies CachedDocument);
        expired = undefined;
      }
      return client;
    } catch (err) {
      if (!(err instanceof DocumentError) && !(err instanceof StorageError)) throw err;
      this.logger.warn({ msg: 'client metadata document refused', event: 'cimd_refused', host: safeHost(url), reason: err.message });
      return undefined;
    } finally {
      if (expired) await this.forgetExpired(key, expired, url);
    }
  }

  /**
   * Deletes a cached copy past its expiry that nothing replaced (the document now says no-store, or it cannot be
   * fetched or used any more). Anyone can name a URL, so copies are written on behalf of strangers; an expired one
   * is never read again, and keeping it would let the prefix grow for good. What is never looked up again is not
   * found here: the S3 lifecycle rule on the prefix (README, "The S3 bucket") removes it, which is safe because no
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

  private urlProblem(url: string): string | undefined {
    if (url.length > 512) return 'the client_id URL is longer than 512 characters';
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return 'the client_id is not a URL';
    }
    if (u.protocol !== 'https:' && !(this.allowPrivate && u.protocol === 'http:')) return 'the client_id URL must use https';
    if (u.username || u.password || u.hash || url.includes('#')) return 'the client_id URL must not carry userinfo or a fragment';
    // Checked on the string as sent: the parser has already resolved `..` (also `%2e%2e`), dropped tabs and
    // newlines, lower-cased the scheme and host and turned `\` into `/`, so `https://host/official/../u/evil.json`
    // would fetch /u/evil.json while the consent page and the approval name the client by the string with /official/.
    // Only the parser's own form of the URL is accepted: one document, one spelling.
    if (u.href !== url) return `the client_id URL must be written in its normal form (${u.href.length > 200 ? `${u.href.slice(0, 200)}…` : u.href}), without dot segments, control characters, backslashes or upper-case scheme and host`;
    if (u.pathname === '/') return 'the client_id URL must have a path';
    if (!this.allowPrivate && isIP(u.hostname.replace(/^\[|\]$/g, '')) && isPrivateAddress(u.hostname.replace(/^\[|\]$/g, ''))) return 'the client_id URL names a private address';
    return undefined;
  }

  private fetch(url: string): Promise<{ body: unknown; ttlSeconds: number }> {
    const allowPrivate = this.allowPrivate;
    const guardedLookup = (hostname: string, options: object, callback: (...a: unknown[]) => void) => {
      dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
        if (err) return callback(err);
        if (!allowPrivate && addresses.some((a) => isPrivateAddress(a.address))) return callback(new DocumentError(`${hostname} resolves to a private address`));
        if ((options as { all?: boolean }).all) return callback(null, addresses);
        callback(null, addresses[0].address, addresses[0].family);
      });
    };
    const get = (url.startsWith('https:') ? https.get : http.get) as typeof https.get;
    return new Promise((resolve, reject) => {
      // The socket's `timeout` below only bounds silence: a server sending a byte every few seconds would hold the
      // fetch for hours. This bounds the whole of it.
      const deadline = setTimeout(() => {
        reject(new DocumentError(`the document took longer than ${FETCH_TIMEOUT_MS} ms`));
        req.destroy();
      }, FETCH_TIMEOUT_MS);
      const settle = <A extends unknown[]>(fn: (...a: A) => void) => (...a: A) => {
        clearTimeout(deadline);
        fn(...a);
      };
      resolve = settle(resolve);
      reject = settle(reject);
      const req = get(url, { lookup: guardedLookup as never, timeout: FETCH_TIMEOUT_MS, headers: { accept: 'application/json' }, ...(this.ca ? { ca: this.ca } : {}) }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new DocumentError(`the document answered HTTP ${res.statusCode} (redirects are not followed)`));
        }
        res.on('error', () => reject(new DocumentError('the document\'s answer broke off')));
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_DOCUMENT_BYTES) {
            req.destroy();
            reject(new DocumentError(`the document is larger than ${MAX_DOCUMENT_BYTES} bytes`));
          } else chunks.push(c);
        });
        res.on('end', () => {
          try {
            resolve({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')), ttlSeconds: cacheSeconds(res.headers['cache-control']) });
          } catch {
            reject(new DocumentError('the document is not JSON'));
          }
        });
      });
      req.on('timeout', () => req.destroy(new DocumentError(`the document took longer than ${FETCH_TIMEOUT_MS} ms`)));
      req.on('error', (err) => reject(err instanceof DocumentError ? err : new DocumentError(`the document could not be fetched (${(err as NodeJS.ErrnoException).code ?? err.message})`)));
    });
  }

  private validate(url: string, body: unknown): OAuthClient {
    const d = body as Record<string, unknown>;
    if (!d || typeof d !== 'object' || Array.isArray(d)) throw new DocumentError('the document is not a JSON object');
    if (d.client_id !== url) throw new DocumentError('the document\'s client_id is not its own URL');
    const uris = d.redirect_uris;
    if (!Array.isArray(uris) || uris.length === 0 || uris.length > 10 || uris.some((u) => typeof u !== 'string' || redirectUriProblem(u))) {
      throw new DocumentError('the document needs redirect_uris: 1 to 10 acceptable redirect URIs');
    }
    const method = d.token_endpoint_auth_method ?? 'none';
    if (method !== 'none') throw new DocumentError('only public clients (token_endpoint_auth_method "none") are accepted by URL');
    const grants = (d.grant_types ?? ['authorization_code']) as unknown[];
    if (!Array.isArray(grants) || !grants.includes('authorization_code') || grants.some((g) => g !== 'authorization_code' && g !== 'refresh_token')) {
      throw new DocumentError('grant_types may hold authorization_code and refresh_token only');
    }
    const host = new URL(url).host;
    // The same rules as registration; a field that breaks them is left out (the page then shows less), not fatal.
    const name = typeof d.client_name === 'string' && !displayedStringProblem(d.client_name) ? [...d.client_name].slice(0, 100).join('') : undefined;
    const clientUri = typeof d.client_uri === 'string' && d.client_uri.length <= 512 && !clientUriProblem(d.client_uri) ? d.client_uri : undefined;
    const ignored = [d.client_name !== undefined && !name ? 'client_name' : '', d.client_uri !== undefined && !clientUri ? 'client_uri' : ''].filter(Boolean);
    if (ignored.length) this.logger.warn({ msg: 'client metadata document fields ignored', event: 'cimd_fields_ignored', host, fields: ignored });
    return {
      clientId: url,
      // The name is the document's own claim; the host it was fetched from is the fact the person can check.
      clientName: name ? `${name} (${host})` : host,
      clientUri,
      redirectUris: uris as string[],
      tokenEndpointAuthMethod: 'none',
      grantTypes: [...new Set(grants as GrantType[])],
      createdAt: new Date().toISOString(),
      static: false,
    };
  }
}

/** Seconds a response may be reused per its Cache-Control (no-store and no-cache: not at all). */
function cacheSeconds(header: string | undefined): number {
  if (!header) return DEFAULT_TTL_S;
  if (/\b(no-store|no-cache)\b/i.test(header)) return 0;
  const maxAge = /\bmax-age=(\d+)/i.exec(header)?.[1];
  return maxAge === undefined ? DEFAULT_TTL_S : Math.min(Number(maxAge), MAX_TTL_S);
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid';
  }
}
