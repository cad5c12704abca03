import { Injectable } from '@nestjs/common';
import { Revocation } from '../auth/revocation.js';
import { AuditLog } from '../observability/audit-log.js';
import { ProtectedResources } from '../sessions/protected-resources.js';
import { tokenAudience } from './token-resource.js';
import { Metrics } from '../observability/metrics.js';
import { BearerTokenService } from '../sessions/bearer-token.service.js';
import { SessionStore } from '../sessions/session.store.js';
import type { Session } from '../sessions/session.js';
import { AuthorizationCodes, AuthorizationGrant, signedInAtOf } from './authorization-codes.js';
import { CimdAdmission } from './cimd-admission.js';
import { ClientFamilyIndex } from './client-family-index.js';
import { authenticateClient, PresentedClient } from './client-authentication.js';
import { isClientIdUrl } from './client-metadata-document.js';
import { grantTypesOf, OAuthClient } from './oauth-client.js';
import { OAuthClientRepository } from './oauth-client.repository.js';
import { OAuthError } from './oauth-error.js';
import { RefreshFamily, RefreshTokenFamilies } from './refresh-token-families.js';
import { refreshedScopes } from './refresh-scope.js';

type Params = Record<string, unknown>;
const str = (v: unknown, max = 2048) => (typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined);

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  scope?: string;
}

/**
 * The token endpoint (authorization_code with PKCE S256, refresh_token with rotation and reuse detection), RFC 7009
 * revocation and RFC 7662 introspection. Each client may use only the grant types and the authentication method it
 * registered. Access tokens are the service's own bearer JWTs.
 */
@Injectable()
export class TokenEndpoint {
  constructor(
    private readonly clients: OAuthClientRepository,
    private readonly codes: AuthorizationCodes,
    private readonly families: RefreshTokenFamilies,
    private readonly sessions: SessionStore,
    private readonly tokens: BearerTokenService,
    private readonly audit: AuditLog,
    private readonly metrics: Metrics,
    private readonly resources: ProtectedResources,
    private readonly revocations: Revocation,
    private readonly admission: CimdAdmission,
    private readonly familyIndex: ClientFamilyIndex,
  ) {}

  /** The token endpoint. `ip`: the client IP (a metadata document fetch counts against its share). */
  async token(body: Params, presented: PresentedClient, ip?: string): Promise<TokenResponse> {
    const client = await this.authenticate(presented, ip);
    const grantType = body.grant_type;
    if (grantType !== 'authorization_code' && grantType !== 'refresh_token') {
      throw new OAuthError('unsupported_grant_type', 'grant_type must be authorization_code or refresh_token.');
    }
    if (!grantTypesOf(client).includes(grantType)) {
      throw new OAuthError('unauthorized_client', `This client did not register the "${grantType}" grant type. Register a client with grant_types including it.`);
    }
    this.clients.recordUse(client); // not awaited: a stalled S3 must not hold the tokens back (see recordUse)
    const issued = await (grantType === 'authorization_code' ? this.exchangeCode(body, client) : this.refresh(body, client));
    // A code or refresh token of this client was valid, so a person approved it: keep its metadata document in S3
    // (again, when its copy there expired and was not replaced).
    await this.clients.approvedInUse(client);
    return issued;
  }

  /** RFC 7009: revokes a refresh token (its family and session) or an access token (its session). Always succeeds. */
  async revoke(body: Params, presented: PresentedClient, ip?: string): Promise<void> {
    const clientId = await this.revokingClientId(presented, ip);
    const token = str(body.token, 4096);
    if (!token) throw new OAuthError('invalid_request', 'Send the token to revoke as "token".');
    const refresh = await this.families.find(token);
    if (refresh) {
      if (refresh.family.clientId === clientId) await this.revokeFamily(refresh.family, 'revoked by client');
      return;
    }
    // Expired, it ends its session only for a client that authenticated: a public client's id is no credential (the
    // token itself names it), and old tokens turn up in logs (bearers live an hour, sessions far longer).
    const claims = presented.method === 'none' ? this.tokens.verify(token) : this.tokens.verifyIgnoringExpiry(token);
    if (claims && claims.client_id === clientId) await this.endSession(claims.sid);
  }

