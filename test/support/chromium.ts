import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { BrowserContext, Page } from 'playwright-core';

/**
 * What the real-browser specs (test/browser) share: Debian's chromium driven by playwright-core, the flags it runs
 * with, the "skipped" convention when it is missing, a tab that records what a person would see go wrong, and an
 * OAuth client's loopback redirect URI.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const chromiumAvailable = existsSync(CHROMIUM);

/**
 * `describe`, or `describe.skip` with a line saying why (`.ci/run` installs chromium; here: `apt-get install -y
 * chromium`); the title is "`subject` in a real browser (the chromium, or SKIPPED: why)".
 */
export function describeInChromium(what: string, subject = what): { title: string; describe: jest.Describe } {
  if (!chromiumAvailable) console.warn(`SKIPPED the real-browser ${what} test: no chromium at ${CHROMIUM}. Install it (apt-get install -y chromium) or set CHROMIUM_PATH.`);
  return {
    title: `${subject} in a real browser (${chromiumAvailable ? CHROMIUM : `SKIPPED: chromium not installed at ${CHROMIUM}`})`,
    describe: chromiumAvailable ? describe : describe.skip,
  };
}

/** What the person's browser showed and complained about while on one tab. */
export interface Watched {
  page: Page;
  /** The URL of every document the tab displayed (committed main-frame navigations; redirects are not shown). */
  shown: string[];
  /** Console messages about a Content-Security-Policy violation, and uncaught page errors. */
  problems: string[];
  /**
   * Every resource a page referenced (stylesheet, script, image, font, fetch) that failed to load: a network
   * failure or an answer >= 400. The documents themselves are left out (an error page is meant to answer 4xx).
   */
  failedLoads: string[];
}

/** Opens a tab in `context` that records Watched's lists. */
export async function openTab(context: BrowserContext): Promise<Watched> {
  return watch(await context.newPage());
}

/** Records Watched's lists for a tab (one the page opened, say). */
export function watch(page: Page): Watched {
  const watched: Watched = { page, shown: [], problems: [], failedLoads: [] };
  page.on('console', (m) => {
    if (/Content[- ]Security[- ]Policy/i.test(m.text())) watched.problems.push(m.text()); // our pages must fit their own CSP
  });
  page.on('pageerror', (e) => watched.problems.push(`page error: ${e.message}`));
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame() && frame.url() !== 'about:blank') watched.shown.push(frame.url());
  });
  const isDocument = (type: string, frameIsMain: boolean) => type === 'document' && frameIsMain;
  const documents = new Set<string>();
  page.on('request', (request) => {
    if (isDocument(request.resourceType(), request.frame() === page.mainFrame())) documents.add(request.url());
  });
  page.on('console', (m) => {
    // The browser's own loads (the /favicon.ico every page asks for) reach no request or response event, only this
    // console line; a page answered with an error status on purpose (a 400 page) logs it too, and is no failed load.
    const url = m.location().url;
    if (m.type() === 'error' && m.text().startsWith('Failed to load resource') && !documents.has(url)) watched.failedLoads.push(`${url}: ${m.text()}`);
  });
  page.on('requestfailed', (request) => {
    // A navigation the test itself abandons (the next goto) is no failure of the page.
    if (isDocument(request.resourceType(), request.frame() === page.mainFrame())) return;
    watched.failedLoads.push(`${request.resourceType()} ${request.url()}: ${request.failure()?.errorText ?? 'failed'}`);
  });
  page.on('response', (response) => {
    const request = response.request();
    if (isDocument(request.resourceType(), request.frame() === page.mainFrame())) return;
    if (response.status() >= 400) watched.failedLoads.push(`${request.resourceType()} ${request.url()}: HTTP ${response.status()}`);
  });
  return watched;
}

/** How long one step of a person's way through the pages may take (a redirect chain, a page to load). */
export const STEP = { timeout: 20_000 };

/** Waits until the tab shows a page at `where`; if it does not, the failure says which page it shows instead. */
export async function reach(tab: Watched, where: string, at: (url: string) => boolean): Promise<void> {
  try {
    await tab.page.waitForURL((url) => at(url.href), STEP);
  } catch (err) {
    const body = await tab.page.textContent('body').catch(() => '(no page)');
    throw new Error(`the browser did not reach ${where}: it shows ${tab.page.url()}: ${body?.replace(/\s+/g, ' ').trim().slice(0, 400)}\n(pages shown: ${tab.shown.join(' -> ')})\n${(err as Error).message}`);
  }
}

/** The MCP client's loopback redirect URI (RFC 8252): a small HTTP server that takes the callback, as a CLI does. */
export interface Loopback {
  redirectUri: string;
  /** Every callback received, in order. */
  received: URL[];
  close(): Promise<void>;
}

export async function startLoopback(): Promise<Loopback> {
  const received: URL[] = [];
  let base = '';
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', base);
    if (req.method !== 'GET' || url.pathname !== '/callback') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    received.push(url);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html><head><title>MCP client</title><link rel="icon" href="data:,"></head><body><h1 id="done">Authorization received. You can close this window.</h1></body></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    redirectUri: `${base}/callback`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
