import type { Client } from '@modelcontextprotocol/client';
import { gzipSync } from 'node:zlib';
import { ALL_WORKSPACE_SCOPES, apiClient } from '../support/api-client.js';
import { useAppBehindGoogleProxy } from '../support/behind-google-proxy.js';
import type { FaultProxy } from '../support/fault-proxy.js';
import { completeSignIn, getWithBearer, objectExists, readObject, signIn } from '../support/harness.js';
import { connectV2 } from '../support/mcp-clients.js';

/** The smallest limit the configuration takes; the answers below pass it by far, or stay just under it. */
const LIMIT = 65536;
const LIST = '/v1/users/me/gmail/messages';

/** A Gmail list answer of about `bytes` bytes: valid JSON in the documented shape, so only its size is wrong. */
function gmailList(bytes: number): string {
  const one = JSON.stringify({ id: 'm'.repeat(16), threadId: 't'.repeat(16) });
  const messages = Array.from({ length: Math.ceil(bytes / (one.length + 1)) }, () => JSON.parse(one) as unknown);
  return JSON.stringify({ messages, resultSizeEstimate: messages.length });
}

/** When the service closed the connection of `answered` (waiting up to a second for it), or undefined. */
async function closedByService(answered: { clientClosedAt?: number } | undefined): Promise<number | undefined> {
  for (let i = 0; i < 50 && answered?.clientClosedAt === undefined; i++) await new Promise((r) => setTimeout(r, 20));
  return answered?.clientClosedAt;
}

/**
 * One answer read whole must not be able to take a replica's heap (384 MB in the Deployment): whatever stands
 * between the service and Google (a proxy, a portal, a gzip bomb that is a few kilobytes on the wire) could otherwise
 * end the process and every user's requests in it. An answer larger than GOOGLE_MAX_ANSWER_BYTES, decoded, fails at
 * once with a 502 that says how to ask for less; its connection is closed, the next calls work, nothing stored changes.
 */
