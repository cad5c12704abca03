import { parse } from 'tldts';
import { comparableHost, matchingHost, type HostPattern } from '../config/host-patterns-setting.js';

/**
 * Hosts where anyone can publish a file, so a metadata document's host there vouches for nobody: an attacker's
 * document at raw.githubusercontent.com looks as official as anyone's. Two kinds:
 * - path tenants: one host for everyone, the account (or bucket, package) is the first path segment(s), and a
 *   count of them says how many name it (cdn.jsdelivr.net/gh/someuser). Another tenant's path on the same host is
 *   not the application's own site either (storage.googleapis.com serves anyone's HTML and scripts).
 * - subdomain tenants: anyone can get a name below the domain (someone.github.io), so the full host names the
 *   tenant, but who picked that name is unknown (and platforms give freed names to the next taker).
 * Chosen from the code hosts, static hosting, object storage, serverless and tunnel services a document is
 * likely to be published on. Not exhaustive, so besides it: every host below a suffix of the Public Suffix List's
 * private section (platforms that asked to be listed because their users' names are separate parties: thousands,
 * someone.herokuapp.com, x.pages.dev) is a subdomain tenant too, and an operator adds their own platforms in
 * OAUTH_CIMD_SHARED_HOSTS. The list stays: the PSL cannot know path tenants, and it lacks some subdomain platforms
 * (wordpress.com, loca.lt). OAUTH_CIMD_ALLOWED_HOSTS is the way to accept known hosts only.
 *
 * Such documents are warned about on the consent page, not refused: one there says no less than a self-registered
 * client, which anyone may create (its page says its name is its own claim), and people publish their own tools'
 * documents on GitHub; refusing them would send those to registration and protect nobody. An operator who wants
 * known applications only lists them in OAUTH_CIMD_ALLOWED_HOSTS. A listed shared host may be used, and still
 * warned about: an entry admits a host, it does not say who publishes there (a path host or a `*.` entry admits
 * every tenant, and a listed tenant name goes to whoever takes it once its owner lets it go).
 */
const PATH_TENANTS: Readonly<Record<string, number>> = {
  'raw.githubusercontent.com': 1,
  'gist.githubusercontent.com': 1,
  'github.com': 1,
  'gitlab.com': 1,
  'bitbucket.org': 1,
  'codeberg.org': 1,
  'gitee.com': 1,
  'huggingface.co': 1,
  'raw.githack.com': 1,
  'cdn.jsdelivr.net': 2, // /gh/{user}, /npm/{package}
  'unpkg.com': 1,
  'pastebin.com': 2, // /raw/{paste}
  'storage.googleapis.com': 1, // /{bucket}
  'firebasestorage.googleapis.com': 3, // /v0/b/{bucket}
  's3.amazonaws.com': 1, // path-style /{bucket}
};
/** S3's regional path-style endpoints (s3.eu-west-1.amazonaws.com, s3-eu-west-1..., s3.dualstack.eu-west-1...): /{bucket}. */
const S3_PATH_STYLE = /^s3([.-]dualstack)?[.-][a-z0-9-]+\.amazonaws\.com$/;

const SUBDOMAIN_TENANTS: readonly string[] = [
  'github.io', 'gitlab.io', 'codeberg.page', 'bitbucket.io', 'pages.dev', 'workers.dev', 'r2.dev', 'trycloudflare.com',
  'vercel.app', 'now.sh', 'netlify.app', 'netlify.com', 'herokuapp.com', 'onrender.com', 'fly.dev', 'railway.app',
  'deno.dev', 'surge.sh', 'neocities.org', 'readthedocs.io', 'glitch.me', 'replit.app', 'replit.dev', 'repl.co',
  'web.app', 'firebaseapp.com', 'appspot.com', 'run.app', 'cloudfunctions.net', 'storage.googleapis.com', 'googleusercontent.com',
  'amazonaws.com', 'cloudfront.net', 'blob.core.windows.net', 'web.core.windows.net', 'azurewebsites.net', 'azurestaticapps.net',
  'ondigitalocean.app', 'digitaloceanspaces.com', 'supabase.co', 'ngrok-free.app', 'ngrok-free.dev', 'ngrok.app', 'ngrok.io',
  'loca.lt', 'serveo.net', 'blogspot.com', 'wordpress.com',
];
const BUILT_IN: readonly HostPattern[] = SUBDOMAIN_TENANTS.map((host) => ({ host, subdomains: true }));

