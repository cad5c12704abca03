import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS, describeInChromium } from '../support/chromium.js';
import { startWorldWithService, stopAll, type Service, type World } from '../support/harness.js';

/**
 * A newcomer's first sign-in in a real browser: Debian's chromium driven by playwright-core, against the service
 * and the Google emulator over real HTTP. Without chromium this suite is reported as skipped, with a line saying so
 * (`.ci/run` installs chromium; here: `apt-get install -y chromium`).
 */
const { title, describe: inChromium } = describeInChromium('sign-in');

inChromium(title, () => {
  let world: World;
  let sut: Service;
  let profile: string;
  let browser: BrowserContext;

  beforeAll(async () => {
    ({ world, sut } = await startWorldWithService());
    profile = mkdtempSync(join(tmpdir(), 'chromium-profile-')); // a fresh --user-data-dir
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    await browser.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: sut.url });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stopAll(world, sut);
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('opens /, signs in on the emulator\'s page, lands on the token page, copies the token, and the token works', async () => {
    const page = await browser.newPage();
    const blocked: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) blocked.push(m.text()); // our pages must fit their own CSP
    });
    await page.goto(`${sut.url}/`);
    await page.click('text=Sign in with Google');

    // Google's (the emulator's) sign-in page, on its own origin.
    await page.waitForURL((url) => url.href.startsWith(world.google.urls.auth));
    await page.fill('input[name=email]', 'browser.user@example.com');
    await page.click('button[value=allow]');

    await page.waitForURL((url) => url.href.startsWith(`${sut.url}/auth/google/callback`));
    await page.waitForSelector('#token');
    expect(await page.textContent('#email')).toBe('browser.user@example.com');
    const token = ((await page.textContent('#token')) ?? '').trim();
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(await page.textContent('#export')).toBe(`export TOKEN='${token}'`);

    await page.click('#copy-token');
    await page.waitForSelector('#copy-status:has-text("Copied")');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(token); // (a string: the specs have no DOM types)
    expect(blocked).toEqual([]);

    const session = await fetch(`${sut.url}/auth/session`, { headers: { authorization: `Bearer ${token}` } });
    expect(session.status).toBe(200);
    expect(await session.json()).toMatchObject({ email: 'browser.user@example.com' });
    const mail = await fetch(`${sut.url}/v1/users/me/gmail/messages`, { headers: { authorization: `Bearer ${token}` } });
    expect(mail.status).toBe(200); // the scope checkboxes of Google's page were submitted by the browser

    // Reloading the token page: the link was used; it says so and where to start again.
    const reload = await page.reload();
    expect(reload?.status()).toBe(400);
    expect(await page.textContent('#problem')).toMatch(/already used.*\/auth\/google/);
    await page.click('#start-again'); // and starting again works: back at Google's page
    await page.waitForURL((url) => url.href.startsWith(world.google.urls.auth));
  });

  it('starting at localhost while PUBLIC_URL says 127.0.0.1 still signs in (sent to PUBLIC_URL\'s host first)', async () => {
    const page = await browser.newPage();
    const port = new URL(sut.url).port;
    await page.goto(`http://localhost:${port}/auth/google`);
    await page.waitForURL((url) => url.href.startsWith(world.google.urls.auth));
    await page.fill('input[name=email]', 'localhost.user@example.com');
    await page.click('button[value=allow]');
    await page.waitForSelector('#token');
    expect(await page.textContent('#email')).toBe('localhost.user@example.com');
  });
});