  /**
   * RFC 7662 introspection, for confidential clients and their own tokens. Any other token (another client's, a
   * browser sign-in's) is `{active:false}` and nothing more: section 4 lets the server limit what it tells a caller,
   * and anyone may register a confidential client, so telling it who holds which token would leak.
   */
  async introspect(body: Params, presented: PresentedClient): Promise<Record<string, unknown>> {
    // A URL client_id names a metadata document, and a document only ever describes a public client, which may not
    // introspect. Refused before the lookup: resolving it would fetch the document and cache it in S3 for anyone
    // who names a URL, for an answer that is always this refusal.
    if (presented.clientId !== undefined && isClientIdUrl(presented.clientId)) {
      throw new OAuthError(
        'invalid_client',
        'Introspection is for registered confidential clients; a client_id that is a metadata document URL is a public client. ' +
          'Register a confidential client at /oauth/register (token_endpoint_auth_method client_secret_basic or client_secret_post) and introspect with its client_id and secret.',
      );
    }
    const client = await this.authenticate(presented);
    if (client.tokenEndpointAuthMethod === 'none') throw new OAuthError('invalid_client', 'Introspection is for confidential clients only.');
    const token = str(body.token, 4096);
    if (!token) throw new OAuthError('invalid_request', 'Send the token to introspect as "token".');
    const refresh = await this.families.find(token);
    return refresh ? this.introspectRefresh(refresh, client) : this.introspectAccess(token, client);
  }

  private async introspectRefresh(refresh: { family: RefreshFamily; current: boolean }, client: OAuthClient): Promise<Record<string, unknown>> {
    const f = refresh.family;
    if (f.clientId !== client.clientId) return { active: false };
    const active = refresh.current && !f.revokedAt && f.expiresAt > Date.now() && Boolean(await this.sessions.find(f.sessionId));
    if (!active) return { active: false };
    return { active, token_type: 'refresh_token', client_id: f.clientId, sub: f.email, email: f.email, exp: Math.floor(f.expiresAt / 1000), ...(f.scope ? { scope: f.scope } : {}) };
  }

  private async introspectAccess(token: string, client: OAuthClient): Promise<Record<string, unknown>> {
    const claims = this.tokens.verify(token);
    // A browser sign-in token carries no client_id: it belongs to no OAuth client, so to none that asks.
    if (!claims || claims.client_id !== client.clientId) return { active: false };
    const session = await this.sessions.find(claims.sid);
    if (!session || session.email !== claims.sub) return { active: false };
    return { active: true, token_type: 'Bearer', client_id: claims.client_id, sub: claims.sub, email: claims.email, aud: claims.aud, iss: claims.iss, iat: claims.iat, exp: claims.exp, sid: claims.sid, scope: claims.scope ?? '' };
  }

  /**
   * Who revokes. A metadata-document client on a host OAUTH_CIMD_ALLOWED_HOSTS leaves out revokes by client_id alone,
   * unfetched: it is public, a revocation only takes access away, and the token must be one issued to that id (refused,
   * its grants stayed dormant, alive again if the host came back on the list).
   */
  private async revokingClientId(presented: PresentedClient, ip?: string): Promise<string> {
    const { clientId } = presented;
    if (clientId && presented.method === 'none' && isClientIdUrl(clientId) && !this.admission.admits(clientId)) return clientId;
    return (await this.authenticate(presented, ip)).clientId;
  }

  private async authenticate(presented: PresentedClient, ip?: string): Promise<OAuthClient> {
    // A document host taken off OAUTH_CIMD_ALLOWED_HOSTS: invalid_client, so an approved client's refresh stops too.
    this.admission.check(presented.clientId, 'token');
    return authenticateClient(presented.clientId ? await this.clients.findById(presented.clientId, ip) : undefined, presented);
  }

