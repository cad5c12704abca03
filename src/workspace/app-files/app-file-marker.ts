import { sha256Url } from '../../common/sha256.js';
import { APP_FILE_SCOPES, everyFileScope, REQUIRED_SCOPES, tokenReach, type ScopeNeed } from '../../common/google-scopes.js';

/*
 * drive.file per OAuth client. Google limits drive.file to "files this application created or the user opened with
 * it", but the application Google sees is the broker, whose grant is broader. So when an OAuth client's token that
 * carries drive.file creates a Drive file, folder, Doc or Sheet, the service marks it in Drive's `appProperties`
 * with a digest of the client and the user, and a token whose only way to a call is drive.file reaches only files
 * with its own client's mark for that user (tokenReach `own`).
 *
 * appProperties are private to the Google OAuth client that set them (the broker's): no other Google app can read,
 * search or change them, the person's Drive UI included. Inside the service, only this module makes the property:
 * no route or tool takes appProperties (their schemas are strict), so no caller, whatever its token, can set, change
 * or remove a mark. Nothing is stored in S3.
 */

/** The key of the mark: short, so the whole digest fits Drive's 124 bytes of key and value. */
export const MARKER_KEY = 'wsbCreatedBy';

/**
 * The mark of an OAuth client for one user: SHA-256 of the client_id and the user's email, base64url (43 characters;
 * with the key, 55 bytes of Drive's 124). A digest, because a client_id may be a Client ID Metadata Document's URL of
 * hundreds of characters; the whole digest, because it costs nothing and leaves no collision to reason about.
 *
 * Per user, as Google grants drive.file per user: anyone may connect the same public client (a metadata document's
 * URL is everyone's), so with a mark of the client alone a file one user made through it and shared with another
 * would be "the client's own" in the other's Drive too: listed, read and written, and a folder to put the other's
 * files in (oauth-drive-file-users e2e). Files created by the same client_id for a user are that client's files for
 * that user for good; a client registered anew gets a new id and reaches none of them. Neither value holds a newline
 * (client ids are `wsb_…` or normalised URLs, emails are validated), so the two cannot run into each other.
 */
export function markerOf(clientId: string, email: string): string {
  return sha256Url(`${clientId}\n${email}`);
}

/** What an OAuth client's token does about drive.file marks on one call. */
export interface FileScope {
  /** The client's mark: put on whatever the call creates. */
  marker: string;
  /** Only files carrying `marker` may be reached: drive.file is the token's only way to one of the call's needs. */
  ownOnly: boolean;
  /** When ownOnly, the scopes that would reach every file for those needs: what a refusal asks the client to add. */
  stepUp: readonly string[];
}

/** What a bearer token says about who holds it and what it may do. */
export interface TokenView {
  /** The user the token speaks for. */
  email: string;
  /** The OAuth client the token was issued to; none for a browser sign-in's. */
  clientId?: string;
  scopes: readonly string[];
}

/**
 * The FileScope of a call making `needs` with `token`, or undefined when marks play no part: a browser sign-in's
 * token (Google applies drive.file to the broker itself), a token without drive.file (it neither marks nor is held
 * to marks), or a call outside Drive, Docs and Sheets.
 */
export function fileScopeOf(token: TokenView, needs: readonly ScopeNeed[]): FileScope | undefined {
  if (token.clientId === undefined || !APP_FILE_SCOPES.some((s) => token.scopes.includes(s))) return undefined;
  // A call none of whose needs drive.file can meet (Gmail, Calendar, ...) neither creates nor reaches files: no
  // digest to compute on every such request of a client whose token also carries drive.file.
  if (!needs.some((n) => REQUIRED_SCOPES[n].some((s) => APP_FILE_SCOPES.includes(s)))) return undefined;
  const stepUp = [...new Set(needs.filter((n) => tokenReach(n, token.scopes, true) === 'own').map(everyFileScope))];
  return { marker: markerOf(token.clientId, token.email), ownOnly: stepUp.length > 0, stepUp };
}

/** The appProperties that mark a new file as the client's (none when the call has no FileScope). */
export function markedProperties(files: FileScope | undefined): { appProperties: Record<string, string> } | Record<string, never> {
  return files ? { appProperties: { [MARKER_KEY]: files.marker } } : {};
}

/** Whether a file's appProperties (as files.get answers them) carry `marker`. */
export function carriesMarker(appProperties: unknown, marker: string): boolean {
  return typeof appProperties === 'object' && appProperties !== null && (appProperties as Record<string, unknown>)[MARKER_KEY] === marker;
}
