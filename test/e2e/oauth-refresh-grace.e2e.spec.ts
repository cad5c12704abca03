import { getWithBearer, startService, startWorld, stopAll, type Service, type World } from '../support/harness.js';
import { refreshGrant, tokensThroughOAuth } from '../support/oauth-consent.js';

describe('Refresh token rotation with a reuse grace window (OAUTH_REFRESH_REUSE_GRACE_SECONDS)', () => {
  let world: World;
  let a: Service;
  let b: Service;
  let short: Service;

  beforeAll(async () => {
    world = await startWorld();
    // Two replicas with a window long enough for a loaded test machine, and one with a 1 s window.
    a = await startService(world, { OAUTH_REFRESH_REUSE_GRACE_SECONDS: '20' });
    b = await startService(world, { OAUTH_REFRESH_REUSE_GRACE_SECONDS: '20' });
    short = await startService(world, { OAUTH_REFRESH_REUSE_GRACE_SECONDS: '1' });
  });
  afterAll(async () => {
    await b?.close();
    await short?.close();
    await stopAll(world, a);
  });

  it('a retried refresh (the answer was lost) gets the same successor, and the grant stays alive', async () => {
    const tokens = await tokensThroughOAuth(world, a.url, 'retry@example.com');
    const first = await refreshGrant(a.url, tokens.clientId, tokens.refresh_token as string);
    expect(first.status).toBe(200);
    // The client never saw `first` and retries with the token it holds, on the other replica.
    const retry = await refreshGrant(b.url, tokens.clientId, tokens.refresh_token as string);
    expect(retry.status).toBe(200);
    expect(retry.body.refresh_token).toBe(first.body.refresh_token);
    expect((await getWithBearer(a, '/auth/session', retry.body.access_token)).status).toBe(200);
    const next = await refreshGrant(a.url, tokens.clientId, retry.body.refresh_token);
    expect(next.status).toBe(200);
    expect((await getWithBearer(b, '/v1/users/me/gmail/messages', next.body.access_token)).status).toBe(200);
  });

  it('10 concurrent refreshes with one token, spread over two replicas, all succeed with one successor', async () => {
    const tokens = await tokensThroughOAuth(world, a.url, 'concurrent@example.com');
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => refreshGrant((i % 2 ? b : a).url, tokens.clientId, tokens.refresh_token as string)));
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(answers.map((r) => r.body.refresh_token)).size).toBe(1);
    for (const r of answers) expect((await getWithBearer(a, '/auth/session', r.body.access_token)).status).toBe(200);
    const next = await refreshGrant(b.url, tokens.clientId, answers[0].body.refresh_token);
    expect(next.status).toBe(200);
  });

  it('after the window, presenting the rotated token again revokes the whole family', async () => {
    const tokens = await tokensThroughOAuth(world, short.url, 'late-reuse@example.com');
    const first = await refreshGrant(short.url, tokens.clientId, tokens.refresh_token as string);
    expect(first.status).toBe(200);
    await new Promise((r) => setTimeout(r, 2000)); // the 1 s window has surely passed
    const reuse = await refreshGrant(short.url, tokens.clientId, tokens.refresh_token as string);
    expect(reuse.status).toBe(400);
    expect(reuse.body).toMatchObject({ error: 'invalid_grant', error_description: expect.stringContaining('revoked') });
    expect((await refreshGrant(short.url, tokens.clientId, first.body.refresh_token)).status).toBe(400);
    expect((await getWithBearer(short, '/auth/session', first.body.access_token)).status).toBe(401);
  });

  it('within the window, only the same client may retry, and only the token rotated last', async () => {
    const tokens = await tokensThroughOAuth(world, a.url, 'other-client@example.com');
    const stranger = await tokensThroughOAuth(world, a.url, 'stranger@example.com');
    const first = await refreshGrant(a.url, tokens.clientId, tokens.refresh_token as string);
    const byOther = await refreshGrant(a.url, stranger.clientId, tokens.refresh_token as string);
    expect(byOther.status).toBe(400);
    expect(byOther.body.refresh_token).toBeUndefined();
    const second = await refreshGrant(a.url, tokens.clientId, first.body.refresh_token);
    expect(second.status).toBe(200);
    // The first token is no longer the one rotated last: presenting it is reuse, even inside the window.
    const old = await refreshGrant(a.url, tokens.clientId, tokens.refresh_token as string);
    expect(old.status).toBe(400);
    expect((await refreshGrant(a.url, tokens.clientId, second.body.refresh_token)).status).toBe(400);
  });
});
