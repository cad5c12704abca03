import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS, describeInChromium, openTab, reach, STEP, type Watched } from '../support/chromium.js';
import { startService, startWorld, stopAll, type Service, type World } from '../support/harness.js';
import { authorizeUrl, pkceRequest, registerPublicClient } from '../support/oauth-consent.js';

/**
 * Double-click jacking (Paulos Yibelo, 2024): a page of the attacker's asks the person for a double click; on the first
 * press it brings our consent page to the front (it navigates the window there, or closes the popup that covered a
 * window it had sent there before), and the second press lands where Allow is. X-Frame-Options and frame-ancestors
 * cannot see it: nothing is framed. With Allow pressed, a person Google already knows is signed in at Google without
 * a page and the attacker's client gets a code for their mailbox. So Allow only works once the page has been in
 * front for longer than a double click.
 *
 * Headless chromium keeps every tab visible and focused, so the page coming to the front is its load, or the focus
 * event a window gets when what covered it goes away.
 */
const { title, describe: inChromium } = describeInChromium('consent double-click', 'the consent page against double-click jacking');

const REDIRECT = 'https://attacker.example/steal';

inChromium(title, () => {
  let world: World;
  let sut: Service;
  let chrome: Browser;
  let context: BrowserContext;
  let clientId: string;

  beforeAll(async () => {
    world = await startWorld();
    sut = await startService(world);
    chrome = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    context = await chrome.newContext();
    // The attacker's site, answered here so the browser can land on it.
    await context.route(`${new URL(REDIRECT).origin}/**`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<title>attacker</title>' }));
    clientId = await registerPublicClient(sut, { client_name: 'Totally harmless', redirect_uris: [REDIRECT] });
  }, 60_000);
  afterAll(async () => {
    await chrome?.close();
    await stopAll(world, sut);
  });

  /** A tab showing our consent page for the attacker's client, and every consent decision the tab posts. */
  async function consentTab(): Promise<{ tab: Watched; decisions: string[]; allowAt: { x: number; y: number } }> {
    const tab = await openTab(context);
    const decisions: string[] = [];
    tab.page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/oauth/authorize/decision')) decisions.push(r.postData() ?? '');
    });
    const { params } = await pkceRequest(clientId, REDIRECT);
    await tab.page.goto(authorizeUrl(sut.url, params), STEP);
    const box = await tab.page.locator('button[value=allow]').boundingBox();
    if (!box) throw new Error('the consent page shows no Allow button');
    return { tab, decisions, allowAt: { x: box.x + box.width / 2, y: box.y + box.height / 2 } };
  }

  it('a press on Allow as the page comes to the front does nothing; the person pressing it a moment later goes on', async () => {
    const { tab, decisions, allowAt } = await consentTab();
    // The second press of the double click, right after the page appeared: here, right after its load.
    await tab.page.mouse.click(allowAt.x, allowAt.y);
    await tab.page.waitForTimeout(300);
    expect(decisions).toEqual([]);

    // The page was sent there earlier, behind the attacker's popup, long enough to be ready; the popup closes on the
    // first press (the window loses, then regains focus), and the second press lands at once.
    const allow = tab.page.locator('button[value=allow]');
    for (const until = Date.now() + STEP.timeout; !(await allow.isEnabled()); ) {
      if (Date.now() > until) throw new Error('Allow never became pressable');
      await tab.page.waitForTimeout(50);
    }
    // A string: the specs have no DOM types (and waitForFunction's string form is eval, which the page's CSP refuses).
    await tab.page.evaluate("window.dispatchEvent(new Event('blur')); window.dispatchEvent(new Event('focus'))");
    await tab.page.mouse.click(allowAt.x, allowAt.y);
    await tab.page.waitForTimeout(300);
    expect(decisions).toEqual([]);
    expect(new URL(tab.page.url()).pathname).toBe('/oauth/authorize');

    // The person, who reads the page, presses Allow: it works (Playwright waits until the button can be pressed).
    await tab.page.click('button[value=allow]', STEP);
    await reach(tab, "Google's sign-in", (url) => url.startsWith(world.google.urls.auth));
    expect(decisions).toHaveLength(1);
    expect(tab.problems).toEqual([]); // the script fits the page's CSP
    expect(tab.failedLoads).toEqual([]);
  });

  it('Deny works at once (it only ever tells the application no)', async () => {
    const { tab, decisions } = await consentTab();
    await tab.page.click('button[value=deny]', { ...STEP, timeout: 500 });
    await reach(tab, 'the application', (url) => url.startsWith(REDIRECT));
    expect(decisions).toEqual([expect.stringContaining('decision=deny')]);
  });
});
