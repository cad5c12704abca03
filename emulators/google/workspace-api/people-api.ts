import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { AccessTokenInfo } from '../google-state.js';
import { apiError, EmulatorRequest, json } from '../http-util.js';

const G = 'https://www.googleapis.com/auth/';
const READ = [`${G}contacts.readonly`, `${G}contacts`];
const PEOPLE = [
  { given: 'Ada', family: 'Lovelace', email: 'ada@analytical.example', phone: '+44 20 7946 0001', org: 'Analytical Engines' },
  { given: 'Grace', family: 'Hopper', email: 'grace@cobol.example', phone: '+1 202 555 0102', org: 'US Navy' },
  { given: 'Alan', family: 'Turing', email: 'alan@bletchley.example', phone: '+44 20 7946 0003', org: 'Bletchley Park' },
];

/** Ids (`c` + digits) of a user's three contacts, derived from the email: stable, and different per user. */
export function contactIds(email: string): string[] {
  const digits = BigInt(`0x${createHash('sha256').update(`contacts:${email}`).digest('hex').slice(0, 12)}`).toString();
  return PEOPLE.map((_, i) => `c${digits}${i}`);
}

function person(email: string, i: number) {
  const p = PEOPLE[i];
  const id = contactIds(email)[i];
  return {
    resourceName: `people/${id}`,
    etag: `%E${id}`,
    names: [{ displayName: `${p.given} ${p.family}`, givenName: p.given, familyName: p.family }],
    emailAddresses: [{ value: p.email, type: 'work' }],
    phoneNumbers: [{ value: p.phone, type: 'mobile' }],
    organizations: [{ name: p.org, title: 'Pioneer' }],
    biographies: [{ value: `Contact of ${email}`, contentType: 'TEXT_PLAIN' }],
  };
}

// The person fields a mask may name (People API reference); a contact has only some of them set.
const FIELDS = new Set(
  ('addresses,ageRanges,biographies,birthdays,calendarUrls,clientData,coverPhotos,emailAddresses,events,externalIds,genders,imClients,' +
    'interests,locales,locations,memberships,metadata,miscKeywords,names,nicknames,occupations,organizations,phoneNumbers,photos,' +
    'relations,sipAddresses,skills,urls,userDefined').split(','),
);

/** The paths of a field mask, or the first path People does not know (answered with 400). */
function maskPaths(mask: string): { paths: string[]; unknown?: string } {
  const paths = mask.split(',').map((s) => s.trim().replace(/^person\./, ''));
  return { paths, unknown: paths.find((p) => !FIELDS.has(p)) };
}

/** Only the fields a mask names, as the People API answers. */
function masked(p: ReturnType<typeof person>, paths: string[]) {
  return Object.fromEntries(Object.entries(p).filter(([k]) => k === 'resourceName' || k === 'etag' || paths.includes(k)));
}

/** People v1: searchContacts and people.get over each user's three seeded contacts. */
export function peopleApi(req: EmulatorRequest, res: ServerResponse, user: AccessTokenInfo): boolean {
  if (req.method !== 'GET') return false;
  const path = req.url.pathname;
  const q = req.url.searchParams;
  if (!READ.some((s) => user.scopes.includes(s))) {
    return apiError(res, 403, 'PERMISSION_DENIED', 'Request had insufficient authentication scopes.', 'insufficientPermissions'), true;
  }
  const all = PEOPLE.map((_, i) => person(user.email, i));
  if (path === '/v1/people:searchContacts') {
    const mask = q.get('readMask');
    if (!mask) return apiError(res, 400, 'INVALID_ARGUMENT', 'readMask is required. Please specify one or more valid paths.', 'badRequest'), true;
    const { paths, unknown } = maskPaths(mask);
    if (unknown !== undefined) return apiError(res, 400, 'INVALID_ARGUMENT', `Invalid readMask path: "${unknown}".`, 'badRequest'), true;
    // People: 0 or absent means 10, more than 30 is cut to 30; only a negative size is refused.
    const asked = Number(q.get('pageSize') ?? 0);
    if (!Number.isInteger(asked) || asked < 0) return apiError(res, 400, 'INVALID_ARGUMENT', 'pageSize must not be negative.', 'badRequest'), true;
    const size = asked === 0 ? 10 : Math.min(asked, 30);
    const needle = (q.get('query') ?? '').toLowerCase();
    // Prefix match on any word of the name, or on the email.
    const hits = all.filter((p) => [...p.names[0].displayName.toLowerCase().split(' '), p.emailAddresses[0].value].some((w) => needle && w.startsWith(needle)));
    return json(res, 200, hits.length ? { results: hits.slice(0, size).map((p) => ({ person: masked(p, paths) })) } : {}), true;
  }
  const m = /^\/v1\/people\/(c\d+)$/.exec(path);
  if (!m) return false;
  const mask = q.get('personFields');
  if (!mask) return apiError(res, 400, 'INVALID_ARGUMENT', 'personFields mask is required. Please specify one or more valid paths.', 'badRequest'), true;
  const { paths, unknown } = maskPaths(mask);
  if (unknown !== undefined) return apiError(res, 400, 'INVALID_ARGUMENT', `Invalid personFields mask path: "${unknown}".`, 'badRequest'), true;
  const found = all.find((p) => p.resourceName === `people/${m[1]}`);
  return found ? json(res, 200, masked(found, paths)) : apiError(res, 404, 'NOT_FOUND', 'Requested entity was not found.', 'notFound'), true;
}
