/** A tiny browser stand-in over fetch: keeps cookies per origin path-agnostically and never follows redirects. */
/**
 * A cookie-keeping client that sends a cookie only where a browser would (RFC 6265 5.1.4 path matching, oldest
 * first as browsers order cookies of one path length), so a test sees what the service really receives: a cookie set
 * for /auth/google is not sent to /oauth/authorize. One host per test (the service), so domains are not kept.
 */
export class Browser {
  /** Keyed by `path\0name`: the same name on two paths is two cookies, as in a browser. */
  private readonly jar = new Map<string, { name: string; value: string; path: string }>();

  async get(url: string, headers: Record<string, string> = {}): Promise<Response> {
    const res = await fetch(url, { redirect: 'manual', headers: { ...headers, cookie: this.cookieHeader(url) } });
    this.store(url, res);
    return res;
  }

  /** Submits a form (application/x-www-form-urlencoded) as a browser does. */
  async post(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    const res = await fetch(url, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers, cookie: this.cookieHeader(url) }, body: new URLSearchParams(form) });
    this.store(url, res);
    return res;
  }

  private cookieHeader(url: string): string {
    const path = new URL(url).pathname;
    return [...this.jar.values()]
      .filter((c) => pathMatches(path, c.path))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  private store(url: string, res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const pathAttr = attrs.map((a) => a.trim()).find((a) => /^path=/i.test(a))?.slice(5);
      const path = pathAttr?.startsWith('/') ? pathAttr : defaultPath(new URL(url).pathname);
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      const key = `${path}\0${name}`;
      // A replaced cookie keeps its creation time, so its place in the order (RFC 6265 5.3, step 11.3).
      if (expired) this.jar.delete(key);
      else this.jar.set(key, { name, value, path });
    }
  }

  /** A second browser holding a copy of this one's cookies (a stolen cookie jar). */
  clone(): Browser {
    const copy = new Browser();
    for (const [k, v] of this.jar) copy.jar.set(k, { ...v });
    return copy;
  }

  /**
   * A cookie another host of the same site set with `Domain=` (cookie tossing: a sibling subdomain, or a network
   * attacker answering a plain-http request). Browsers refuse it for the `__Host-` prefix, which forbids `Domain`,
   * and for `__Secure-` from such an origin (RFC 6265bis 4.1.3): answers whether this browser kept it.
   */
  tossCookie(name: string, value: string, path = '/'): boolean {
    if (/^__(host|secure)-/i.test(name)) return false;
    this.jar.set(`${path}\0${name}`, { name, value, path });
    return true;
  }

  /** Names of the cookies currently held (any path). */
  cookieNames(): string[] {
    return [...this.jar.values()].map((c) => c.name);
  }

  /** The Cookie header this browser would send to `url` (its size is what a server's header limit sees). */
  cookiesFor(url: string): string {
    return this.cookieHeader(url);
  }
}

/** RFC 6265 5.1.4: the cookie path is the request path, or a prefix of it ending at a '/'. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

/** RFC 6265 5.1.4: without a Path attribute, the request path up to its last '/'. */
function defaultPath(requestPath: string): string {
  const last = requestPath.lastIndexOf('/');
  return last <= 0 ? '/' : requestPath.slice(0, last);
}
