import { Injectable } from '@nestjs/common';
import { DomainError } from '../common/domain-error.js';
import type { VersionedCredentials } from '../credentials/credentials.repository.js';
import { CredentialsService } from '../credentials/credentials.service.js';
import type { GoogleCredentials } from '../credentials/google-credentials.js';
import { GoogleTokenClient } from '../credentials/google-token.client.js';
import { grantFingerprint, markCovers, type RevocationMark, RevocationMarks } from '../credentials/revocation-marks.js';
import { RevocationWatermarks } from '../credentials/revocation-watermarks.js';
import { AuditLog } from '../observability/audit-log.js';
import { BearerTokenService } from '../sessions/bearer-token.service.js';
import { ProtectedResources } from '../sessions/protected-resources.js';
import { SessionStore } from '../sessions/session.store.js';
import { StorageError } from '../storage/storage.errors.js';
import { verifyWholeServiceBearer } from './whole-service-bearer.js';

/** Sessions signed in this close to the start of a revocation still end with it (clock skew between replicas and S3). */
const SIGN_IN_SKEW_MS = 60_000;
const RETRY_AFTER_SECONDS = '2';
/** Successors followed when Google no longer knows the token read: each is one rotation that landed meanwhile. */
const MAX_SUCCESSORS = 4;

/**
 * More of a user's data that a revocation erases, kept by a module above auth (oauth's client approvals), which
 * registers it at start-up so `auth` never imports `oauth`. `find` runs with the revocation's first reads (a read,
 * which ends nothing, so before the mark); `erase` runs with steps 2 to 4, after the mark is durable. Found this
 * early, a listing's round trip and CPU overlap the other reads instead of following the mark; what a step's data
 * gains in the milliseconds between the two (a consent given while the revocation runs) is as valid as what is
 * given just after it, and is kept.
 */
export interface RevocationStep<T = unknown> {
  /** What `find` does, as a 503 names it ("listing ... in S3"). */
  finding: string;
  /** What `erase` does, as a 503 names it ("deleting ... in S3"). */
  erasing: string;
  /** Reads what `erase` will erase; changes nothing. */
  find(email: string): Promise<T>;
  /** Erases what `find` found; idempotent, as a resumed revocation finds and erases again. */
  erase(email: string, found: T): Promise<void>;
}

/** 503: a revocation started and is not finished yet; the same request again finishes it. */
export class RevocationIncompleteError extends DomainError {
  constructor(step: string, cause: string) {
    super(
      503,
      'revocation_incomplete',
      `The revocation is not finished: ${step} failed (${cause}). Nothing is lost and no access was added: send the same ` +
        'revoke request again (this bearer token or any other live one of the same user) to finish it.',
      { 'Retry-After': RETRY_AFTER_SECONDS },
    );
  }
}

/**
 * Revocation in an order where every failure leaves a state a retry completes:
 * 1. write the durable mark and the user's revocation time (S3, RevocationWatermarks: codes and resume tickets from
 * an earlier sign-in are refused from now on), 2. revoke the grant at Google with the refresh token, then 3. delete the
 * credentials (S3), while 4. every session of the user ends and the registered steps run (S3, in parallel: the
 * OAuth client approvals are deleted), 5. clear the mark once all are done.
 * The user's sessions are listed together with the first reads (a read, which ends nothing); none is deleted
 * before the mark is durable.
 * The caller's own session may end in step 4 before step 2 or 3 fails: its bearer then finds the mark and resumes,
 * like any still valid bearer of the user. `{"revoked":true}` is answered only once Google confirmed and the
 * credentials are gone; the credentials are never deleted before Google confirmed.
 *
 * The credentials are read once, together with the session check, before the mark: the mark records which grant
 * is being revoked, and step 3 deletes the version read (If-Match; a newer version only while it holds the same
 * grant), so a sign-in that lands in between keeps its new grant without a second read.
 */
@Injectable()
export class Revocation {
  private readonly registered: RevocationStep[] = [];

  constructor(
    private readonly tokens: BearerTokenService,
    private readonly sessions: SessionStore,
    private readonly credentials: CredentialsService,
    private readonly google: GoogleTokenClient,
    private readonly marks: RevocationMarks,
    private readonly audit: AuditLog,
    private readonly resources: ProtectedResources,
    private readonly watermarks: RevocationWatermarks,
  ) {}