  private async exchangeCode(body: Params, client: OAuthClient): Promise<TokenResponse> {
    const code = str(body.code, 256);
    const verifier = str(body.code_verifier, 1024);
    const redirectUri = str(body.redirect_uri);
    if (!code) throw new OAuthError('invalid_request', 'Send the authorization code as "code".');
    if (!verifier) throw new OAuthError('invalid_request', 'Send the PKCE code_verifier.');
    // RFC 7636 section 4.1: 43 to 128 unreserved characters, the entropy PKCE's protection rests on. A short one (a
    // client's bug) is refused outright rather than compared, before the code is spent.
    if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) {
      throw new OAuthError('invalid_request', 'code_verifier must be 43 to 128 characters of A-Z, a-z, 0-9, "-", ".", "_" and "~" (RFC 7636 section 4.1).');
    }
    // The verifier and redirect_uri are checked inside, before the code is claimed (see AuthorizationCodes.redeem).
    const redeemed = await this.codes.redeem(code, client.clientId, { verifier, redirectUri });
    if (redeemed.status === 'reused') return this.refuseReplayedCode(redeemed.grant, client);
    if (redeemed.status === 'foreign') throw new OAuthError('invalid_grant', 'The authorization code was issued to another client.');
    if (redeemed.status !== 'ok') throw new OAuthError('invalid_grant', `The authorization code is ${redeemed.status === 'expired' ? 'expired (codes live 60 seconds)' : 'unknown'}. Start a new authorization.`);
    const grant = redeemed.grant;
    const audience = tokenAudience(this.resources, body.resource, grant.resource);
    // POST /auth/revoke ends the sessions that exist; this code is not one yet. From a sign-in before the user's
    // revocation it would start a session and refresh family that outlive it, so it is refused here, on whichever
    // replica, by the revocation time in S3 (RevocationWatermarks). Refused before anything is written. An exchange
    // landing within the revocation's first S3 round trip (before its time is written) keeps its session, as a
    // sign-in at that moment does: the revocation ends the sessions it listed with its first reads.
    try {
      return await this.issueForCode(grant, client, audience);
    } catch (err) {
      // S3 failed before any token was answered: give the code back, so the client's retry (told 503: retry) is not
      // taken for a replay that revokes its grant. A refusal (OAuthError) is final and keeps the claim.
      if (!(err instanceof OAuthError)) await this.codes.release(code, redeemed.claimant);
      throw err;
    }
  }

  /** The tokens of a redeemed, checked code: its session and refresh family (see exchangeCode). */
  private async issueForCode(grant: AuthorizationGrant, client: OAuthClient, audience: ReturnType<typeof tokenAudience>): Promise<TokenResponse> {
    if (await this.revocations.revokedSince(grant.email, signedInAtOf(grant))) {
      throw new OAuthError('invalid_grant', 'The user revoked this service\'s access after signing in for this authorization code, so nothing is issued from it. Start a new authorization (the user signs in again).');
    }
    // Indexed by user and client before the family exists, so disconnecting the client finds every family it got (and
    // refused when the person disconnected the client since this sign-in: ClientFamilyIndex.record).
    let [session] = await Promise.all([this.sessions.create(grant.email, this.families.lifetimeSeconds), this.familyIndex.record(grant.email, client.clientId, grant.familyId, signedInAtOf(grant))]);
    // The family is recorded even for a client without the refresh_token grant: it links the code to the session,
    // so a replayed code ends that session. Such a client is never given the token (and could not use it).
    const started = await this.families.create({ familyId: grant.familyId, clientId: client.clientId, email: grant.email, sessionId: session.sessionId, resource: grant.resource, scope: grant.scope });
    if (started.status === 'revoked') {
      // A replay of this code got to the family first (see refuseReplayedCode): end the session made above, before
      // any access token names it, so this exchange leaves nothing usable behind.
      await this.sessions.end(session);
      throw new OAuthError('invalid_grant', 'This authorization code was presented twice at once; it is spent and nothing was issued from it. Start a new authorization.');
    }
    if (started.status === 'resumed') {
      // An earlier attempt of this exchange wrote the family, then answered 503: its session is the grant's, and the
      // one made above, which no token names, is ended (a leftover is harmless: nothing can reach it).
      const earlier = await this.sessions.find(started.sessionId);
      if (!earlier) throw new OAuthError('invalid_grant', 'The session of this authorization has ended (logout or revocation). Start a new authorization.');
      await this.sessions.end(session).catch(() => undefined);
      session = earlier;
    }
    const familyToken = started.token;
    const refreshToken = grantTypesOf(client).includes('refresh_token') ? familyToken : undefined;
    const access = await this.tokens.issue(session, { audience, clientId: client.clientId, scopes: grant.scope?.split(' ') });
    return { access_token: access.accessToken, token_type: 'Bearer', expires_in: access.expiresIn, ...(refreshToken ? { refresh_token: refreshToken } : {}), scope: access.scope };
  }

  /**
   * A code presented again (RFC 6749 4.1.2 / OAuth 2.1: an attack signal): revoke what its first use issued, even
   * when that first exchange is still running, possibly on another replica. Why every interleaving ends with nothing
   * usable: the exchange (E) and this replay (R) meet on one S3 key, the family's, and write it only conditionally
   * (E create-only; R create-only placeholder, or If-Match revoke), so S3 puts their writes in one order.
   * - E's family lands first: R reads it (straight away, or after its placeholder write gets 412) and revokes it,
   *   then ends its session. E created the session before the family, so R always finds it. Tokens E may already
   *   have answered are dead: the refresh token at once on every replica (families are read from S3 on each use);
   *   the access token at once here and in S3, on other replicas within SESSION_CACHE_TTL_MS, as any revocation.
   * - R's placeholder lands first: E's create gets 412, reads a revoked family, ends its own session and refuses
   *   before signing an access token: nothing was issued.
   * - An answer lost after S3 applied a write: the SDK's retry meets that write. E's create compares what it finds
   *   (its own family: created; revoked since: refused as above); R re-reads and finds its placeholder, or the
   *   family it revoked, already revoked. A call that fails outright answers 503 and claims nothing: a retried
   *   replay is `reused` again and finishes the revocation; a failed exchange has handed out no token, and gives its
   *   code back so the client's retry is not a replay (a family it did write is resumed by that retry).
   */
  private async refuseReplayedCode(grant: AuthorizationGrant, client: OAuthClient): Promise<never> {
    const family = await this.families.revokeForReplayedCode({ familyId: grant.familyId, clientId: grant.clientId, email: grant.email });
    if (family.sessionId) await this.endSession(family.sessionId);
    this.metrics.securityViolations.inc({ reason: 'authorization_code_reuse' });
    this.audit.record({ event: 'security_violation', outcome: 'denied', user: grant.email, detail: { reason: 'authorization_code_reuse', clientId: client.clientId } });
    throw new OAuthError('invalid_grant', 'This authorization code was already used; the tokens issued from it have been revoked. Start a new authorization.');
  }

  private async refresh(body: Params, client: OAuthClient): Promise<TokenResponse> {
    const token = str(body.refresh_token, 256);
    if (!token) throw new OAuthError('invalid_request', 'Send the refresh token as "refresh_token".');
    if (body.resource !== undefined || body.scope !== undefined) {
      // A resource or scope the family cannot have is refused before the token is rotated away.
      const found = await this.families.find(token);
      if (found?.family.clientId === client.clientId) {
        tokenAudience(this.resources, body.resource, found.family.resource);
        refreshedScopes(body.scope, found.family.scope);
      }
    }
    // The family lives only as long as its session. Read from S3, not this replica's memory copy (trusted for
    // SESSION_CACHE_TTL_MS on the warm path): a session another replica ended (logout, revocation, or Google
    // refusing the user's grant: GoogleCaller ends the sessions built on it) must not get a fresh access token here
    // that fails at once, sending an MCP client round the loop again instead of to a new authorization. One S3 read
    // on a path that already reads and writes the family in S3.
    // Read before the rotation is written (beforeRotating): a read that fails (S3 down or slow, 503 with
    // Retry-After) then leaves the client's token current, so its retry is a refresh, not a reuse of a rotated token
    // that, past OAUTH_REFRESH_REUSE_GRACE_SECONDS, revoked the family and answered invalid_grant for a good token
    // (test/e2e/oauth-write-faults.e2e.spec.ts, "session read"). A session found ended stops the refresh unrotated.
    let session: Session | undefined;
    let readFor: string | undefined;
    const readSession = async (sessionId: string): Promise<void> => {
      if (readFor === sessionId) return;
      session = await this.sessions.findInStorage(sessionId);
      readFor = sessionId;
      if (!session) throw sessionEnded();
    };
    const result = await this.families.rotate(token, client.clientId, (family) => readSession(family.sessionId));
    if (result.status === 'reused') {
      await this.revokeFamily(result.family, 'refresh token reuse');
      this.metrics.securityViolations.inc({ reason: 'refresh_token_reuse' });
      this.audit.record({ event: 'security_violation', outcome: 'denied', user: result.family.email, detail: { reason: 'refresh_token_reuse', clientId: client.clientId } });
      throw new OAuthError('invalid_grant', 'This refresh token was already used; the whole token family has been revoked. Sign in again.');
    }
    if (result.status !== 'rotated') throw new OAuthError('invalid_grant', 'The refresh token is invalid, expired or revoked. Sign in again.');
    // A retry of a rotation already written (within the grace window) did not call beforeRotating: read it now.
    await readSession(result.family.sessionId);
    if (!session) throw sessionEnded();
    const audience = tokenAudience(this.resources, body.resource, result.family.resource);
    const access = await this.tokens.issue(session, { audience, clientId: client.clientId, scopes: refreshedScopes(body.scope, result.family.scope) });
    return { access_token: access.accessToken, token_type: 'Bearer', expires_in: access.expiresIn, refresh_token: result.token, scope: access.scope };
  }

  private async revokeFamily(family: RefreshFamily, reason: string): Promise<void> {
    await this.families.revoke(family.familyId);
    await this.endSession(family.sessionId);
    this.audit.record({ event: 'revoke', outcome: 'success', user: family.email, detail: { reason, clientId: family.clientId } });
  }

  private async endSession(sessionId: string): Promise<void> {
    const session = await this.sessions.find(sessionId);
    if (session) await this.sessions.end(session);
  }
}

/** The answer to a refresh whose family's session has ended. */
function sessionEnded(): OAuthError {
  return new OAuthError(
    'invalid_grant',
    "The session of this refresh token has ended: the user logged out or revoked access, or Google no longer accepts the user's grant. Authorize again (a new authorization request; the person signs in with Google).",
  );
}
