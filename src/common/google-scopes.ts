/*
 * Google's OAuth scopes as the service understands them: which scopes satisfy each kind of Workspace call, and the
 * vocabulary OAuth clients may ask for. Pure data with no imports, kept in `common` so that configuration (which
 * expands GOOGLE_SCOPES), the authorization server and the Workspace routes share it without `config` importing
 * `workspace`.
 */
const G = 'https://www.googleapis.com/auth/';

/**
 * What each kind of call needs: any one of the listed scopes (Google accepts a broader scope for a narrower job).
 * Checked against the user's granted scopes before calling Google, so a missing grant is a clear 403 naming the
 * scope (incremental authorization), not a failed call.
 *
 * `drive.file` meets only the needs that create something new (driveCreate, docsCreate, sheetsCreate). At Google it
 * reaches the files "this application" made or the person opened with it, but the service calls Google with the
 * user's whole grant (GOOGLE_SCOPES: drive.readonly by default) and cannot tell which files an OAuth client made, so
 * a drive.file token accepted for a read or a change of an existing file reached all of the user's Drive, Docs and
 * Sheets, far beyond what the person approved.
 */
export const REQUIRED_SCOPES = {
  gmailRead: [`${G}gmail.readonly`, `${G}gmail.modify`, 'https://mail.google.com/'],
  gmailModify: [`${G}gmail.modify`, 'https://mail.google.com/'],
  gmailSend: [`${G}gmail.send`, `${G}gmail.compose`, `${G}gmail.modify`, 'https://mail.google.com/'],
  gmailCompose: [`${G}gmail.compose`, `${G}gmail.modify`, 'https://mail.google.com/'],
  driveRead: [`${G}drive.readonly`, `${G}drive`, `${G}drive.metadata.readonly`],
  driveContent: [`${G}drive.readonly`, `${G}drive`],
  // drive.file (files the app creates) is the least privilege that can create one.
  driveCreate: [`${G}drive.file`, `${G}drive`],
  docsRead: [`${G}documents.readonly`, `${G}documents`, `${G}drive.readonly`, `${G}drive`],
  docsWrite: [`${G}documents`, `${G}drive`],
  docsCreate: [`${G}documents`, `${G}drive`, `${G}drive.file`],
  sheetsRead: [`${G}spreadsheets.readonly`, `${G}spreadsheets`, `${G}drive.readonly`, `${G}drive`],
  sheetsWrite: [`${G}spreadsheets`, `${G}drive`],
  sheetsCreate: [`${G}spreadsheets`, `${G}drive`, `${G}drive.file`],
  contactsRead: [`${G}contacts.readonly`, `${G}contacts`],
  calendarRead: [`${G}calendar.readonly`, `${G}calendar`, `${G}calendar.events`, `${G}calendar.events.readonly`],
  // The user's list of calendars: Google's calendarList wants these, not calendar.events, which reaches events only.
  calendarList: [`${G}calendar.readonly`, `${G}calendar`],
  calendarWrite: [`${G}calendar`, `${G}calendar.events`],
  calendarFreeBusy: [`${G}calendar.freebusy`, `${G}calendar.readonly`, `${G}calendar`],
  tasksRead: [`${G}tasks.readonly`, `${G}tasks`],
  tasksWrite: [`${G}tasks`],
} as const;

export type ScopeNeed = keyof typeof REQUIRED_SCOPES;

/** The scope to ask for when a call needing `need` is refused: the narrowest that does the job. */
export function recommendedScope(need: ScopeNeed): string {
  return REQUIRED_SCOPES[need][0];
}

/** The scope to ask for when none of `need` was granted, or undefined when one was. */
export function missingScope(need: ScopeNeed, granted: readonly string[]): string | undefined {
  const options = REQUIRED_SCOPES[need];
  return options.some((s) => granted.includes(s)) ? undefined : recommendedScope(need);
}

/**
 * The scope vocabulary of the service: every Google scope URL some operation accepts. OAuth clients ask for these
 * (`scopes_supported` of both metadata documents), tokens carry them, and nothing else is a valid scope.
 */
export const SCOPE_VOCABULARY: readonly string[] = [...new Set(Object.values(REQUIRED_SCOPES).flat())];

/** Each Workspace API of the REST routes (`/v1/users/{userId}/<api>/...`) and the kinds of call it makes. */
export const WORKSPACE_API_NEEDS: Readonly<Record<string, readonly ScopeNeed[]>> = {
  gmail: ['gmailRead', 'gmailModify', 'gmailSend', 'gmailCompose'],
  drive: ['driveRead', 'driveContent', 'driveCreate'],
  calendar: ['calendarRead', 'calendarList', 'calendarWrite', 'calendarFreeBusy'],
  docs: ['docsRead', 'docsWrite', 'docsCreate'],
  sheets: ['sheetsRead', 'sheetsWrite', 'sheetsCreate'],
  tasks: ['tasksRead', 'tasksWrite'],
  contacts: ['contactsRead'],
};

/** Every scope that satisfies one of `needs`. */
export function scopesAccepted(needs: readonly ScopeNeed[]): string[] {
  return [...new Set(needs.flatMap((n) => REQUIRED_SCOPES[n]))];
}

/** The narrowest scope of each of `needs`: what to ask for to be able to do all of them. */
export function scopesToRequest(needs: readonly ScopeNeed[]): string[] {
  return [...new Set(needs.map(recommendedScope))];
}

/** The needs that none of `granted` satisfies. */
export function unmetNeeds(needs: readonly ScopeNeed[], granted: readonly string[]): ScopeNeed[] {
  return needs.filter((n) => missingScope(n, granted) !== undefined);
}
