import { Injectable } from '@nestjs/common';
import { verifyWholeServiceBearer, type BearerAction } from '../auth/whole-service-bearer.js';
import { BadRequestError, UnauthorizedError } from '../common/domain-error.js';
import { eachTried } from '../common/each-tried.js';
import { AuditLog } from '../observability/audit-log.js';
import { unauthorizedChallenge } from '../sessions/bearer-challenge.js';
import { BearerTokenService } from '../sessions/bearer-token.service.js';
import { ProtectedResources } from '../sessions/protected-resources.js';
import { SessionStore } from '../sessions/session.store.js';
import { ClientApprovals } from './client-approvals.js';
import { ClientDisconnectionMarks } from './client-disconnection-marks.js';
import { ClientFamilyIndex } from './client-family-index.js';
import { RefreshTokenFamilies } from './refresh-token-families.js';

/** One application the person has approved, as the approval records it. */
export interface ConnectedClient {
  client_id: string;
  /** Every scope allowed, over all resources. */
  scopes: string[];
  /** The resources (paths below PUBLIC_URL, `/` for the whole service) access was allowed for. */
  resources: string[];
  approved_at: string;
  updated_at: string;
}

/** Families handled at a time (each a family write and a session delete). */
const CONCURRENCY = 4;
/** The longest client id accepted (a metadata document URL is at most 2048 characters elsewhere too). */
const MAX_CLIENT_ID = 2048;

/**
 * "Revoke this app": the person lists the OAuth clients they approved, and disconnects one while keeping the others,
 * the Google grant and their browser sessions. Only with the bearer of their own sign-in (as /auth/revoke).
 *
 * Disconnecting records when it happened (ClientDisconnectionMarks: codes from earlier sign-ins issue nothing), deletes
 * the approval (no new authorization skips the consent page from then on), then revokes every refresh family the
 * index lists for this user and client and ends its session, and deletes the index entry last, so a failure part-way
 * (S3: 503 with Retry-After) leaves what is left listed for the same request to finish.
 */
@Injectable()
export class ClientDisconnection {
  constructor(
    private readonly approvals: ClientApprovals,
    private readonly index: ClientFamilyIndex,
    private readonly marks: ClientDisconnectionMarks,
    private readonly families: RefreshTokenFamilies,
    private readonly sessions: SessionStore,
    private readonly tokens: BearerTokenService,
    private readonly resources: ProtectedResources,
    private readonly audit: AuditLog,
  ) {}

  /** The applications the token's user has approved, oldest approval first. */
  async list(token: string): Promise<{ clients: ConnectedClient[] }> {
    const email = await this.personOf(token, 'list-clients');
    const approvals = await this.approvals.listApprovals(email);
    const clients = approvals
      .filter((a) => a.grants.length > 0)
      .sort((a, b) => a.approvedAt.localeCompare(b.approvedAt))
      .map((a) => ({
        client_id: a.clientId,
        scopes: [...new Set(a.grants.flatMap((g) => g.scopes))],
        resources: a.grants.map((g) => g.resource),
        approved_at: a.approvedAt,
        updated_at: a.updatedAt,
      }));
    return { clients };
  }

  /** Disconnects one application of the token's user (idempotent: an unknown or disconnected client changes nothing). */
  async disconnect(token: string, clientId: string, ip?: string): Promise<{ disconnected: true }> {
    const email = await this.personOf(token, 'disconnect-client');
    if (!clientId || clientId.length > MAX_CLIENT_ID) {
      throw new BadRequestError(`Name the application to disconnect by its client_id (1 to ${MAX_CLIENT_ID} characters, URL-encoded in the path); GET /auth/clients lists them.`, 'invalid_client_id');
    }
    const startedAt = new Date();
    const [approved, known] = await Promise.all([this.approvals.hasApproval(email, clientId), this.index.list(email, clientId)]);
    if (!approved && known.length === 0) {
      // Never approved by this user, or already disconnected: nothing to change (also nothing written).
      this.audit.record({ event: 'revoke', outcome: 'noop', user: email, ip, detail: { reason: 'client disconnected by the user', clientId } });
      return { disconnected: true };
    }
    // The mark before the listing that counts: a code the client holds now, from a sign-in before this moment, issues
    // nothing once the mark is there, and one exchanged before it has its index entry listed below (see record).
    await this.marks.record(email, clientId, startedAt);
    await this.approvals.withdraw(email, clientId);
    const listed = await this.index.list(email, clientId);
    let sessionsEnded = 0;
    await eachTried(listed, CONCURRENCY, async ({ familyId, key }) => {
      // A family listed but not yet written (its exchange under way) gets a revoked placeholder, so that exchange's
      // create-only write fails and it issues nothing (the same race as a replayed code, see TokenEndpoint).
      const family = await this.families.revokeForReplayedCode({ familyId, clientId, email });
      // The index is keyed by this user and client; the family is checked anyway before its session is ended.
      if (family && family.email === email && family.clientId === clientId && family.sessionId) {
        const session = await this.sessions.findInStorage(family.sessionId);
        if (session && session.email === email) {
          await this.sessions.end(session);
          sessionsEnded += 1;
        }
      }
      await this.index.forget([key]);
    });
    this.audit.record({ event: 'revoke', outcome: 'success', user: email, ip, detail: { reason: 'client disconnected by the user', clientId, grantsEnded: listed.length, sessionsEnded } });
    return { disconnected: true };
  }

  /** The person whose own live sign-in bearer this is; anything else is refused before anything is read. */
  private async personOf(token: string, action: BearerAction): Promise<string> {
    const claims = verifyWholeServiceBearer(this.tokens, this.resources, token, action);
    const session = await this.sessions.find(claims.sid);
    if (!session || session.email !== claims.sub) {
      throw new UnauthorizedError(
        'The session of this bearer token has ended (logout or revocation), so nothing was read or changed. Sign in again at /auth/google for a new one.',
        'session_ended',
        { 'WWW-Authenticate': unauthorizedChallenge(this.resources.root, true) },
      );
    }
    return session.email;
  }
}
