import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { OneTimeMarkers } from '../sessions/one-time-markers.js';
import { OAuthError } from './oauth-error.js';
import { operatorDetail } from '../storage/storage.errors.js';

const logger = new Logger('OAuthFlow');

/** `used`: someone already took this value (a step that succeeded, or one still running). */
export type OneTimeOutcome<T> = { used: true } | { used: false; value: T };

/**
 * Runs a step of the authorization flow that may happen once per value: the decision of one consent form, the hop
 * back of one resume ticket. A create-only marker decides, across replicas, who is first; it is claimed with a
 * secret of this attempt alone, so the SDK's own retry of a claim whose answer was lost meets its marker and goes on,
 * while every other request (the same browser's double click too) is `used`.
 *
 * When the step fails on S3 (the claim itself, or a write after it: an approval, the code), the claim is given back
 * before the error is answered, so the person's retry (pressing Allow again, reloading the link: the 503 says so)
 * runs the step instead of being told "already used". That weakens nothing:
 * - what made the step this person's is checked again on the retry, before the claim: the form's seal and its
 *   binding to the browser's consent cookie and origin (CSRF), the ticket's seal and expiry;
 * - a failed step answered no code and no redirect to the client, so the retry is the first use that produces
 *   anything. What it may have written durably is what the retry writes again: an approval (merged, the person's own
 *   Allow) or a code object that nobody was given (it expires in 60 s);
 * - only the claim of this attempt, not completed, is removed (OneTimeMarkers.release, If-Match); a step that
 *   succeeded keeps its claim for good, and a refusal (OAuthError: the application was deleted, nothing granted)
 *   is final and keeps it too.
 * The wait for the give-back is bounded (S3 has just failed: a second S3_TIMEOUT_MS would double the wait for the
 * error); when S3 refuses it as well, the retry is told "already used" with a message that says this can follow a
 * failed attempt, and to connect again from the application.
 */
export async function runOnce<T>(markers: OneTimeMarkers, kind: string, value: string, step: () => Promise<T>): Promise<OneTimeOutcome<T>> {
  const claimant = randomBytes(16).toString('base64url');
  let claimed: boolean;
  try {
    claimed = await markers.claim(kind, value, claimant);
  } catch (err) {
    // S3 may have applied the claim and lost every answer.
    await giveBack(markers, kind, value, claimant);
    throw err;
  }
  if (!claimed) return { used: true };
  try {
    return { used: false, value: await step() };
  } catch (err) {
    if (!(err instanceof OAuthError)) await giveBack(markers, kind, value, claimant);
    throw err;
  }
}

/** Releases the claim (OneTimeMarkers.giveBack: a bounded wait); never throws, a failure is logged. */
async function giveBack(markers: OneTimeMarkers, kind: string, value: string, claimant: string): Promise<void> {
  await markers.giveBack(kind, value, claimant, (err: unknown) => {
    // The value is a one-time id; only its kind is logged.
    logger.warn({ msg: 'one-time claim not given back after a failed step; a retry is told it was already used', event: 'one_time_release_failed', kind, error: operatorDetail(err) });
  });
}
