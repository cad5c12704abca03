const G = 'https://www.googleapis.com/auth/';

/**
 * What each kind of call needs: any one of the listed scopes (Google accepts a broader scope for a narrower job).
 * Checked against the user's granted scopes before calling Google, so a missing grant is a clear 403 naming the
 * scope (incremental authorization), not a failed call.
 */
export const REQUIRED_SCOPES = {
  gmailRead: [`${G}gmail.readonly`, `${G}gmail.modify`, 'https://mail.google.com/'],
  gmailModify: [`${G}gmail.modify`, 'https://mail.google.com/'],
  gmailSend: [`${G}gmail.send`, `${G}gmail.compose`, `${G}gmail.modify`, 'https://mail.google.com/'],
  gmailCompose: [`${G}gmail.compose`, `${G}gmail.modify`, 'https://mail.google.com/'],
  driveRead: [`${G}drive.readonly`, `${G}drive`, `${G}drive.file`, `${G}drive.metadata.readonly`],
  driveContent: [`${G}drive.readonly`, `${G}drive`, `${G}drive.file`],
  // drive.file (files the app created or the user opened with it) is the least privilege that can write.
  driveWrite: [`${G}drive.file`, `${G}drive`],
  docsRead: [`${G}documents.readonly`, `${G}documents`, `${G}drive.readonly`, `${G}drive`, `${G}drive.file`],
  docsWrite: [`${G}documents`, `${G}drive`, `${G}drive.file`],
  sheetsRead: [`${G}spreadsheets.readonly`, `${G}spreadsheets`, `${G}drive.readonly`, `${G}drive`, `${G}drive.file`],
  sheetsWrite: [`${G}spreadsheets`, `${G}drive`, `${G}drive.file`],
  contactsRead: [`${G}contacts.readonly`, `${G}contacts`],
  calendarRead: [`${G}calendar.readonly`, `${G}calendar`, `${G}calendar.events`, `${G}calendar.events.readonly`],
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
