import { sha256Url } from '../../common/sha256.js';
import { APP_FILE_SCOPES, everyFileScope, REQUIRED_SCOPES, tokenReach, type ScopeNeed } from '../../common/google-scopes.js';

/*
 * drive.file per OAuth client. Google limits drive.file to "files this application created or the user opened with
 * it", but the application Google sees is the broker, whose grant is broader. So whenever an OAuth client creates a
 * Drive file, folder, Doc or Sheet, whatever scope its token holds, the service marks it in Drive's `appProperties`
 * with a digest of the client and the user, and a token whose only way to a call is drive.file reaches only files
 * with its own client's mark for that user (tokenReach `own`). Marking whatever scope created the file is Google's
 * rule too: its drive.file covers every file the application created, so a client the person later approves with
 * drive.file alone still reaches what it made with `drive` or `documents`.
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
  /**
   * The call creates a file that this token reaches again only through drive.file for some kind of call (REACHED_BY),
   * so unmarked it is out of the token's reach: a mark Google does not take fails the create (AppFiles.markCreated).
   * Otherwise the mark is kept for a later drive.file-only token of the client, and a failure to set it is logged,
   * not answered. False on a call that creates nothing.
   */
  markRequired: boolean;
}

/** What a bearer token says about who holds it and what it may do. */
export interface TokenView {
  /** The user the token speaks for. */
  email: string;
  /** The OAuth client the token was issued to; none for a browser sign-in's. */
  clientId?: string;
  scopes: readonly string[];
}

/** The kinds of call drive.file can meet: the ones that create, read or change Drive files, Docs and Sheets. */
const FILE_NEEDS = (Object.keys(REQUIRED_SCOPES) as ScopeNeed[]).filter((n) => REQUIRED_SCOPES[n].some((s) => APP_FILE_SCOPES.includes(s)));

/**
 * The kinds of call that create a file, which every OAuth client's token marks, each with the kinds of call that
 * reach such a file once it exists: a Drive file or folder through Drive (a folder as the parent of a new file too),
 * a Doc or Sheet through Drive and its own API. Creating is not reaching: a token whose drive.file only creates
 * (an MCP client's drive.readonly, drive.file and documents) reaches its Doc whether the mark took or not.
 */
const REACHED_BY: Readonly<Partial<Record<ScopeNeed, readonly ScopeNeed[]>>> = {
  driveCreate: ['driveRead', 'driveContent', 'driveCreate'],
  docsCreate: ['driveRead', 'driveContent', 'docsRead', 'docsWrite'],
  sheetsCreate: ['driveRead', 'driveContent', 'sheetsRead', 'sheetsWrite'],
};
const CREATES = Object.keys(REACHED_BY) as ScopeNeed[];

/**
 * The FileScope of a call making `needs` with `token`, or undefined when marks play no part: a browser sign-in's
 * token (Google applies drive.file to the broker itself), a call outside Drive, Docs and Sheets, and a call of a
 * token without drive.file that creates nothing (it is not held to marks, and there is nothing to mark).
 */
export function fileScopeOf(token: TokenView, needs: readonly ScopeNeed[]): FileScope | undefined {
  if (token.clientId === undefined) return undefined;
  const holdsFileScope = APP_FILE_SCOPES.some((s) => token.scopes.includes(s));
  // No digest to compute on a request that neither creates nor may be limited to the client's files: every Gmail
  // or Calendar call, and every read of a token without drive.file.
  if (!needs.some((n) => (holdsFileScope ? FILE_NEEDS : CREATES).includes(n))) return undefined;
  const stepUp = [...new Set(needs.filter((n) => tokenReach(n, token.scopes, true) === 'own').map(everyFileScope))];
  const reachedBy = needs.flatMap((n) => REACHED_BY[n] ?? []);
  const markRequired = holdsFileScope && reachedBy.some((n) => tokenReach(n, token.scopes, true) === 'own');
  return { marker: markerOf(token.clientId, token.email), ownOnly: stepUp.length > 0, stepUp, markRequired };
}

/** The appProperties that mark a new file as the client's (none when the call has no FileScope). */
export function markedProperties(files: FileScope | undefined): { appProperties: Record<string, string> } | Record<string, never> {
  return files ? { appProperties: { [MARKER_KEY]: files.marker } } : {};
}

/** Whether a file's appProperties (as files.get answers them) carry `marker`. */
export function carriesMarker(appProperties: unknown, marker: string): boolean {
  return typeof appProperties === 'object' && appProperties !== null && (appProperties as Record<string, unknown>)[MARKER_KEY] === marker;
}