/**
 * Whether a path segment can be shown as an account's name. An empty one (`//victim/...`) or one with an encoded
 * character (`victim%2F..%2Fattacker`, which a server that decodes slashes reads as another account's path) names
 * whatever the host makes of it, not what the page would show: the page then names no account, only the host. (Dot
 * segments, `%2e%2e` included, never get here: the URL parser has resolved them.)
 */
function plainSegment(segment: string): boolean {
  return segment !== '' && !segment.includes('%');
}

/** Who a metadata document's URL says published it, as the consent page names them. */
export interface Publisher {
  /** The host with its port, as in the URL. */
  host: string;
  /** `own`: the host is its owner's; `path`/`subdomain`: a shared host, the tenant named by path or host. */
  kind: 'own' | 'path' | 'subdomain';
  /**
   * What the page names the publisher by: the host; for a path tenant the host and its first segment(s); for a
   * subdomain tenant below a PSL private suffix its registrable domain (the account), with the port.
   */
  label: string;
}

/**
 * The publisher of a document at `url` (an accepted client_id: parses, https or http). `extra`: the operator's
 * OAUTH_CIMD_SHARED_HOSTS, where an exact host has path tenants named by one segment and `*.` a domain has
 * subdomain tenants.
 */
export function documentPublisher(url: string, extra: readonly HostPattern[] = []): Publisher {
  const u = new URL(url);
  const host = comparableHost(u.hostname);
  // Path tenants first: s3.amazonaws.com is one, though every other name below amazonaws.com is a subdomain tenant.
  const operatorPath = extra.some((p) => !p.subdomains && p.host === host);
  const segments = PATH_TENANTS[host] ?? (S3_PATH_STYLE.test(host) || operatorPath ? 1 : 0);
  if (segments > 0) {
    // The last segment is the document itself, never its owner: at most the ones before it.
    const path = u.pathname.split('/').slice(1, -1).slice(0, segments);
    return { host: u.host, kind: 'path', label: path.length && path.every(plainSegment) ? `${u.host}/${path.join('/')}` : u.host };
  }
  // The deepest listed domain the host is below: an operator's entry may sit below a built-in one.
  const listed = [...BUILT_IN, ...extra.filter((p) => p.subdomains)]
    .filter((p) => matchingHost(host, [p]))
    .reduce<HostPattern | undefined>((deepest, p) => (deepest && deepest.host.length >= p.host.length ? deepest : p), undefined);
  const psl = parse(host, { allowPrivateDomains: true });
  // The PSL says where a tenant's name ends: someone.herokuapp.com is the account; labels below it
  // (claude.ai.someone.herokuapp.com) are whatever that account picked, so the page names the account. Unless a
  // list entry says tenants sit deeper than the PSL's suffix (an operator's *.apps.herokuapp.com): the PSL's name
  // would then be every tenant's, and the full host is shown, as for any listed host (whose tenant names end
  // nobody knows where, so the whole host, all of which the tenant chose, is named).
  if (psl.isPrivate && psl.domain && psl.publicSuffix && (!listed || psl.publicSuffix.length >= listed.host.length)) {
    return { host: u.host, kind: 'subdomain', label: u.port ? `${psl.domain}:${u.port}` : psl.domain };
  }
  if (listed) return { host: u.host, kind: 'subdomain', label: u.host };
  return { host: u.host, kind: 'own', label: u.host };
}
