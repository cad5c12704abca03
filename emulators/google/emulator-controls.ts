import type { Endpoint, Failure } from './failures.js';
import type { ApiCall } from './google-state.js';
import type { DriveFile } from './workspace-api/drive-store.js';
import type { ParsedMail } from './workspace-api/mime-parse.js';

/* What a test or the local run sees of the Google emulator: how it is started and the controls it has. */

export interface GoogleEmulatorOptions {
  /** 0 (default): a free port. */
  port?: number;
  clientId?: string;
  clientSecret?: string;
  accessTokenTtlSeconds?: number;
  /**
   * A JSON file that keeps grants, tokens and Workspace data across restarts (the local run's LOCAL_DATA_DIR);
   * read at start, written shortly after each request and at stop(). Without it, everything lives in memory.
   */
  stateFile?: string;
}

/** A Google stand-in for tests and the local run, with controls to make it misbehave the ways the real one can. */
export interface GoogleEmulator {
  /** http://127.0.0.1:PORT */
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Values for GOOGLE_AUTH_URL, GOOGLE_TOKEN_URL, GOOGLE_USERINFO_URL, GOOGLE_REVOKE_URL, GOOGLE_API_ROOT_URL. */
  readonly urls: { auth: string; token: string; userinfo: string; revoke: string; apiRoot: string };
  /**
   * Acts as the person on Google's consent page, over HTTP: opens the authorize URL (the service's 302 Location),
   * submits the form, and returns where Google sends the browser back (`redirect_uri?code&state`, or
   * `?error=access_denied&state` when `deny`). Throws with Google's error when the authorize URL is refused.
   */
  /** Signs in on the consent page as `user`; `withhold` lists API scopes whose checkbox is unticked (granular consent). */
  approve(authorizeUrl: string, user: { email: string; emailVerified?: boolean; deny?: boolean; withhold?: string[] }): Promise<string>;
  /**
   * Every current access token of the user is now expired (401 at the APIs and userinfo); with `olderThanMs`, only
   * those issued at least that long ago (as real expiries never hit a token Google has just issued).
   */
  expireAccessTokens(email: string, opts?: { olderThanMs?: number }): void;
  /** The user removes the app's access: refresh and access tokens revoked, grant forgotten (refresh -> invalid_grant). */
  revokeUser(email: string): void;
  /**
   * Google kills the user's refresh tokens silently (password change, six months unused, too many tokens, admin
   * policy): refreshes answer invalid_grant, but the consent is remembered, so a sign-in without prompt=consent
   * brings no new refresh token. Access tokens already issued work until they expire.
   */
  killRefreshTokens(email: string): void;
  /** refresh_token grants answered successfully, for one user or in total. */
  refreshCount(email?: string): number;
  /** Fails the endpoint's next call (queued: two calls fail the next two). `timeout` never answers until stop(). */
  failNext(endpoint: Endpoint, failure: Failure): void;
  /**
   * Refresh token rotation on or off (off at start): each refresh answers with a new refresh token and refuses the
   * used one with invalid_grant from then on; a new grant with a refresh token revokes the user's older ones.
   */
  rotateRefreshTokens(on: boolean): void;
  /** True while Google would accept this refresh token. */
  refreshTokenWorks(token: string): boolean;
  /**
   * Holds the endpoint's next call before Google looks at it; `arrived` resolves when it came in, `release()` lets
   * Google process it. stop() releases whatever is still held.
   */
  holdNext(endpoint: Endpoint): { arrived: Promise<void>; release(): void };
  /** The next code exchange answers without refresh_token, as if Google thought the user had granted before. */
  omitRefreshTokenOnNextCodeExchange(): void;
  /** Ids of the user's emulated Gmail messages, in list order. */
  messageIds(email: string): string[];
  /** Ids of the user's emulated items of one API, in list order. */
  itemIds(api: 'gmail' | 'drive' | 'calendar', email: string): string[];
  /**
   * A user's Drive file as the emulator holds it (bytes, a Doc's paragraphs, a Sheet's cells), or undefined; the
   * seeded Drive ids (itemIds('drive')) are a Doc (0 and 4), a PDF shared by link (1), a text file (2), a Sheet (3).
   */
  driveFile(email: string, id: string): Readonly<DriveFile> | undefined;
  /**
   * Shares a user's Drive file with another user, as Drive's sharing does: the same file (its content, its
   * appProperties) is then in the other user's Drive too, found by id and by search, with a permission for them.
   */
  shareDriveFile(ownerEmail: string, id: string, withEmail: string, role: 'writer' | 'reader'): void;
  /** Ids of the user's seeded Google Docs (Docs API documents; Drive items 0 and 4). */
  documentIds(email: string): string[];
  /** Id of the user's seeded Google Sheet (Sheets API spreadsheet with `Sheet1`; Drive item 3). */
  spreadsheetId(email: string): string;
  /** A draft the user saved (headers, text and HTML of its RFC 2822 source), or undefined. */
  draft(email: string, id: string): ParsedMail | undefined;
  /** Ids of the user's three contacts (People API `people/{id}`): Ada Lovelace, Grace Hopper, Alan Turing. */
  contactIds(email: string): string[];
  /** Tokens received at the revoke endpoint, in order (also when a failure was injected). */
  readonly revocations: readonly string[];
  /** Workspace API calls received, in order; `email` is '' when the token was unknown. */
  readonly apiCalls: readonly ApiCall[];
  stop(): Promise<void>;
}
