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
  calendarRead: [`${G}calendar.readonly`, `${G}calendar`, `${G}calendar.events`, `${G}calendar.events.readonly`],
  calendarWrite: [`${G}calendar`, `${G}calendar.events`],
  calendarFreeBusy: [`${G}calendar.freebusy`, `${G}calendar.readonly`, `${G}calendar`],
  tasksRead: [`${G}tasks.readonly`, `${G}tasks`],
  tasksWrite: [`${G}tasks`],
} as const;

export type ScopeNeed = keyof typeof REQUIRED_SCOPES;

/** The scope to ask for when none of `need` was granted, or undefined when one was. */
export function missingScope(need: ScopeNeed, granted: readonly string[]): string | undefined {
  const options = REQUIRED_SCOPES[need];
  return options.some((s) => granted.includes(s)) ? undefined : options[0];
}
