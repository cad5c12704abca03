import { DeleteBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createBucket, getWithBearer, Service, signIn, startService, startSignIn, startWorld, stopAll, World } from '../support/harness.js';
import { Browser } from '../support/http-client.js';

/** The value of one sample in Prometheus text format (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe('Operations: metrics, request logs, audit trail, OpenAPI', () => {
  let world: World;
  let sut: Service;
  const scrape = async () => (await fetch(sut.metricsUrl)).text();

  beforeAll(async () => {
    world = await startWorld();
    sut = await startService(world);
  });
  afterAll(() => stopAll(world, sut));

  it('serves the metrics on METRICS_PORT only: the public port answers /metrics like any unknown route, and the metrics port answers nothing else', async () => {
    // The public port is what an ingress exposes; the metrics tell anyone how many people sign in and how often
    // security violations fire.
    for (const method of ['GET', 'HEAD']) {
      const res = await fetch(`${sut.url}/metrics`, { method });
      expect({ method, status: res.status }).toEqual({ method, status: 404 });
    }
    const metricsPort = new URL(sut.metricsUrl).port;
    expect(metricsPort).not.toBe(new URL(sut.url).port);
    const res = await fetch(sut.metricsUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toContain('broker_sessions_total');
    for (const [method, path] of [['GET', '/'], ['GET', '/health/live'], ['POST', '/metrics'], ['GET', '/v1/users/me/gmail/messages']]) {
      const other = await fetch(new URL(path, sut.metricsUrl), { method });
      expect({ method, path, status: other.status }).toEqual({ method, path, status: 404 });
      expect(await other.text()).not.toContain('broker_');
    }
  });

  it('names a METRICS_PORT already in use, and the boot stops', async () => {
    await expect(startService(world, { METRICS_PORT: new URL(sut.metricsUrl).port })).rejects.toThrow(/METRICS_PORT \d+ is already in use.*set METRICS_PORT to a free port/);
  });

  it('counts sessions, refreshes, security violations, S3 and Google calls and HTTP requests by the right amounts', async () => {
    const before = await scrape();
    const first = await signIn(sut, world, 'ops@example.com'); // session created
    world.google.expireAccessTokens('ops@example.com');
    expect((await getWithBearer(sut, '/v1/users/me/gmail/messages', first.access_token)).status).toBe(200); // a refresh
    expect((await getWithBearer(sut, '/v1/users/other@example.com/gmail/messages', first.access_token)).status).toBe(403);
    const second = await signIn(sut, world, 'ops@example.com'); // session created
    expect((await fetch(`${sut.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${second.access_token}` } })).status).toBe(204); // ended
    const third = await signIn(sut, world, 'ops@example.com'); // session created
    expect((await fetch(`${sut.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${third.access_token}` } })).status).toBe(200); // 2 revoked
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);

    expect(after).toContain('# TYPE broker_s3_operation_duration_seconds histogram');
    expect(delta('broker_sessions_total', { event: 'created' })).toBe(3);
    expect(delta('broker_sessions_total', { event: 'ended' })).toBe(1);
    expect(delta('broker_sessions_total', { event: 'revoked' })).toBe(2);
    // The Workspace call's refresh, and one per returning sign-in (second, third): Google sends them no refresh
    // token, so the callback checks the stored one with a refresh (sign-in-dead-refresh-token.e2e.spec.ts).
    expect(delta('broker_google_token_refreshes_total', { outcome: 'success' })).toBe(3);
    expect(delta('broker_security_violations_total', { reason: 'cross_user_access' })).toBe(1);
    expect(delta('broker_google_api_duration_seconds_count', { api: 'gmail', outcome: 'ok' })).toBe(1);
    expect(delta('broker_google_api_duration_seconds_count', { api: 'gmail', outcome: '401' })).toBe(1);
    expect(delta('broker_http_request_duration_seconds_count', { route: '/v1/users/:userId/gmail/messages', status: '200' })).toBe(1);
    expect(delta('broker_http_request_duration_seconds_count', { route: '/v1/users/:userId/gmail/messages', status: '403' })).toBe(1);
    expect(delta('broker_s3_operation_duration_seconds_count', { operation: 'put', outcome: 'ok' })).toBeGreaterThanOrEqual(7);
    expect(delta('broker_s3_operation_duration_seconds_count', { operation: 'delete', outcome: 'ok' })).toBeGreaterThanOrEqual(5);
  });

  it('counts S3 errors by code', async () => {
    await createBucket(world, 'ops-gone');
    const other = await startService(world, { S3_BUCKET: 'ops-gone' });
    try {
      // The sign-in's first S3 call is the callback's one-time state marker (a put); /auth/google asks S3 nothing.
      const browser = new Browser();
      const callbackUrl = await world.google.approve(await startSignIn(other, browser, 'x@example.com'), { email: 'x@example.com' });
      await world.admin.send(new DeleteBucketCommand({ Bucket: 'ops-gone' }));
      expect((await browser.get(callbackUrl)).status).toBe(503);
      const text = await (await fetch(other.metricsUrl)).text();
      expect(sample(text, 'broker_s3_errors_total', { code: 'bucket_missing', operation: 'put' })).toBe(1);
      expect(sample(text, 'broker_s3_operation_duration_seconds_count', { operation: 'put', outcome: 'bucket_missing' })).toBe(1);
    } finally {
      await other.close();
    }
  });

  it('writes one log line per request (liveness probes excepted), with the caller\'s X-Request-Id, and never the callback code', async () => {
    const res = await fetch(`${sut.url}/health/ready`, { headers: { 'x-request-id': 'trace-abc-123' } });
    expect(res.headers.get('x-request-id')).toBe('trace-abc-123');
    const generated = (await fetch(`${sut.url}/health/ready`)).headers.get('x-request-id');
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    const lines = sut.logs.lines.map((l) => l.message as Record<string, unknown>).filter((m) => m && m.msg === 'request');
    const mine = lines.filter((m) => m.reqId === 'trace-abc-123');
    expect(mine).toEqual([expect.objectContaining({ method: 'GET', route: '/health/ready', path: '/health/ready', status: 200, ms: expect.any(Number) })]);
    expect(lines.filter((m) => m.reqId === generated)).toHaveLength(1);
    const callbacks = lines.filter((m) => m.route === '/auth/google/callback');
    expect(callbacks.length).toBeGreaterThan(0);
    for (const c of callbacks) expect(String(c.path)).toMatch(/code=%5Bredacted%5D|code=\[redacted\]/);
    // What people search for and who is about to sign in stay out of the log too.
    const { access_token } = await signIn(sut, world, 'searcher@example.com');
    await fetch(`${sut.url}/v1/users/me/gmail/messages?q=from%3Aboss%40example.com+salary&maxResults=2`, { headers: { authorization: `Bearer ${access_token}`, 'x-request-id': 'searched-mail' } });
    await fetch(`${sut.url}/auth/google?login_hint=hidden-person%40example.com`, { redirect: 'manual', headers: { 'x-request-id': 'hinted-sign-in' } });
    // Scanned once both request lines are written, not 50 ms after the answers: a line written later than that would
    // be missed, and the scan pass without having seen it.
    const logged = () => sut.logs.lines.map((l) => l.message as { msg?: string; reqId?: string }).filter((m) => m?.msg === 'request').map((m) => m.reqId);
    const written = () => ['searched-mail', 'hinted-sign-in'].every((id) => logged().includes(id));
    for (const deadline = Date.now() + 2000; !written(); await new Promise((r) => setTimeout(r, 5))) {
      if (Date.now() > deadline) throw new Error('the request lines of the last two requests were not written within 2 s');
    }
    const text = JSON.stringify(sut.logs.lines);
    expect(text).not.toMatch(/salary|boss|hidden-person/);
    const searched = sut.logs.lines.map((l) => l.message as Record<string, unknown>).find((m) => m?.msg === 'request' && String(m.path).startsWith('/v1/users/me/gmail/messages?'));
    expect(String(searched?.path)).toMatch(/q=%5Bredacted%5D&maxResults=2/);
  });

  it('keeps an audit trail of sign-in, refresh, logout, revoke, reauth_required and security violations', async () => {
    const { access_token } = await signIn(sut, world, 'audited@example.com');
    world.google.expireAccessTokens('audited@example.com');
    await getWithBearer(sut, '/v1/users/me/drive/files', access_token);
    await getWithBearer(sut, '/v1/users/someone@example.com/drive/files', access_token);
    world.google.revokeUser('audited@example.com');
    world.google.expireAccessTokens('audited@example.com');
    await getWithBearer(sut, '/v1/users/me/drive/files', access_token); // refresh -> invalid_grant -> reauth_required
    const again = await signIn(sut, world, 'audited@example.com');
    await fetch(`${sut.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${again.access_token}` } });
    const last = await signIn(sut, world, 'audited@example.com');
    await fetch(`${sut.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${last.access_token}` } });
    const audit = sut.logs.lines
      .map((l) => l.message as Record<string, unknown>)
      .filter((m) => m && m.audit === true && m.user === 'audited@example.com');
    expect(audit.map((a) => a.event)).toEqual(expect.arrayContaining(['sign_in', 'token_refresh', 'security_violation', 'reauth_required', 'logout', 'revoke']));
    for (const a of audit) expect(a).toMatchObject({ at: expect.stringMatching(/^\d{4}-/), outcome: expect.stringMatching(/^(success|failure|denied|noop)$/) });
    const signInEvent = audit.find((a) => a.event === 'sign_in') as Record<string, unknown>;
    expect(signInEvent).toMatchObject({ outcome: 'success', ip: '127.0.0.1' });
  });

  it('appends the audit trail to S3 as JSON lines when AUDIT_S3=true', async () => {
    const service = await startService(world, { AUDIT_S3: 'true' });
    await signIn(service, world, 'trail@example.com');
    await service.close(); // flushes
    const listed = await world.admin.send(new ListObjectsV2Command({ Bucket: world.bucket, Prefix: 'audit/' }));
    const keys = (listed.Contents ?? []).map((c) => c.Key as string);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys[0]).toMatch(/^audit\/\d{4}\/\d\d\/\d\d\/\d\d\/.+\.jsonl$/);
    const body = await (await world.admin.send(new GetObjectCommand({ Bucket: world.bucket, Key: keys[0] }))).Body?.transformToString();
    const events = (body ?? '').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events).toContainEqual(expect.objectContaining({ event: 'sign_in', user: 'trail@example.com', outcome: 'success' }));
  });

  it('publishes OpenAPI with every route of the HTTP contract and the bearer scheme, and Swagger UI at /docs', async () => {
    const doc = (await (await fetch(`${sut.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>>; components: { securitySchemes: Record<string, unknown> } };
    const contract: Array<[string, string]> = [
      ['get', '/auth/google'],
      ['get', '/auth/google/callback'],
      ['get', '/auth/session'],
      ['post', '/auth/logout'],
      ['post', '/auth/revoke'],
      ['get', '/v1/users/{userId}/gmail/messages'],
      ['get', '/v1/users/{userId}/drive/files'],
      ['get', '/v1/users/{userId}/calendar/events'],
      ['get', '/v1/users/{userId}/gmail/messages/{messageId}'],
      ['post', '/v1/users/{userId}/gmail/messages'],
      ['get', '/v1/users/{userId}/drive/files/{fileId}/content'],
      ['post', '/v1/users/{userId}/drive/files'],
      ['patch', '/v1/users/{userId}/calendar/events/{eventId}'],
      ['get', '/v1/users/{userId}/docs/documents/{documentId}/text'],
      ['put', '/v1/users/{userId}/sheets/spreadsheets/{spreadsheetId}/values'],
      ['post', '/v1/users/{userId}/tasks/lists/{listId}/tasks/{taskId}/complete'],
      ['get', '/v1/users/{userId}/contacts/{contactId}'],
      ['get', '/health/live'],
      ['get', '/health/ready'],
      ['get', '/.well-known/oauth-authorization-server'],
      ['get', '/.well-known/oauth-protected-resource'],
      ['post', '/oauth/register'],
      ['get', '/oauth/authorize'],
      ['post', '/oauth/token'],
      ['post', '/oauth/revoke'],
      ['post', '/oauth/introspect'],
    ];
    for (const [method, path] of contract) expect(doc.paths[path]?.[method]).toBeDefined();
    expect(doc.paths['/metrics']).toBeUndefined(); // served on METRICS_PORT only
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/v1/users/{userId}/gmail/messages'].get).toMatchObject({ security: [{ bearer: [] }] });
    // Bodies and queries are documented from the zod schemas that validate them.
    const send = doc.paths['/v1/users/{userId}/gmail/messages'].post as { requestBody: { content: Record<string, { schema: { required: string[]; properties: Record<string, unknown> } }> } };
    expect(send.requestBody.content['application/json'].schema.required).toEqual(expect.arrayContaining(['to', 'subject']));
    expect(Object.keys(send.requestBody.content['application/json'].schema.properties)).toEqual(['to', 'cc', 'bcc', 'subject', 'text', 'html', 'threadId', 'inReplyTo']);
    const read = doc.paths['/v1/users/{userId}/sheets/spreadsheets/{spreadsheetId}/values'].get as { parameters: Array<{ name: string; in: string; required: boolean }> };
    expect(read.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'range', in: 'query', required: true }), expect.objectContaining({ name: 'render', in: 'query', required: false })]));
    const ui = await fetch(`${sut.url}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });
});