  /**
   * Revokes everything of the token's user. The token must be live (signed by us, unexpired) and for the whole
   * service: an expired, forged or foreign token, or one for a narrower resource, is refused and changes nothing.
   * A live token whose session has ended changes nothing, unless a revocation of that user is unfinished: then it
   * finishes it.
   */
  async revoke(token: string, ip?: string): Promise<void> {
    // Only a token for the whole service may end the account: one for /mcp or a single API is refused (401).
    const claims = verifyWholeServiceBearer(this.tokens, this.resources, token, 'revoke');
    const email = claims.sub;
    const startedAt = new Date();
    // The three reads at once: the credentials are needed whenever there is something to revoke (a live session,
    // or a mark to resume), and the user's sessions whenever the session is live. Reads end nothing, so making them
    // for a verified user who turns out to have nothing left to revoke changes nothing; no session is deleted
    // before the mark is durable.
    const [session, stored, listed, found] = await all([
      // From S3, not memory: a session logged out or revoked on another replica moments ago must not end the account.
      this.step('checking the session in S3', () => this.sessions.findInStorage(claims.sid)),
      this.step('reading the credentials in S3', () => this.credentials.findStoredVersion(email)),
      this.step('listing the sessions in S3', () => this.sessions.listForUser(email, signInCutoff(startedAt))),
      this.findRegistered(email),
    ]);
    const live = session !== undefined && session.email === email;
    let mark: RevocationMark | undefined;
    if (live) {
      mark = await this.start(email, stored, startedAt);
    } else {
      mark = await this.step('reading the revocation mark in S3', () => this.marks.find(email));
      if (!mark) {
        this.audit.record({ event: 'revoke', outcome: 'noop', user: email, ip, detail: { reason: 'session already ended' } });
        return;
      }
    }
    // A resumed revocation lists the sessions (and finds the rest) again from its mark's start.
    const outcome = await this.finish(email, mark, stored, live ? { sessions: listed, registered: found } : undefined);
    this.audit.record({ event: 'revoke', outcome: 'success', user: email, ip, detail: { ...outcome, resumed: !live } });
  }

  /** True when the user revoked at or after `signedInAt` (ms since the epoch): what that sign-in issued is void. */
  revokedSince(email: string, signedInAt: number): Promise<boolean> {
    return this.watermarks.revokedSince(email, signedInAt);
  }

  /** Adds a step every revocation runs with steps 2 to 4 (a failure in it leaves the mark, like theirs). */
  register<T>(step: RevocationStep<T>): void {
    this.registered.push(step as RevocationStep);
  }

  /** What each registered step will erase, in registration order. */
  private findRegistered(email: string): Promise<unknown[]> {
    return all(this.registered.map((s) => this.step(s.finding, () => s.find(email))));
  }

  /**
   * Step 1: the mark, with a fingerprint of the grant about to be revoked, and the revocation time that voids what
   * earlier sign-ins left in flight. Both before any session ends: should either write fail, the sessions are still
   * live and the same request starts over.
   */
  private async start(email: string, stored: VersionedCredentials | undefined, startedAt: Date): Promise<RevocationMark> {
    const grant = grantOf(stored?.credentials);
    const mark: RevocationMark = { version: 1, email, started_at: startedAt.toISOString(), ...(grant ? { grant_sha256: grantFingerprint(grant) } : {}) };
    await all([
      this.step('writing the revocation mark to S3', () => this.marks.put(mark)),
      this.step('recording the revocation time in S3', () => this.watermarks.record(email, startedAt)),
    ]);
    return mark;
  }

