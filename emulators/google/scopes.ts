/** Google's scope rules, as far as the emulated endpoints need them. */

const EMAIL = 'https://www.googleapis.com/auth/userinfo.email';
const PROFILE = 'https://www.googleapis.com/auth/userinfo.profile';

/**
 * Google answers the short OpenID names with their long forms (`email` comes back as `.../auth/userinfo.email`),
 * so a client comparing granted scopes with the ones it asked for meets that here too. Order kept, duplicates dropped.
 */
export function expandScopes(requested: string[]): string[] {
  const long = requested.map((s) => (s === 'email' ? EMAIL : s === 'profile' ? PROFILE : s));
  return [...new Set(long)];
}

/**
 * The scopes Google knows for the APIs the emulator stands in for (Google's OAuth 2.0 scopes list), besides the
 * OpenID ones. Google refuses anything else at its authorize endpoint with invalid_scope, including the short names
 * people write by habit (`gmail.send` instead of `https://www.googleapis.com/auth/gmail.send`).
 */
const KNOWN_API_SCOPES = new Set(
  [
    'userinfo.email', 'userinfo.profile',
    'gmail.readonly', 'gmail.modify', 'gmail.send', 'gmail.compose', 'gmail.insert', 'gmail.labels', 'gmail.metadata',
    'gmail.settings.basic', 'gmail.settings.sharing',
    'drive', 'drive.readonly', 'drive.file', 'drive.metadata', 'drive.metadata.readonly', 'drive.appdata', 'drive.scripts',
    'drive.photos.readonly', 'drive.apps.readonly',
    'documents', 'documents.readonly', 'spreadsheets', 'spreadsheets.readonly',
    'calendar', 'calendar.readonly', 'calendar.events', 'calendar.events.readonly', 'calendar.freebusy', 'calendar.settings.readonly',
    'calendar.events.owned', 'calendar.events.owned.readonly', 'calendar.calendarlist', 'calendar.calendarlist.readonly',
    'calendar.calendars', 'calendar.calendars.readonly', 'calendar.acls', 'calendar.acls.readonly', 'calendar.app.created',
    'tasks', 'tasks.readonly',
    'contacts', 'contacts.readonly', 'contacts.other.readonly', 'directory.readonly', 'user.emails.read',
  ].map((s) => `https://www.googleapis.com/auth/${s}`),
);
const OPENID = new Set(['openid', 'email', 'profile', 'https://mail.google.com/']);

/** The requested scopes Google would refuse (invalid_scope), in request order. */
export function invalidScopes(requested: string[]): string[] {
  return requested.filter((s) => !OPENID.has(s) && !KNOWN_API_SCOPES.has(s));
}

export const grantsEmail = (scopes: string[]) => scopes.includes(EMAIL) || scopes.includes('email');
export const grantsProfile = (scopes: string[]) => scopes.includes(PROFILE) || scopes.includes('profile');
/** Google returns an id_token when the grant includes any OpenID Connect scope. */
export const wantsIdToken = (scopes: string[]) => scopes.includes('openid') || grantsEmail(scopes) || grantsProfile(scopes);

export type Api = 'gmail' | 'drive' | 'calendar' | 'tasks' | 'docs' | 'sheets' | 'people';

/** Scope families that open an API at all (finer rules, read or write, are the API handlers'). */
const FAMILIES: Record<Exclude<Api, 'gmail'>, string[]> = {
  drive: ['drive'],
  calendar: ['calendar'],
  tasks: ['tasks'],
  // Docs and Sheets files are Drive files: Drive scopes open them too.
  docs: ['documents', 'drive'],
  sheets: ['spreadsheets', 'drive'],
  people: ['contacts'],
};

/** Whether any granted scope opens the API (read-only, metadata and full scopes all do). */
export function allowsApi(api: Api, scopes: string[]): boolean {
  const base = 'https://www.googleapis.com/auth/';
  if (api === 'gmail') return scopes.some((s) => s === 'https://mail.google.com/' || s.startsWith(`${base}gmail.`));
  return FAMILIES[api].some((family) => scopes.some((s) => s === `${base}${family}` || s.startsWith(`${base}${family}.`)));
}

/** Gmail's metadata-only scope cannot search: Google answers 403 to `q` unless a broader Gmail scope was granted. */
export function gmailCanSearch(scopes: string[]): boolean {
  return scopes.some((s) => s === 'https://mail.google.com/' || (s.startsWith('https://www.googleapis.com/auth/gmail.') && !s.endsWith('gmail.metadata')));
}
