import { z } from 'zod';

/** A host a setting names: exactly (`claude.ai`), or with `subdomains` (`*.example.com`) every host below it. */
export interface HostPattern {
  host: string;
  subdomains: boolean;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why one entry of a host list is not a host name or `*.` and a domain, or undefined when it is one. */
function entryProblem(entry: string): string | undefined {
  if (entry === '*') return 'a lone * (leave the setting empty to accept any host)';
  if (/[:/@?#]/.test(entry)) return 'a URL, port or path (write the host name only, like claude.ai)';
  const wildcard = entry.startsWith('*.');
  const labels = (wildcard ? entry.slice(2) : entry).split('.');
  if (labels.some((l) => !LABEL.test(l))) return 'not a host name (letters, digits and hyphens between dots; write an internationalised name in its xn-- form; * only as the first label, as in *.example.com)';
  // `*.com` would let anyone with a .com domain in: a mistake, said at boot rather than found in an incident.
  if (wildcard && labels.length < 2) return 'a wildcard over a whole top-level domain (name a domain, like *.example.com)';
  return undefined;
}

/**
 * A comma list of host names, each exact (`claude.ai`) or `*.example.com` (any host below example.com at any depth,
 * not example.com itself); empty is the empty list. Hosts are compared case-insensitively, as DNS does, so entries
 * are lower-cased. A bad entry stops the boot, named in the message.
 */
export const hostPatternsSetting = z
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
    const bad = entries.map((e) => [e, entryProblem(e)] as const).filter(([, problem]) => problem);
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
