import { isIP } from 'node:net';
import type { HostPattern } from '../config/host-patterns-setting.js';
import { clientUriProblem, displayedStringProblem } from './client-metadata-rules.js';
import { DocumentError } from './document-fetch.js';
import type { GrantType, OAuthClient } from './oauth-client.js';
import { isPrivateAddress } from './private-addresses.js';
import { redirectUriProblem } from './redirect-uris.js';
import { documentPublisher } from './shared-hosts.js';

/*
 * What makes a Client ID Metadata Document usable: its URL (before anything is fetched) and its content (after).
 * The reasons are for the log only (a refused URL or document is one generic 400 to the caller).
 */

/** Why a client_id URL cannot name a document, or undefined when it can; `allowPrivate`: OAUTH_CIMD_ALLOW_PRIVATE_HOSTS. */
export function clientIdUrlProblem(url: string, allowPrivate: boolean): string | undefined {
  if (url.length > 512) return 'the client_id URL is longer than 512 characters';
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'the client_id is not a URL';
  }
  if (u.protocol !== 'https:' && !(allowPrivate && u.protocol === 'http:')) return 'the client_id URL must use https';
  if (u.username || u.password || u.hash || url.includes('#')) return 'the client_id URL must not carry userinfo or a fragment';
  // Checked on the string as sent: the parser has already resolved `..` (also `%2e%2e`), dropped tabs and
  // newlines, lower-cased the scheme and host and turned `\` into `/`, so `https://host/official/../u/evil.json`
  // would fetch /u/evil.json while the consent page and the approval name the client by the string with /official/.
  // Only the parser's own form of the URL is accepted: one document, one spelling.
  if (u.href !== url) return `the client_id URL must be written in its normal form (${u.href.length > 200 ? `${u.href.slice(0, 200)}…` : u.href}), without dot segments, control characters, backslashes or upper-case scheme and host`;
  if (u.pathname === '/') return 'the client_id URL must have a path';
  if (!allowPrivate && isIP(u.hostname.replace(/^\[|\]$/g, '')) && isPrivateAddress(u.hostname.replace(/^\[|\]$/g, ''))) return 'the client_id URL names a private address';
  return undefined;
}

/**
 * The client a fetched document describes, or a DocumentError when it cannot be used; `ignored`: displayed fields
 * left out for breaking the registration rules. `sharedHosts`: OAUTH_CIMD_SHARED_HOSTS, for the name's publisher.
 */
export function documentClient(url: string, body: unknown, sharedHosts: readonly HostPattern[]): { client: OAuthClient; ignored: string[] } {
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
  // The same rules as registration; a field that breaks them is left out (the page then shows less), not fatal.
  const name = typeof d.client_name === 'string' && !displayedStringProblem(d.client_name) ? [...d.client_name].slice(0, 100).join('') : undefined;
  const clientUri = typeof d.client_uri === 'string' && d.client_uri.length <= 512 && !clientUriProblem(d.client_uri) ? d.client_uri : undefined;
  const ignored = [d.client_name !== undefined && !name ? 'client_name' : '', d.client_uri !== undefined && !clientUri ? 'client_uri' : ''].filter(Boolean);
  // On a shared host the host alone names everyone who publishes there: the name carries the tenant's path too.
  const publisher = documentPublisher(url, sharedHosts).label;
  const client: OAuthClient = {
    clientId: url,
    // The name is the document's own claim; where it was fetched from is the fact the person can check.
    clientName: name ? `${name} (${publisher})` : publisher,
    clientUri,
    redirectUris: uris as string[],
    tokenEndpointAuthMethod: 'none',
    grantTypes: [...new Set(grants as GrantType[])],
    createdAt: new Date().toISOString(),
    static: false,
  };
  return { client, ignored };
}
