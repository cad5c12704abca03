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