  /**
   * Steps 2 to 5; each is idempotent, so running them again after any failure is safe. `found`: the sessions
   * listed and the registered steps' finds made with the first reads; a resumed revocation makes them here, from
   * its mark's start.
   */
  private async finish(email: string, mark: RevocationMark, stored: VersionedCredentials | undefined, found?: { sessions: string[]; registered: unknown[] }): Promise<{ revokedAtGoogle: boolean; sessionsEnded: number }> {
    // The grants being revoked: the one the mark records, and successors a rotation wrote meanwhile (revokeGrant).
    const revoking = new Set(mark.grant_sha256 ? [mark.grant_sha256] : []);
    // A grant from a sign-in after the mark was written is not the one being revoked: leave it alone. A mark
    // without a fingerprint (S3 held no grant when it was written) covers only one stored before it (markCovers).
    const isRevoked = (c: GoogleCredentials | undefined) => {
      const g = grantOf(c);
      return g !== undefined && (revoking.has(grantFingerprint(g)) || markCovers(mark, { tokens: [g], storedAt: c?.updatedAt?.getTime() }));
    };
    const ours = stored !== undefined && isRevoked(stored.credentials);
    const revokeGrant = async () => {
      if (!ours) return;
      let target = stored;
      for (let followed = 0; ; followed++) {
        const { version, successorPending } = await this.revokeAtGoogle(email, target, revoking);
        const kept = await this.step('deleting the credentials from S3', () => this.credentials.deleteForRevocation(email, { etag: version.etag, same: isRevoked }));
        // Another grant met by the delete is a sign-in that landed meanwhile, kept; unless Google did not know the
        // token S3 still held: then a successor was on its way to S3, and this is taken for it (as revokeAtGoogle's
        // re-read does). Its replica may read the mark only after it is cleared, so it is revoked here.
        const next = kept && grantOf(kept.credentials);
        if (!next || !successorPending || followed >= MAX_SUCCESSORS) return;
        revoking.add(grantFingerprint(next));
        target = kept;
      }
    };
    const endSessions = () => (found ? this.sessions.endListed(email, found.sessions) : this.sessions.endAllForUser(email, signInCutoff(new Date(mark.started_at))));
    const others = async () => {
      const registered = found?.registered ?? (await this.findRegistered(email));
      await all(this.registered.map((s, i) => this.step(s.erasing, () => s.erase(email, registered[i]))));
    };
    const [, sessionsEnded] = await all([revokeGrant(), this.step('ending the sessions in S3', endSessions), others()]);
    await this.step('clearing the revocation mark in S3', () => this.marks.clear(email));
    return { revokedAtGoogle: ours, sessionsEnded };
  }

  /**
   * Step 2: revokes the stored grant at Google and returns the version to delete. Google answering that it does not
   * know the token means revoked already, or rotated away by a refresh on another replica that Google answered
   * just before; that refresh's successor is then the live grant, so S3 is read again and a successor found there
   * is revoked too (and joins `revoking`). A sign-in that lands in that same moment is taken for one: its sessions
   * end with this revocation anyway (signInCutoff), and the user signs in again. Successors written after this read
   * see the mark and revoke themselves (RevocationFence).
   */
  private async revokeAtGoogle(email: string, stored: VersionedCredentials, revoking: Set<string>): Promise<{ version: VersionedCredentials; successorPending: boolean }> {
    let target = stored;
    for (let followed = 0; ; followed++) {
      const answer = await this.revokeToken(grantOf(target.credentials) as string);
      if (answer === 'revoked' || followed >= MAX_SUCCESSORS) return { version: target, successorPending: false };
      const now = await this.step('reading the credentials in S3', () => this.credentials.findStoredVersion(email));
      const successor = grantOf(now?.credentials);
      // S3 still holds the token Google does not know (revoked already, or its successor is not in S3 yet), or none.
      if (!now || !successor || successor === grantOf(target.credentials)) {
        // Not in S3 because S3 refused this replica's write of it: the delete forgets it here, so it goes to Google
        // now. Looked for also when S3 holds nothing: another replica that saw S3 keep the dead token deleted it.
        const unwritten = this.credentials.unwrittenSuccessor(email, grantOf(target.credentials) as string);
        if (unwritten) await this.revokeToken(unwritten);
        return { version: target, successorPending: successor !== undefined };
      }
      revoking.add(grantFingerprint(successor));
      target = now;
    }
  }

  /** Google's answer to revoking `token`; one Google did not confirm ends the revocation with a 503 to retry. */
  private async revokeToken(token: string): Promise<'revoked' | 'unknown'> {
    const answer = await this.google.revoke(token);
    if (answer === 'unconfirmed') throw new RevocationIncompleteError('revoking the grant at Google', 'Google did not confirm; the credentials are kept until it does');
    return answer;
  }

  /** Runs one step; an S3 failure becomes a 503 that names the step and S3, with a retry hint. */
  private async step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      // The storage error's guidance names the bucket: it is logged (s3_call_failed), the caller is told only it was S3.
      if (err instanceof StorageError && err.code !== 'conflict') throw new RevocationIncompleteError(name, err.isOutage ? 'S3 did not answer' : 'S3 failed');
      throw err;
    }
  }

}

/** Sessions created before this end with a revocation started at `startedAt`. */
function signInCutoff(startedAt: Date): Date {
  return new Date(startedAt.getTime() + SIGN_IN_SKEW_MS);
}

function grantOf(credentials: GoogleCredentials | undefined): string | undefined {
  return credentials?.refreshToken ?? credentials?.token;
}

/**
 * Promise.all that waits for every step to settle before throwing the first failure (in the order given), so a
 * 503 is answered only once nothing of this request is still running.
 */
async function all<T extends readonly unknown[]>(steps: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(steps);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
