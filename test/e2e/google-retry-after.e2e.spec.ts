import { ALL_WORKSPACE_SCOPES } from '../support/api-client.js';
import { useAppBehindGoogleProxy } from '../support/behind-google-proxy.js';
import { getWithBearer, signIn } from '../support/harness.js';
import { rawMcp } from '../support/mcp-clients.js';

/** Google's per-user quota answer, as it comes back from any Workspace API. */
const QUOTA = JSON.stringify({ error: { code: 429, message: 'Quota exceeded for quota metric', status: 'RESOURCE_EXHAUSTED', errors: [{ reason: 'rateLimitExceeded' }] } });

/**
 * Google's Retry-After is passed on to the caller, who waits that many seconds. RFC 9110 allows it as an HTTP-date
 * too, and anything between the service and Google can put any text there: the caller still gets a number of
 * seconds (in the header, the message and an MCP tool error's retryAfter), never Google's text passed through.
 */
describe("Google's Retry-After, in the forms RFC 9110 allows and in forms it does not", () => {
  const app = useAppBehindGoogleProxy({ GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES });
  let token: string;

  beforeAll(async () => {
    token = (await signIn(app.sut, app.world, 'retry-after@example.com')).access_token;
  });

  const quota = (retryAfter: string) =>
    app.proxy.inject({ method: 'GET', path: '/gmail/v1/', fault: 'answer', status: 429, contentType: 'application/json', body: QUOTA, headers: { 'retry-after': retryAfter } });

  it.each([
    ['delay-seconds', () => '7', 7, 7],
    ['an HTTP-date 20 s ahead', () => new Date(Date.now() + 20_000).toUTCString(), 15, 21],
    ['an HTTP-date already past', () => new Date(Date.now() - 60_000).toUTCString(), 1, 1],
    ['text that is neither', () => `soon<script>${'x'.repeat(500)}`, 30, 30],
    ['a negative number', () => '-5', 30, 30],
  ])('%s: a 429 whose Retry-After and message give whole seconds', async (_what, value, min, max) => {
    quota(value());
    const res = await getWithBearer(app.sut, '/v1/users/me/gmail/labels', token);
    expect(res.status).toBe(429);
    const seconds = res.headers.get('retry-after') ?? '';
    expect(seconds).toMatch(/^\d+$/);
    expect(Number(seconds)).toBeGreaterThanOrEqual(min);
    expect(Number(seconds)).toBeLessThanOrEqual(max);
    expect(await res.json()).toMatchObject({ statusCode: 429, error: 'rate_limited', message: expect.stringContaining(`Retry after ${seconds} seconds`) });
  });

  it('an MCP tool error carries retryAfter as a number of seconds for an HTTP-date too', async () => {
    quota(new Date(Date.now() + 20_000).toUTCString());
    const res = await rawMcp(`${app.sut.url}/mcp`, token, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_gmail_labels', arguments: {} } }, '2025-06-18');
    expect(res.json.result).toMatchObject({ isError: true });
    const body = JSON.parse(res.json.result.content[0].text);
    expect(body).toMatchObject({ statusCode: 429, error: 'rate_limited' });
    expect(body.retryAfter).toBeGreaterThanOrEqual(15);
    expect(body.retryAfter).toBeLessThanOrEqual(21);
  });
});
