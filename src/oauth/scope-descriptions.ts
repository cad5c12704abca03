import { SCOPE_VOCABULARY } from '../common/google-scopes.js';

const G = 'https://www.googleapis.com/auth/';

/** Each scope of the vocabulary in the words the consent page uses (what the application could do). */
const SENTENCES: Readonly<Record<string, string>> = {
  [`${G}gmail.readonly`]: 'Read your email and its attachments.',
  [`${G}gmail.modify`]: 'Read, send, label, archive and delete your email (not permanently).',
  'https://mail.google.com/': 'Full access to your email: read, send, and permanently delete it.',
  [`${G}gmail.send`]: 'Send email as you.',
  [`${G}gmail.compose`]: 'Write drafts and send email as you.',
  [`${G}drive.readonly`]: 'See and download all your Google Drive files.',
  [`${G}drive`]: 'See, edit, create and delete all your Google Drive files.',
  // Per application and person: the service marks what each OAuth client creates for each user and holds its
  // drive.file to those files (google-scopes.ts, tokenReach; workspace/app-files/app-file-marker.ts).
  [`${G}drive.file`]: 'Create new files, folders, Docs and Sheets in your Google Drive, and see and change the ones this application created (not the others you have).',
  [`${G}drive.metadata.readonly`]: 'See the names and details of your Google Drive files (not their content).',
  [`${G}documents.readonly`]: 'Read your Google Docs.',
  [`${G}documents`]: 'See, edit, create and delete your Google Docs.',
  [`${G}spreadsheets.readonly`]: 'Read your Google Sheets.',
  [`${G}spreadsheets`]: 'See, edit, create and delete your Google Sheets.',
  [`${G}contacts.readonly`]: 'See your contacts.',
  [`${G}contacts`]: 'See, edit and delete your contacts.',
  [`${G}calendar.readonly`]: 'See your calendars and events.',
  [`${G}calendar`]: 'See, edit, share and delete your calendars and events.',
  [`${G}calendar.events`]: 'See, create, edit and delete events on your calendars.',
  [`${G}calendar.events.readonly`]: 'See the events on your calendars.',
  [`${G}calendar.freebusy`]: 'See when you are free or busy.',
  [`${G}tasks.readonly`]: 'See your task lists and tasks.',
  [`${G}tasks`]: 'See, create, edit and delete your task lists and tasks.',
};

/** The scopes that have no sentence (a test keeps this empty as the vocabulary grows). */
export function undescribedScopes(): string[] {
  return SCOPE_VOCABULARY.filter((s) => !SENTENCES[s]);
}

/** A scope in plain words; an unknown one is shown as it is (never hidden from the person). */
export function describeScope(scope: string): string {
  return SENTENCES[scope] ?? scope;
}
