import { Injectable, Logger } from '@nestjs/common';
import { DomainError } from '../../common/domain-error.js';
import { everyFileScope } from '../../common/google-scopes.js';
import { insufficientScopeChallenge } from '../../sessions/bearer-challenge.js';
import type { ProtectedResource } from '../../sessions/protected-resources.js';
import { GoogleApis } from '../google-apis.js';
import { GoogleCaller } from '../google-caller.js';
import { googleId } from '../ids.js';
import { authorizeAgainStep } from '../token-scope.guard.js';
import { carriesMarker, markedProperties, type FileScope } from './app-file-marker.js';

/**
 * The 403 for a file an own-files-only token may not reach: the same `insufficient_scope` and step-up challenge as a
 * token without the scope (TokenScopeGuard), naming the scope that reaches every file. The answer is the same
 * whether the file exists or not (AppFiles.refuseOthers says why).
 */
export class NotOwnFileError extends DomainError {
  constructor(resource: ProtectedResource, files: FileScope, fileId: string) {
    const scopes = [...files.stepUp];
    super(
      403,
      'insufficient_scope',
      `This token's Google Drive access is drive.file, which reaches only the files this application created through this service, and ${fileId} is not one of them (or does not exist). Reaching it needs the Google scope ${scopes.join(' ')}, which this access token does not carry. ${authorizeAgainStep(scopes)}`,
      { 'WWW-Authenticate': insufficientScopeChallenge(resource, scopes) },
      { scope: scopes.join(' ') },
    );
  }
}

/**
 * The Drive file ids among `input`'s fields `names` (an operation's fileInputs): the values that are Google ids.
 * Anything else is left to the operation's input schema, which refuses it before a call is made.
 */
export function fileIdsIn(names: readonly string[], input: Readonly<Record<string, unknown>>): string[] {
  return names.map((n) => input[n]).filter((v): v is string => googleId.safeParse(v).success);
}

/** A Doc or Sheet made through its own API, for AppFiles.markCreated. */
export interface CreatedFile {
  kind: 'document' | 'spreadsheet';
  id: string;
  url: string;
}

/** Google's own failures (5xx, timeouts, the network) may pass; a refusal (4xx) would be the same again. */
function worthRetrying(err: unknown): boolean {
  return !(err instanceof DomainError) || err.status >= 500;
}

/** The marks of drive.file per OAuth client (app-file-marker.ts) as Google calls: checking them, and marking. */
@Injectable()
export class AppFiles {
  private readonly logger = new Logger('AppFiles');

  constructor(
    private readonly google: GoogleCaller,
    private readonly apis: GoogleApis,
  ) {}

  /**
   * Refuses with `refusal(id)` unless every file of `ids` carries the client's mark: one files.get (fields
   * appProperties) each, before the call that reads or changes it. Google's 404 (no such file, or none this user
   * can see) is refused the same way: the client learns nothing about files that are not its own, not even whether
   * they exist, as an application holding drive.file at Google would not (Google answers it 404 for both). Other
   * failures are Google's and mapped as any call's.
   */
  async refuseOthers(email: string, files: FileScope, ids: readonly string[], refusal: (fileId: string) => DomainError): Promise<void> {
    for (const fileId of new Set(ids)) {
      let properties: unknown;
      try {
        properties = await this.google.call(email, 'Drive', 'driveRead', async (u) => (await this.apis.drive(u).files.get({ fileId, fields: 'appProperties', supportsAllDrives: true })).data.appProperties);
      } catch (err) {
        if (err instanceof DomainError && err.status === 404) throw refusal(fileId);
        throw err;
      }
      if (!carriesMarker(properties, files.marker)) throw refusal(fileId);
    }
  }

  /**
   * Marks a Doc or Sheet just made through the Docs or Sheets API as the client's: a Drive files.update of
   * appProperties alone (those APIs take none). Setting the same property twice changes nothing, so Google's
   * failures are tried once more after GoogleCaller's own retries (which leave timeouts alone). If the mark still
   * fails, the file exists in the user's Drive unmarked. A token that needs the mark (FileScope.markRequired) can
   * never reach it: the answer is an error (502 `file_not_marked`) naming the file and its address, never a success
   * that would leave the client believing it can come back to it. A token that reaches the file without the mark
   * gets its file as if nothing happened (only a later drive.file-only token of the client would miss it), and the
   * log says which file went unmarked. Either way the audit trail (action drive.file.mark) has the failure.
   */
  async markCreated(email: string, files: FileScope | undefined, created: CreatedFile): Promise<void> {
    if (!files) return;
    const mark = () =>
      this.google.call(
        email,
        'Drive',
        'driveCreate',
        async (u) => (await this.apis.drive(u).files.update({ fileId: created.id, requestBody: markedProperties(files), fields: 'id', supportsAllDrives: true })).data,
        { action: 'drive.file.mark', target: created.id },
      );
    try {
      await mark();
      return;
    } catch (first) {
      if (!worthRetrying(first)) return this.unmarked(created, files, first);
    }
    try {
      await mark();
    } catch (second) {
      this.unmarked(created, files, second);
    }
  }

  /** Logs a file left unmarked, and throws 502 `file_not_marked` when the token cannot reach it without its mark. */
  private unmarked(created: CreatedFile, files: FileScope, err: unknown): void {
    const why = err instanceof DomainError ? err.error : (err as Error)?.name;
    this.logger.warn({ msg: 'created file left unmarked', kind: created.kind, fileId: created.id, error: why, answered: files.markRequired ? 'file_not_marked' : 'created' });
    if (!files.markRequired) return;
    const scope = everyFileScope(created.kind === 'document' ? 'docsWrite' : 'sheetsWrite');
    throw new DomainError(
      502,
      'file_not_marked',
      `The ${created.kind} ${created.id} was created (${created.url}), but Google did not take the mark that lets this application reach it again with drive.file (${why}). It stays in the user's Drive, and this token cannot read or change it: do not create it again; ask the user to open or remove it there, or authorize again with scope "${scope}" to reach it.`,
      {},
      { fileId: created.id, url: created.url },
    );
  }
}
