import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { admittingHost, type HostPattern } from '../config/host-patterns-setting.js';
import { isClientIdUrl } from './client-metadata-document.js';
import { OAuthError } from './oauth-error.js';
import { documentPublisher, type Publisher } from './shared-hosts.js';

/**
 * Which metadata documents may be used at all (OAUTH_CIMD_ALLOWED_HOSTS, the operator's admission policy), and who
 * published one (shared-hosts.ts, for the consent page). Decided from the client_id alone, before anything is
 * fetched or read: a refused host costs no request to it and nothing stored. Checked on every use, so a host taken
 * off the list stops its approved clients at their next token request (their refresh tokens are refused), not only
 * new ones; access tokens already issued run out within JWT_TTL_SECONDS.
 */
@Injectable()
export class CimdAdmission {
  private readonly logger = new Logger('CimdAdmission');
  private readonly enabled: boolean;
  private readonly allowed: readonly HostPattern[];
  private readonly shared: readonly HostPattern[];

  constructor(config: AppConfig) {
    this.enabled = config.values.cimd.enabled;
    this.allowed = config.values.cimd.allowedHosts;
    this.shared = config.values.cimd.sharedHosts;
  }

  /** Whether a client_id that is a URL names a host documents are accepted from (any, when no list is set). */
  admits(clientId: string): boolean {
    if (this.allowed.length === 0 || !isClientIdUrl(clientId)) return true;
    const host = hostOf(clientId);
    return host !== undefined && admittingHost(host, this.allowed) !== undefined;
  }

  /**
   * Throws when `clientId` is a document URL on a host not admitted: `authorize` answers 400 invalid_request (the
   * client is not known, so nothing is sent to its redirect URI), `token` 401 invalid_client (the token and
   * revocation endpoints' answer for a client that cannot authenticate). Nothing to check with documents turned off
   * (OAUTH_CLIENT_METADATA_DOCUMENTS=false): a URL client_id is then an unknown client like any other.
   *
   * The message names the host asked for (the caller's own input) but not the list: the operator's partners and
   * internal domains are no stranger's business, and the person who sees it can ask the operator.
   */
  check(clientId: string | undefined, at: 'authorize' | 'token'): void {
    if (!this.enabled || clientId === undefined || this.admits(clientId)) return;
    const host = hostOf(clientId) ?? 'this host';
    this.logger.warn({ msg: 'client metadata document host not allowed', event: 'cimd_not_admitted', host, at });
    const message =
      `This service does not accept applications described by a metadata document at ${host}: its operator lists the hosts it accepts them from (OAUTH_CIMD_ALLOWED_HOSTS). ` +
      'Ask the operator of this service to allow this application, or use one they allow.';
    throw at === 'authorize' ? new OAuthError('invalid_request', message) : new OAuthError('invalid_client', message);
  }

  /** Who the document at `clientId` (an accepted document URL) was published by, shared hosts told apart. */
  publisher(clientId: string): Publisher {
    return documentPublisher(clientId, this.shared);
  }
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname || undefined;
  } catch {
    return undefined;
  }
}
