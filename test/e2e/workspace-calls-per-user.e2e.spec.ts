import { ALL_WORKSPACE_SCOPES } from '../support/api-client.js';
import { useAppBehindGoogleProxy } from '../support/behind-google-proxy.js';
import { getWithBearer, signIn, startWorldWithService, stopAll, type Service, type World } from '../support/harness.js';
import { rawMcp } from '../support/mcp-clients.js';

const LIMIT = 3;
const ALICE = 'alice-percap@example.com';
const BOB = 'bob-percap@example.com';
const LABELS = '/v1/users/me/gmail/labels';

/**
 * WORKSPACE_CALLS_PER_USER, end to end: Google (the emulator) holds its answers so that a user really has LIMIT
 * calls in flight; the next one of that user is refused at once, over REST and MCP, while another user's call
 * goes through, and once Google answers the first user can call again.
 */
describe('Workspace calls per user: the limit on calls in flight', () => {
  let world: World;
  let sut: Service;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    // A Google timeout well above the time the calls are held: a held call must end with Google's answer.
    ({ world, sut } = await startWorldWithService({ GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES, WORKSPACE_CALLS_PER_USER: String(LIMIT), WORKSPACE_CALLS_QUEUED_PER_USER: '0', GOOGLE_HTTP_TIMEOUT_MS: '30000' }));
    alice = (await signIn(sut, world, ALICE)).access_token;
    bob = (await signIn(sut, world, BOB)).access_token;
    // Warm: credentials read and API library loaded, so the held calls wait on Google alone.
    for (const t of [alice, bob]) expect((await getWithBearer(sut, LABELS, t)).status).toBe(200);
  });
  afterAll(() => stopAll(world, sut));

  /** LIMIT calls of `start` put in flight and held at Google until `release()`, which returns their statuses. */
  async function holdAtGoogle(start: () => Promise<number>) {
    const holds = Array.from({ length: LIMIT }, () => world.google.holdNext('api'));
    const calls: Array<Promise<number>> = [];
    for (const hold of holds) {
      calls.push(start());
      await hold.arrived; // this call has its slot and is at Google: the next one takes the next hold
    }
    return {
      release: async () => {
        holds.forEach((h) => h.release());
        return Promise.all(calls);
      },
    };
  }

  const mcpCall = (token: string) =>
    rawMcp(`${sut.url}/mcp`, token, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_gmail_labels', arguments: {} } }, '2025-06-18');

  it("REST: call LIMIT+1 of a user is a 429 with Retry-After and guidance; another user's call goes through; after Google answers, the user calls again", async () => {
    const held = await holdAtGoogle(async () => (await getWithBearer(sut, LABELS, alice)).status);

    const refused = await getWithBearer(sut, LABELS, alice);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await refused.json()) as Record<string, unknown>;
    expect(body).toEqual({ statusCode: 429, error: 'too_many_requests', message: expect.stringContaining(`already has ${LIMIT} Google Workspace calls running on this server and 0 more waiting`) });
    expect(body.message).toMatch(/Retry after 1 s, and keep at most 3 calls in flight/);
    expect(JSON.stringify(body)).not.toMatch(/ALICE|alice-percap|at .*\.ts:\d+/i);

    const other = await getWithBearer(sut, LABELS, bob); // the same moment: Alice's calls still held
    expect(other.status).toBe(200);

    expect(await held.release()).toEqual(Array(LIMIT).fill(200));
    const again = await Promise.all(Array.from({ length: LIMIT }, () => getWithBearer(sut, LABELS, alice)));
    expect(again.map((r) => r.status)).toEqual(Array(LIMIT).fill(200));
  });

  it('MCP: tools/call LIMIT+1 is a tool error saying the same (not a 500, not a JSON-RPC error); the other user\'s tool works; then the user\'s does', async () => {
    const held = await holdAtGoogle(async () => {
      const res = await mcpCall(alice);
      return res.json?.result?.isError ? 0 : res.status;
    });

    const refused = await mcpCall(alice);
    expect(refused.status).toBe(200);
    expect(refused.json.error).toBeUndefined();
    expect(refused.json.result.isError).toBe(true);
    const error = JSON.parse(refused.json.result.content[0].text) as Record<string, unknown>;
    expect(error).toEqual({ statusCode: 429, error: 'too_many_requests', retryAfter: 1, message: expect.stringContaining(`already has ${LIMIT} Google Workspace calls running on this server and 0 more waiting`) });

    const other = await mcpCall(bob);
    expect(other.json.result.isError).toBeFalsy();
    expect((other.json.result.structuredContent as { labels: unknown[] }).labels.length).toBeGreaterThan(0);

    expect(await held.release()).toEqual(Array(LIMIT).fill(200));
    const again = await mcpCall(alice);
    expect(again.json.result.isError).toBeFalsy();
  });

  it('REST and MCP share the one count: calls held over REST make the MCP call of the same user a tool error', async () => {
    const held = await holdAtGoogle(async () => (await getWithBearer(sut, LABELS, alice)).status);
    const refused = await mcpCall(alice);
    expect(refused.json.result).toMatchObject({ isError: true });
    expect(JSON.parse(refused.json.result.content[0].text)).toMatchObject({ statusCode: 429, error: 'too_many_requests' });
    expect(await held.release()).toEqual(Array(LIMIT).fill(200));
  });

  it('counts refusals in broker_workspace_calls_refused_total, without a user in the labels', async () => {
    const metrics = await (await fetch(sut.metricsUrl)).text();
    const line = metrics.split('\n').find((l) => l.startsWith('broker_workspace_calls_refused_total{'));
    expect(line).toMatch(/^broker_workspace_calls_refused_total\{api="gmail",reason="queue_full"\} [3-9]/);
    expect(metrics.split('\n').filter((l) => l.startsWith('broker_workspace_calls_refused_total')).join('\n')).not.toContain('@');
  });
});

