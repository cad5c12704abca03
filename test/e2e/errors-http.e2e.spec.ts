import { apiClient, startSignedIn } from '../support/api-client.js';
import { stopAll, type Service, type World } from '../support/harness.js';

const USER = 'conventions@example.com';

/** HTTP conventions a client relies on to fix its own request: which field, which rule, which header, which method. */
describe('Errors that say what to fix', () => {
  let world: World;
  let sut: Service;
  let token: string;
  let call: ReturnType<typeof apiClient>;

  beforeAll(async () => ({ world, sut, token, call } = await startSignedIn(USER)));
  afterAll(() => stopAll(world, sut));

  it('a Drive fields selector whose parentheses do not pair is a 400 naming the field, never sent on inside files(...)', async () => {
    const before = world.google.apiCalls.length;
    for (const path of ['/v1/users/me/drive/files?fields=id),nextPageToken,files(id', '/v1/users/me/drive/files?fields=owners(emailAddress', '/v1/users/me/drive/files/abc123?fields=)(']) {
      const res = await call('GET', path);
      expect([path, res.status]).toEqual([path, 400]);
      expect(res.json).toMatchObject({ error: 'invalid_request', message: expect.stringContaining('"fields"') });
      expect(res.json.message).toContain('parentheses');
    }
    expect(world.google.apiCalls.length).toBe(before);
    expect((await call('GET', '/v1/users/me/drive/files?fields=id,owners(emailAddress,displayName)')).status).toBe(200);
  });

  it('states the bound of an out-of-range page size (Drive, Gmail, Tasks)', async () => {
    for (const [path, expected] of [
      ['/v1/users/me/drive/files?pageSize=5000', '"pageSize" must be at most 1000'],
      ['/v1/users/me/gmail/messages?maxResults=501', '"maxResults" must be at most 500'],
      ['/v1/users/me/tasks/lists/@default/tasks?maxResults=1000', '"maxResults" must be at most 100'],
      ['/v1/users/me/gmail/messages?maxResults=0', '"maxResults" must be at least 1'],
      ['/v1/users/me/gmail/messages?maxResults=ten', '"maxResults" must be a number'],
    ]) {
      const res = await call('GET', path!);
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ statusCode: 400, error: 'invalid_request' });
      expect(res.json.message).toContain(expected);
    }
  });

  it('names a missing field as required and an unknown field as unknown, not with zod defaults', async () => {
    const res = await call('POST', '/v1/users/me/gmail/messages', { subject: 'Hi', text: 'x', body: 'hello' });
    expect(res.status).toBe(400);
    expect(res.json.message).toContain('"to" is required');
    expect(res.json.message).toContain('unknown field "body"');
    expect(res.json.message).not.toMatch(/expected string|received undefined|Unrecognized key|"input"/);
  });

  it('answers 415 with a hint for a form body on a JSON route, and still takes forms where forms are the protocol', async () => {
    const form = await fetch(`${sut.url}/v1/users/me/gmail/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'to=a%40example.com&subject=Hi&text=x',
    });
    expect(form.status).toBe(415);
    const body = (await form.json()) as { error: string; message: string };
    expect(body).toMatchObject({ statusCode: 415, error: 'unsupported_media_type' });
    expect(body.message).toMatch(/takes a JSON body.*Content-Type: application\/json.*application\/x-www-form-urlencoded/);
    expect(world.google.apiCalls.filter((c) => c.email === USER && c.path.includes('messages/send'))).toHaveLength(0);

    const text = await fetch(`${sut.url}/v1/users/me/drive/folders`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' }, body: 'x' });
    expect(text.status).toBe(415);

    // RFC 7009-style revocation by form is by design: not a 415 (an unknown token is simply "nothing to revoke").
    const revoke = await fetch(`${sut.url}/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=nothing' });
    expect(revoke.status).not.toBe(415);
    expect(revoke.status).toBeLessThan(500);
  });

  it('answers 405 with Allow for a wrong method on an existing path, 404 pointing to /docs otherwise', async () => {
    const wrong = await fetch(`${sut.url}/v1/users/me/drive/files`, { method: 'PUT', headers: { authorization: `Bearer ${token}` } });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toMatch(/^(?=.*\bGET\b)(?=.*\bPOST\b).*$/);
    expect(await wrong.json()).toMatchObject({ statusCode: 405, error: 'method_not_allowed', message: expect.stringContaining('PUT is not allowed') });

    const health = await fetch(`${sut.url}/health/live`, { method: 'DELETE' });
    expect(health.status).toBe(405);
    expect(health.headers.get('allow')).toContain('GET');

    const missing = await fetch(`${sut.url}/v1/users/me/no-such-api`, { headers: { authorization: `Bearer ${token}` } });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { message: string }).message).toContain('/docs');
  });

  it('answers a malformed percent-escape in the path with our 400: security headers, a request id, the fix, the path not echoed', async () => {
    for (const path of ['/v1/users/me/drive/files/%ZZ<script>', '/auth/%E0%A4%A', '/mcp%']) {
      const res = await fetch(`${sut.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toBeTruthy();
      expect(res.headers.get('x-request-id')).toMatch(/\S/);
      const text = await res.text();
      expect(JSON.parse(text)).toMatchObject({ statusCode: 400, error: 'bad_url', message: expect.stringContaining('encodeURIComponent') });
      expect(text).not.toContain('script');
      // Logged like every request (Fastify runs no hook for these): a probe leaves its line.
      const id = res.headers.get('x-request-id') as string;
      const deadline = Date.now() + 2000;
      while (!sut.logs.text.includes(id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const line = sut.logs.text.split('\n').find((l) => l.includes(id)) as string;
      expect(JSON.parse(line)).toMatchObject({ reqId: id, route: 'unmatched', status: 400, msg: 'request' });
    }
  });

  it('tolerates a trailing slash', async () => {
    const res = await call('GET', '/v1/users/me/drive/files/');
    expect(res.status).toBe(200);
    expect((await fetch(`${sut.url}/health/live/`)).status).toBe(200);
  });

  it('says what is wrong with an Authorization header that carries a token badly', async () => {
    for (const [header, expected] of [
      [token, "must start with 'Bearer '"],
      [`Token ${token}`, "must start with 'Bearer '"],
      [`Bearer "${token}"`, 'without quotes'],
      [`Bearer Bearer ${token}`, "'Bearer' twice"],
      ['Bearer', 'no token after it'],
    ]) {
      const res = await fetch(`${sut.url}/v1/users/me/drive/files`, { headers: { authorization: header! } });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: string; message: string };
      expect(body.error).toBe('invalid_token');
      expect(body.message).toContain(expected);
      expect(body.message).not.toContain(token);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    }
    const none = await fetch(`${sut.url}/v1/users/me/drive/files`);
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: 'missing_token' });
  });
});