describe('Google answers larger than GOOGLE_MAX_ANSWER_BYTES', () => {
  let token: string;
  let mcp: Client;

  // Declared before the fixture, so it runs before the fixture's afterAll closes the service: the client goes first.
  afterAll(async () => {
    await mcp?.close();
  });
  const app = useAppBehindGoogleProxy((world, proxy) => ({ GOOGLE_USERINFO_URL: proxy.rewrite(world.google.urls.userinfo), GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES, GOOGLE_MAX_ANSWER_BYTES: String(LIMIT) }));

  beforeAll(async () => {
    token = (await signIn(app.sut, app.world, 'big-answers@example.com')).access_token;
    mcp = await connectV2(`${app.sut.url}/mcp`, token);
  });

  /** The list answered by `fault`, timed; then the same call answered by the emulator again. */
  async function listAnswered(fault: Parameters<FaultProxy['inject']>[0]) {
    app.proxy.inject({ method: 'GET', path: /\/messages$/, ...fault });
    const started = Date.now();
    const res = await getWithBearer(app.sut, LIST, token);
    const ms = Date.now() - started;
    const body = (await res.json()) as { error?: string; message?: string; messages?: unknown[] };
    app.proxy.clear();
    const after = await getWithBearer(app.sut, LIST, token);
    return { status: res.status, body, ms, afterStatus: after.status };
  }

  it('a JSON answer with a length past the limit: 502 google_answer_too_large saying how to ask for less; the next call works', async () => {
    const { status, body, afterStatus } = await listAnswered({ fault: 'answer', contentType: 'application/json', body: gmailList(4 * LIMIT) });
    expect(status).toBe(502);
    expect(body).toEqual({
      statusCode: 502,
      error: 'google_answer_too_large',
      message: expect.stringMatching(/larger than 0\.1 MB.*GOOGLE_MAX_ANSWER_BYTES.*Ask for less \(a smaller page size or fewer fields\)/),
    });
    expect(afterStatus).toBe(200);
  });

  it('an answer that never ends: refused at the limit, long before the Google deadline, and its connection closed', async () => {
    const { status, body, ms, afterStatus } = await listAnswered({ fault: 'answer', contentType: 'application/json', body: '{"messages":[' + '{"id":"a"},'.repeat(1000), repeat: Infinity });
    expect([status, body.error]).toEqual([502, 'google_answer_too_large']);
    expect(ms).toBeLessThan(1000); // the harness gives Google calls 10 s; an unbounded read would run into that
    const answered = app.proxy.seen('GET', /\/messages$/).filter((r) => r.fault === 'answer').at(-1);
    // The service hung up instead of reading on (or leaving the socket in the pool with the rest unread).
    expect(await closedByService(answered)).toEqual(expect.any(Number));
    expect(afterStatus).toBe(200);
  });

  it('a gzip bomb (a few kilobytes on the wire, megabytes decoded) is refused by its decoded size', async () => {
    const bomb = gzipSync(gmailList(64 * LIMIT));
    expect(bomb.length).toBeLessThan(LIMIT); // its stated length alone would pass
    const { status, body, afterStatus } = await listAnswered({ fault: 'answer', contentType: 'application/json', headers: { 'content-encoding': 'gzip' }, body: bomb });
    expect([status, body.error]).toEqual([502, 'google_answer_too_large']);
    expect(afterStatus).toBe(200);
  });

  it('answers under the limit pass whole however they come: compressed, chunked, or both', async () => {
    const json = gmailList(LIMIT - 4096);
    const expected = (JSON.parse(json) as { messages: unknown[] }).messages;
    const ways: Array<[string, Parameters<FaultProxy['inject']>[0]]> = [
      ['gzip with its length', { fault: 'answer', contentType: 'application/json', headers: { 'content-encoding': 'gzip' }, body: gzipSync(json) }],
      ['chunked', { fault: 'answer', contentType: 'application/json', body: json, repeat: 1 }],
      ['gzip and chunked', { fault: 'answer', contentType: 'application/json', headers: { 'content-encoding': 'gzip' }, body: gzipSync(json), repeat: 1 }],
      ['chunked, with a byte-order mark (dropped, as fetch\'s text() drops it)', { fault: 'answer', contentType: 'application/json; charset=utf-8', body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)]), repeat: 1 }],
    ];
    for (const [way, fault] of ways) {
      const { status, body } = await listAnswered(fault);
      expect([way, status, body.messages?.length]).toEqual([way, 200, expected.length]);
      expect(body.messages).toEqual(expected);
    }
  });

  it('through MCP: the tool answers an error result with the same advice', async () => {
    app.proxy.inject({ method: 'GET', path: /\/messages$/, fault: 'answer', contentType: 'application/json', body: gmailList(4 * LIMIT) });
    const result = await mcp.callTool({ name: 'search_gmail_messages', arguments: { q: '' } });
    expect(result.isError).toBe(true);
    const error = JSON.parse((result.content as Array<{ text: string }>)[0].text) as { error: string; message: string };
    expect(error).toMatchObject({ error: 'google_answer_too_large', message: expect.stringMatching(/Ask for less/) });
  });

  it('a Gmail batch whose messages are each within the limit but together past it: 502 saying to ask for fewer ids', async () => {
    // A message of the documented shape whose text body is 40% of the limit: one or two fit, three do not.
    const text = 'x'.repeat(Math.floor(LIMIT * 0.4));
    const message = (id: string) => JSON.stringify({ id, threadId: id, labelIds: ['INBOX'], payload: { mimeType: 'text/plain', headers: [{ name: 'Subject', value: id }], body: { size: text.length, data: Buffer.from(text).toString('base64url') } } });
    const batch = async (ids: string[]) => {
      app.proxy.clear();
      for (const id of ids) app.proxy.inject({ method: 'GET', path: new RegExp(`/messages/${id}$`), fault: 'answer', contentType: 'application/json', body: message(id) });
      return apiClient(app.sut, token)('GET', `${LIST}/batch?ids=${ids.join(',')}`);
    };

    const two = await batch(['big1', 'big2']);
    expect(two.status).toBe(200);
    expect((two.json.messages as Array<{ id: string; text: string }>).map((m) => [m.id, m.text])).toEqual([['big1', text], ['big2', text]]);

    const three = await batch(['big1', 'big2', 'big3']);
    expect(three.status).toBe(502);
    expect(three.json).toEqual({
      statusCode: 502,
      error: 'google_answer_too_large',
      message: expect.stringMatching(/together hold more than 0\.1 MB.*GOOGLE_MAX_ANSWER_BYTES.*Ask for fewer ids at a time/),
    });
  });

  it('a change whose answer is too large: 502 saying the change may have been made, sent once', async () => {
    const sends = () => app.proxy.seen('POST', /\/messages\/send$/).length;
    const before = sends();
    app.proxy.inject({ method: 'POST', path: /\/messages\/send$/, fault: 'answer', contentType: 'application/json', body: gmailList(4 * LIMIT) });
    const res = await apiClient(app.sut, token)('POST', '/v1/users/me/gmail/messages', { to: ['ada@example.com'], subject: 'Big', text: 'hello' });
    expect(res.status).toBe(502);
    expect(res.json).toMatchObject({ error: 'google_answer_too_large', message: expect.stringMatching(/The change may have been made: check before you retry it/) });
    expect(sends() - before).toBe(1);
  });

  it("a token refresh answered without end: 502 at once, and the stored refresh token is kept", async () => {
    const email = 'big-refresh@example.com';
    const user = await signIn(app.sut, app.world, email);
    const stored = await readObject(app.world, `credentials/${email}.json`);
    app.world.google.expireAccessTokens(email);
    app.proxy.inject({ method: 'POST', path: '/token', fault: 'answer', contentType: 'application/json', body: '{"access_token":"' + 'a'.repeat(4096), repeat: Infinity, times: Infinity });
    const started = Date.now();
    const res = await getWithBearer(app.sut, LIST, user.access_token);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: 'google_unavailable' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await readObject(app.world, `credentials/${email}.json`)).json.refresh_token).toBe(stored.json.refresh_token);
    app.proxy.clear();
    expect((await getWithBearer(app.sut, LIST, user.access_token)).status).toBe(200);
  });

  it.each([
    ['code exchange', 'POST', '/token'],
    ['profile request', 'GET', '/v1/userinfo'],
  ])("the sign-in's %s answered without end: 502 at once, the answer cut off, no user stored", async (_what, method, path) => {
    const email = `big-signin-${method.toLowerCase()}@example.com`;
    app.proxy.inject({ method, path, fault: 'answer', contentType: 'application/json', body: '{"x":"' + 'a'.repeat(4096), repeat: Infinity, times: Infinity });
    const started = Date.now();
    const res = await completeSignIn(app.sut, app.world, email);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: 'google_unavailable', message: expect.stringMatching(/Nothing was stored/) });
    expect(Date.now() - started).toBeLessThan(3000);
    const answered = app.proxy.seen(method, path).filter((r) => r.fault === 'answer').at(-1);
    expect(await closedByService(answered)).toEqual(expect.any(Number));
    expect(await objectExists(app.world, `credentials/${email}.json`)).toBe(false);
  });

  it('a revocation answered without end is not a confirmation: 503, the credentials stay until Google confirms', async () => {
    const email = 'big-revoke@example.com';
    const user = await signIn(app.sut, app.world, email);
    const revoke = () => fetch(`${app.sut.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${user.access_token}` } });
    app.proxy.inject({ method: 'POST', path: '/revoke', fault: 'answer', contentType: 'application/json', body: '{"x":"' + 'a'.repeat(4096), repeat: Infinity, times: Infinity });
    const res = await revoke();
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: 'revocation_incomplete' });
    expect((await readObject(app.world, `credentials/${email}.json`)).json.refresh_token).toEqual(expect.any(String));
    app.proxy.clear();
    expect((await revoke()).status).toBe(200);
  });
});
