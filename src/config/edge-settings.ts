import { isIP } from 'node:net';
import { z } from 'zod';

/** Fastify's `trustProxy`: off, every hop, or the named proxies (IPs, CIDRs). */
export type TrustProxy = boolean | string[];

/** proxy-addr's names for address ranges, which Fastify accepts in a list. */
const RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrRange(entry: string): boolean {
  if (RANGE_NAMES.has(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (!family || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d{1,3}$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}

/**
 * `TRUST_PROXY`: which hops may set `X-Forwarded-For` (and `-Proto`, `-Host`). Default off: the client is the TCP
 * peer, so nobody can forge the address that audit events and rate limits use. A hop count is refused rather than
 * accepted: it cannot check that a request really came through the proxy (a client that reaches the service
 * directly could write the header), and Fastify 5.12+ ignores it for that reason, which would fail silently.
 */
export const trustProxySetting = z
  .string()
  .default('false')
  .transform((raw, ctx): TrustProxy => {
    const v = raw.trim();
    if (v === 'false' || v === '0' || v === '') return false;
    if (v === 'true') return true;
    if (/^\d+$/.test(v)) {
      ctx.addIssue({
        code: 'custom',
        message: 'takes no hop count (it cannot tell your proxy from a client that writes the header itself): name the proxies\' IPs or CIDRs, e.g. 10.0.0.0/8, or true when only your proxies can reach the service',
      });
      return z.NEVER;
    }
    const entries = v.split(',').map((e) => e.trim()).filter(Boolean);
    const bad = entries.filter((e) => !isAddressOrRange(e));
    if (bad.length > 0 || entries.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: `must be false, true, a hop count, or a comma-separated list of proxy IPs or CIDRs (e.g. 10.0.0.0/8,127.0.0.1); not ${bad.map((b) => JSON.stringify(b)).join(', ') || 'empty'}`,
      });
      return z.NEVER;
    }
    return entries;
  });

/** A per-IP rate limit: at most `limit` requests per `windowSeconds`; undefined when turned off. */
export interface RateLimit {
  limit: number;
  windowSeconds: number;
}

/** `RATE_LIMIT_*`: `<requests>/<seconds>` (e.g. `30/3600`), or `off`. */
export const rateLimitSetting = (defaultValue: string) =>
  z
    .string()
    .default(defaultValue)
    .transform((raw, ctx): RateLimit | undefined => {
      const v = raw.trim().toLowerCase();
      if (v === 'off') return undefined;
      const m = /^(\d{1,9})\/(\d{1,7})$/.exec(v);
      if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) {
        ctx.addIssue({ code: 'custom', message: `must be <requests>/<seconds> like ${defaultValue}, or off` });
        return z.NEVER;
      }
      return { limit: Number(m[1]), windowSeconds: Number(m[2]) };
    });