/**
 * WORKSPACE_CALLS_PER_USER=1, the least allowed: a second call of the user at once is refused, and the requests that
 * make several Google calls (a Gmail batch, the Drive share link) make them one at a time instead of refusing
 * themselves.
 */
describe('Workspace calls per user: a limit of 1', () => {
  let world: World;
  let sut: Service;
  let token: string;
  const USER = 'single-percap@example.com';

  beforeAll(async () => {
    ({ world, sut } = await startWorldWithService({ GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES, WORKSPACE_CALLS_PER_USER: '1', WORKSPACE_CALLS_QUEUED_PER_USER: '0', GOOGLE_HTTP_TIMEOUT_MS: '30000' }));
    token = (await signIn(sut, world, USER)).access_token;
    expect((await getWithBearer(sut, LABELS, token)).status).toBe(200);
  });
  afterAll(() => stopAll(world, sut));

  it('refuses a second call while one is at Google', async () => {
    const hold = world.google.holdNext('api');
    const first = getWithBearer(sut, LABELS, token);
    await hold.arrived;
    expect((await getWithBearer(sut, LABELS, token)).status).toBe(429);
    hold.release();
    expect((await first).status).toBe(200);
  });

  it('answers a Gmail batch, whose calls then run one at a time', async () => {
    const messages = world.google.messageIds(USER).slice(0, 4);
    const batch = await getWithBearer(sut, `/v1/users/me/gmail/messages/batch?ids=${messages.join(',')}`, token);
    expect(batch.status).toBe(200);
    expect(((await batch.json()) as { messages: unknown[] }).messages).toHaveLength(4);
  });

  it('answers a Drive share link, whose two calls then run one after the other', async () => {
    const file = world.google.itemIds('drive', USER)[0];
    const link = await getWithBearer(sut, `/v1/users/me/drive/files/${file}/link`, token);
    expect(link.status).toBe(200);
    expect(await link.json()).toMatchObject({ id: file, linkAccess: { audience: expect.any(String) } });
  });
});

/**
 * A streamed Drive download keeps its connection to Google open after the headers came: it keeps the user's slot
 * until the stream closes (finished, cut by the client, or cut for Google's silence), and not a moment longer.
 */
describe('Workspace calls per user: a streamed download holds its slot while it streams', () => {
  const SILENCE_MS = 4000;
  const MEDIA = { method: 'GET', path: /^\/drive\/v3\/files\/[^/]+$/, query: /alt=media/ };
  const app = useAppBehindGoogleProxy({ GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES, WORKSPACE_CALLS_PER_USER: '1', WORKSPACE_CALLS_QUEUED_PER_USER: '0', GOOGLE_HTTP_TIMEOUT_MS: String(SILENCE_MS) });

  /** Polls until the user's call answers 200, and says how long that took (or Infinity). */
  async function msUntilCallable(token: string, withinMs: number): Promise<number> {
    const since = Date.now();
    while (Date.now() - since < withinMs) {
      if ((await getWithBearer(app.sut, LABELS, token)).status === 200) return Date.now() - since;
      await new Promise((r) => setTimeout(r, 50));
    }
    return Infinity;
  }

  async function stalledDownload(email: string) {
    const token = (await signIn(app.sut, app.world, email)).access_token;
    const fileId = app.world.google.itemIds('drive', email)[2];
    app.proxy.inject({ ...MEDIA, fault: 'stall-body', body: 'the first bytes of the file', contentType: 'text/plain', times: Infinity });
    const client = new AbortController();
    const res = await fetch(`${app.sut.url}/v1/users/me/drive/files/${fileId}/content`, { headers: { authorization: `Bearer ${token}` }, signal: client.signal });
    const body = res.text().catch(() => 'cut');
    return { token, res, body, client };
  }

  it('a call while the bytes stream is refused; the client giving up frees the slot at once', async () => {
    const { token, res, body, client } = await stalledDownload('download-abort-percap@example.com');
    expect(res.status).toBe(200);
    expect((await getWithBearer(app.sut, LABELS, token)).status).toBe(429);
    client.abort();
    await body;
    expect(await msUntilCallable(token, SILENCE_MS - 1000)).toBeLessThan(SILENCE_MS - 1000);
  });

  it("Google going silent mid-body cuts the download and frees the slot", async () => {
    const { token, res, body } = await stalledDownload('download-silent-percap@example.com');
    expect(res.status).toBe(200);
    expect((await getWithBearer(app.sut, LABELS, token)).status).toBe(429);
    await body; // cut by the service after SILENCE_MS
    expect(await msUntilCallable(token, 3000)).toBeLessThan(3000);
  });

  it('a download read to its end frees the slot', async () => {
    const email = 'download-whole-percap@example.com';
    const token = (await signIn(app.sut, app.world, email)).access_token;
    const fileId = app.world.google.itemIds('drive', email)[2];
    for (let i = 0; i < 3; i++) {
      const res = await getWithBearer(app.sut, `/v1/users/me/drive/files/${fileId}/content`, token);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      expect(await msUntilCallable(token, 3000)).toBeLessThan(3000);
    }
  });
});
