import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isPrivateAddress } from './private-addresses.js';

/** Largest document read (the CIMD draft recommends 5 KB) and how long its fetch may take, from lookup to last byte. */
export const MAX_DOCUMENT_BYTES = 5 * 1024;
export const FETCH_TIMEOUT_MS = 5000;
/** How long a document is trusted when its server says nothing (Cache-Control), and at most. */
const DEFAULT_TTL_S = 3600;
export const MAX_TTL_S = 24 * 3600;

/** A document that cannot be used; the message is for the log only (it may describe the service's network). */
export class DocumentError extends Error {
  constructor(
    message: string,
    /**
     * The document's host failed for now (no answer in time, a network error, a 5xx or 429, an answer broken off),
     * as opposed to a document that is gone or no longer acceptable: a copy kept from before may stand in for it.
     */
    readonly transient = false,
  ) {
    super(message);
  }
}

export interface FetchedDocument {
  body: unknown;
  /** Seconds it may be reused (Cache-Control); 0: not at all. */
  ttlSeconds: number;
}

export interface DocumentFetch {
  /** The parsed document, or a DocumentError. */
  result: Promise<FetchedDocument>;
  /**
   * Settles once nothing of the fetch runs any more, its DNS lookup included. A lookup cannot be cancelled: one a
   * name server never answers holds a libuv thread for as long as the resolver retries (often longer than the 5 s
   * fetch limit), so the fetch's slot is given back only then, or the cap on slots would not cap those threads.
   */
  idle: Promise<void>;
}

/**
 * Fetches a metadata document with the limits an open fetcher needs: https (http only with `allowPrivate`), no
 * private or loopback addresses, checked in the lookup used to connect so DNS rebinding cannot slip past; at most
 * MAX_DOCUMENT_BYTES within FETCH_TIMEOUT_MS in all; redirects not followed. Hand-written on node:https because
 * fetch cannot check the address it connects to.
 */
export function fetchDocument(url: string, options: { allowPrivate: boolean; ca?: string[] }): DocumentFetch {
  const { allowPrivate, ca } = options;
  let lookupReturned: Promise<void> = Promise.resolve();
  const guardedLookup = (hostname: string, opts: object, callback: (...a: unknown[]) => void) => {
    let returned!: () => void;
    lookupReturned = new Promise<void>((r) => (returned = () => r()));
    dnsLookup(hostname, { ...opts, all: true }, (err, addresses: LookupAddress[]) => {
      returned();
      if (err) return callback(err);
      if (!allowPrivate && addresses.some((a) => isPrivateAddress(a.address))) return callback(new DocumentError(`${hostname} resolves to a private address`));
      if ((opts as { all?: boolean }).all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
  const get = (url.startsWith('https:') ? https.get : http.get) as typeof https.get;
  const result = new Promise<FetchedDocument>((resolve, reject) => {
    // The socket's `timeout` below only bounds silence: a server sending a byte every few seconds would hold the
    // fetch for hours. This bounds the whole of it.
    const deadline = setTimeout(() => {
      reject(new DocumentError(`the document took longer than ${FETCH_TIMEOUT_MS} ms`, true));
      req.destroy();
    }, FETCH_TIMEOUT_MS);
    const settle = <A extends unknown[]>(fn: (...a: A) => void) => (...a: A) => {
      clearTimeout(deadline);
      fn(...a);
    };
    resolve = settle(resolve);
    reject = settle(reject);
    const req = get(url, { lookup: guardedLookup as never, timeout: FETCH_TIMEOUT_MS, headers: { accept: 'application/json' }, ...(ca ? { ca } : {}) }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new DocumentError(`the document answered HTTP ${res.statusCode} (redirects are not followed)`, res.statusCode === 429 || (res.statusCode ?? 0) >= 500));
      }
      res.on('error', () => reject(new DocumentError('the document\'s answer broke off', true)));
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
    req.on('timeout', () => req.destroy(new DocumentError(`the document took longer than ${FETCH_TIMEOUT_MS} ms`, true)));
    req.on('error', (err) => reject(err instanceof DocumentError ? err : new DocumentError(`the document could not be fetched (${(err as NodeJS.ErrnoException).code ?? err.message})`, true)));
  });
  // `lookupReturned` is read after the result settled: by then the lookup, if any, has started.
  const idle = result.then(
    () => lookupReturned,
    () => lookupReturned,
  );
  return { result, idle };
}

/** Seconds a response may be reused per its Cache-Control (no-store and no-cache: not at all). */
function cacheSeconds(header: string | undefined): number {
  if (!header) return DEFAULT_TTL_S;
  if (/\b(no-store|no-cache)\b/i.test(header)) return 0;
  const maxAge = /\bmax-age=(\d+)/i.exec(header)?.[1];
  return maxAge === undefined ? DEFAULT_TTL_S : Math.min(Number(maxAge), MAX_TTL_S);
}
