// A static import: loading tldts (the Public Suffix List) costs about 14 ms and 0.6 MB of heap in the production
// bundle (35 ms unbundled) on this 2-core machine, against a cold start of about 1.2 s; not worth a lazy load.
import { getPublicSuffix } from 'tldts';
import { z } from 'zod';

/** A host a setting names: exactly (`claude.ai`), or with `subdomains` (`*.example.com`) every host below it. */
export interface HostPattern {
  host: string;
  subdomains: boolean;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** What a host list accepts beyond host names and `*.` a domain. */
export interface HostListRules {
  /**
   * Whether `*.` may stand before a public suffix (`*.co.uk`, `*.github.io`, `*.vercel.app`; the Public Suffix
   * List, ICANN and private sections): names anyone can register or get below. In a list of hosts to trust that is
   * everyone's documents, the mistake `*.com` is; in a list of shared hosts it says, rightly, that each name below
   * is a different tenant.
   */
  wildcardOverPublicSuffix: boolean;
}

/** Whether `domain` is a public suffix: the PSL's rules, its private section (platforms' tenants) included. */
function isPublicSuffix(domain: string): boolean {
  return getPublicSuffix(domain, { allowPrivateDomains: true }) === domain;
}

/** Why one entry of a host list is not a host name or `*.` and a domain, or undefined when it is one. */
function entryProblem(entry: string, rules: HostListRules): string | undefined {
  if (entry === '*') return 'a lone * (leave the setting empty to accept any host)';
  if (/[:/@?#]/.test(entry)) return 'a URL, port or path (write the host name only, like claude.ai)';
  const wildcard = entry.startsWith('*.');
  const labels = (wildcard ? entry.slice(2) : entry).split('.');
  if (labels.some((l) => !LABEL.test(l))) return 'not a host name (letters, digits and hyphens between dots; write an internationalised name in its xn-- form; * only as the first label, as in *.example.com)';
  // `*.com` would let anyone with a .com domain in: a mistake, said at boot rather than found in an incident.
  if (wildcard && labels.length < 2) return 'a wildcard over a whole top-level domain (name a domain, like *.example.com)';
  const domain = labels.join('.');
  if (wildcard && !rules.wildcardOverPublicSuffix && isPublicSuffix(domain)) {
    return `a wildcard over ${domain}, a public suffix: anyone can register or get a name below it, so it would accept anyone's documents there (name a domain someone owns below it, like *.example.${domain}, or the exact host)`;
  }
  return undefined;
}

/**
 * A comma list of host names, each exact (`claude.ai`) or `*.example.com` (any host below example.com at any depth,
 * not example.com itself); empty is the empty list. Hosts are compared case-insensitively, as DNS does, so entries
 * are lower-cased. A bad entry stops the boot, named in the message; `rules` says what else is bad.
 */
export const hostPatternsSetting = (rules: HostListRules) => z
  .string()
  .default('')
  .transform((raw, ctx): HostPattern[] => {
    const entries = raw.split(',').map((e) => e.trim().toLowerCase()).filter(Boolean);
    // Only commas and spaces (a template whose variables were all empty) would read as no list, which for
    // OAUTH_CIMD_ALLOWED_HOSTS means every host: an operator who meant a list gets the opposite, so it stops the boot.
    if (entries.length === 0 && raw.trim() !== '') {
      ctx.addIssue({ code: 'custom', message: `names no host (${JSON.stringify(raw)}): list host names like claude.ai or *.example.com, or leave it empty (unset) for none` });
      return z.NEVER;
    }
    const bad = entries.map((e) => [e, entryProblem(e, rules)] as const).filter(([, problem]) => problem);
    if (bad.length > 0) {
      ctx.addIssue({ code: 'custom', message: `must be a comma list of host names like claude.ai or *.example.com; ${bad.map(([e, p]) => `${JSON.stringify(e)} is ${p}`).join('; ')}` });
      return z.NEVER;
    }
    return entries.map((e) => (e.startsWith('*.') ? { host: e.slice(2), subdomains: true } : { host: e, subdomains: false }));
  });

/** A URL's hostname as the lists compare it: lower case (the URL parser's), without the root's trailing dot. */
export function comparableHost(hostname: string): string {
  return hostname.toLowerCase().replace(/\.$/, '');
}

/** The first pattern that `hostname` matches, or undefined. */
export function matchingHost(hostname: string, patterns: readonly HostPattern[]): HostPattern | undefined {
  const host = comparableHost(hostname);
  return patterns.find((p) => (p.subdomains ? host.endsWith(`.${p.host}`) : host === p.host));
}

/**
 * The first pattern that admits `hostname` as a host to trust: as matchingHost, except that a wildcard does not
 * reach across a public suffix below its own domain. `*.amazonaws.com` names Amazon's hosts, not every S3 bucket:
 * bucket.s3.amazonaws.com is below s3.amazonaws.com, a public suffix (the PSL's private section), so the bucket is a
 * tenant the wildcard's author did not name, and only an exact entry admits it. The boot refuses a wildcard that is a
 * public suffix itself; this covers those that merely contain one, which the PSL cannot list ahead of time.
 */
export function admittingHost(hostname: string, patterns: readonly HostPattern[]): HostPattern | undefined {
  const host = comparableHost(hostname);
  return patterns.find((p) => {
    if (!p.subdomains) return host === p.host;
    if (!host.endsWith(`.${p.host}`)) return false;
    const suffix = getPublicSuffix(host, { allowPrivateDomains: true });
    return !suffix || !(suffix === p.host || suffix.endsWith(`.${p.host}`));
  });
}
