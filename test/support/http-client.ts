/** A tiny browser stand-in over fetch: keeps cookies per origin path-agnostically and never follows redirects. */
export class Browser {
  private readonly jar = new Map<string, string>();

  async get(url: string, headers: Record<string, string> = {}): Promise<Response> {
    const res = await fetch(url, { redirect: 'manual', headers: { ...headers, cookie: this.cookieHeader() } });
    this.store(res);
    return res;
  }

  /** Submits a form (application/x-www-form-urlencoded) as a browser does. */
  async post(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    const res = await fetch(url, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers, cookie: this.cookieHeader() }, body: new URLSearchParams(form) });
    this.store(res);
    return res;
  }

  private cookieHeader(): string {
    return [...this.jar.entries()].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (expired) this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  /** A second browser holding a copy of this one's cookies (a stolen cookie jar). */
  clone(): Browser {
    const copy = new Browser();
    for (const [k, v] of this.jar) copy.jar.set(k, v);
    return copy;
  }

  /** Names of the cookies currently held. */
  cookieNames(): string[] {
    return [...this.jar.keys()];
  }
}
