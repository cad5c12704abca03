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
 * `drive.file` is listed as Google counts it: the files the application holding the grant (the broker) made or the
 * person opened with it, which Google itself enforces on the broker's calls. On an OAuth client's token it reaches
 * only the files that client created (tokenReach).
 */
export const REQUIRED_SCOPES = {
  gmailRead: [`${G}gmail.readonly`, `${G}gmail.modify`, 'https://mail.google.com/'],
  gmailModify: [`${G}gmail.modify`, 'https://mail.google.com/'],
  gmailSend: [`${G}gmail.send`, `${G}gmail.compose`, `${G}gmail.modify`, 'https://mail.google.com/'],
  gmailCompose: [`${G}gmail.compose`, `${G}gmail.modify`, 'https://mail.google.com/'],
  driveRead: [`${G}drive.readonly`, `${G}drive`, `${G}drive.file`, `${G}drive.metadata.readonly`],
  driveContent: [`${G}drive.readonly`, `${G}drive`, `${G}drive.file`],
  // drive.file (files the app creates) is the least privilege that can create one.
  driveCreate: [`${G}drive.file`, `${G}drive`],
  docsRead: [`${G}documents.readonly`, `${G}documents`, `${G}drive.readonly`, `${G}drive`, `${G}drive.file`],
  docsWrite: [`${G}documents`, `${G}drive`, `${G}drive.file`],
  docsCreate: [`${G}documents`, `${G}drive`, `${G}drive.file`],
  sheetsRead: [`${G}spreadsheets.readonly`, `${G}spreadsheets`, `${G}drive.readonly`, `${G}drive`, `${G}drive.file`],
  sheetsWrite: [`${G}spreadsheets`, `${G}drive`, `${G}drive.file`],
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

/** Scopes Google limits to the files of the application that holds the grant. */
export const APP_FILE_SCOPES: readonly string[] = [`${G}drive.file`];

/**
 * How much of the user's files a bearer token's scopes reach for a kind of call: `all` of them, only those the
 * token's OAuth client created through the service (`own`), or `none`.
 *
 * `own` is `drive.file` on an OAuth client's token when nothing broader there meets `need`. Google limits drive.file
 * to the files of the application holding the grant, and that is the broker, whose grant is broader
 * (drive.readonly by default; every call goes out with it). So the service keeps the rule itself, per OAuth client:
 * what a client creates carries a private marker (app-files/app-file-marker.ts), and its drive.file token reaches
 * only files with its marker. A browser sign-in's token speaks for the person through the broker itself, so there the
 * scope counts as Google counts it (a deployment whose GOOGLE_SCOPES has drive.file and no broader Drive scope reads
 * back the files it created), and reaches `all`: Google applies its own limit.
 */
export function tokenReach(need: ScopeNeed, scopes: readonly string[], oauthClient: boolean): 'all' | 'own' | 'none' {
  const options = REQUIRED_SCOPES[need];
  const broad = oauthClient ? options.filter((s) => !APP_FILE_SCOPES.includes(s)) : options;
  if (broad.some((s) => scopes.includes(s))) return 'all';
  return options.some((s) => APP_FILE_SCOPES.includes(s) && scopes.includes(s)) ? 'own' : 'none';
}

/** The needs a bearer token's `scopes` do not meet at all (tokenReach `none`). */
export function unmetTokenNeeds(needs: readonly ScopeNeed[], scopes: readonly string[], oauthClient: boolean): ScopeNeed[] {
  return needs.filter((n) => tokenReach(n, scopes, oauthClient) === 'none');
}

/** The narrowest scope of `need` that reaches every file, not only an application's own: what a client steps up to. */
export function everyFileScope(need: ScopeNeed): string {
  return REQUIRED_SCOPES[need].find((s) => !APP_FILE_SCOPES.includes(s)) ?? recommendedScope(need);
}
