import { z } from 'zod';
// The scope vocabulary is a table with no imports of its own (a leaf), read here only to check GOOGLE_SCOPES at boot:
// one list for the routes, the OAuth server and the configuration, so they cannot disagree.
import { SCOPE_VOCABULARY } from '../common/google-scopes.js';

const DEFAULT_SCOPES = [
  'https://www.googleapis.com/auth/gmail.readonly',
  'https://www.googleapis.com/auth/drive.readonly',
  'https://www.googleapis.com/auth/calendar.readonly',
].join(' ');

const GOOGLE_SCOPE_PREFIX = 'https://www.googleapis.com/auth/';
/** Short name -> Google scope URL: `gmail.send` -> https://www.googleapis.com/auth/gmail.send, `mail.google.com` -> https://mail.google.com/. */
const SCOPE_BY_SHORT_NAME = new Map(
  [...SCOPE_VOCABULARY, `${GOOGLE_SCOPE_PREFIX}userinfo.email`, `${GOOGLE_SCOPE_PREFIX}userinfo.profile`].map((url) => [
    url.startsWith(GOOGLE_SCOPE_PREFIX) ? url.slice(GOOGLE_SCOPE_PREFIX.length) : url.replace(/^https:\/\//, '').replace(/\/$/, ''),
    url,
  ]),
);
const SIGN_IN_SCOPES = new Set(['openid', 'email', 'profile']);

/**
 * GOOGLE_SCOPES as Google scope URLs: short names expanded, full URLs and the OpenID names kept, anything else
 * refused (Google would refuse it at sign-in, and no route could use it). Returns the unknown names instead when any.
 */
function expandGoogleScopes(raw: string): { scopes: string[]; unknown: string[] } {
  const scopes: string[] = [];
  const unknown: string[] = [];
  for (const name of raw.split(/[\s,]+/).filter(Boolean)) {
    if (SIGN_IN_SCOPES.has(name) || [...SCOPE_BY_SHORT_NAME.values()].includes(name)) scopes.push(name);
    else if (SCOPE_BY_SHORT_NAME.has(name)) scopes.push(SCOPE_BY_SHORT_NAME.get(name) as string);
    else unknown.push(name);
  }
  return { scopes: [...new Set(scopes)], unknown };
}

/** GOOGLE_SCOPES: the scopes every sign-in asks for, as Google scope URLs; unknown names are refused at boot. */
export const googleScopesSetting = z
  .string()
  .default(DEFAULT_SCOPES)
  .transform((raw, ctx) => {
    const { scopes, unknown } = expandGoogleScopes(raw);
    if (unknown.length) {
      ctx.addIssue({
        code: 'custom',
        message: `has unknown scope ${unknown.map((u) => `"${u.slice(0, 80)}"`).join(', ')}: use short names (${[...SCOPE_BY_SHORT_NAME.keys()].join(', ')}) or their https://www.googleapis.com/auth/... URLs`,
      });
      return z.NEVER;
    }
    return scopes;
  });
