import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { FaultProxy, type FaultRule } from '../support/fault-proxy.js';
import { getWithBearer, readObject, type Service, signIn, startService, startSignIn, startWorld, type World } from '../support/harness.js';
import { Browser } from '../support/http-client.js';

/**
 * Revocation under faults: each step's request dropped (reset, never reached the server) and each step's answer
 * dropped (the server applied it), then a retry; it must end with nothing of the user left in S3 and the grant
 * revoked at Google. The SDK retries an S3 call once by itself, so a step is made to fail by faulting every attempt
 * until the first revoke call has answered.
 */
/**
 * Whether the S3 under test honours If-Match on DeleteObject (AWS S3 and the embedded server do; Ceph RGW 16, which
 * CI also runs, deletes regardless): a stale ETag must be refused with 412.
 */
async function deleteHonoursIfMatch(world: World): Promise<boolean> {
  const Key = `probe/conditional-delete-${Date.now()}.json`;
  const first = await world.admin.send(new PutObjectCommand({ Bucket: world.bucket, Key, Body: '{"v":1}' }));
  await world.admin.send(new PutObjectCommand({ Bucket: world.bucket, Key, Body: '{"v":2}' }));
  try {
    await world.admin.send(new DeleteObjectCommand({ Bucket: world.bucket, Key, IfMatch: first.ETag }));
    return false;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 412) throw err;
    await world.admin.send(new DeleteObjectCommand({ Bucket: world.bucket, Key }));
    return true;
  }
}

describe('Revocation finishes or can be finished, whatever step fails', () => {
  let world: World;
  let s3Proxy: FaultProxy;
  let googleProxy: FaultProxy;
  let sut: Service;
  let other: Service; // another replica, straight to S3 and Google
  let n = 0;

  beforeAll(async () => {
    world = await startWorld();
    s3Proxy = await FaultProxy.start(world.s3.endpoint);
    googleProxy = await FaultProxy.start(world.google.baseUrl);
    sut = await startService(world, {
      S3_ENDPOINT: s3Proxy.url,
      GOOGLE_REVOKE_URL: googleProxy.rewrite(world.google.urls.revoke),
      S3_TIMEOUT_MS: '1500',
      GOOGLE_HTTP_TIMEOUT_MS: '1500',
      SESSION_CACHE_TTL_MS: '200',
    });
    other = await startService(world, { SESSION_CACHE_TTL_MS: '200' });
  });
  afterEach(() => {
    s3Proxy.clear();
    googleProxy.clear();
  });
  afterAll(async () => {
    await sut?.close();
    await other?.close();
    await s3Proxy?.stop();
    await googleProxy?.stop();
    await world?.close();
  });

  const revoke = (token: string) => fetch(`${sut.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });

  /** Every key in the bucket that belongs to the user (credentials, sessions, index entries, revocation mark). */
  async function keysOf(email: string, sessionIds: string[]): Promise<string[]> {
    const out = await world.admin.send(new ListObjectsV2Command({ Bucket: world.bucket }));
    return (out.Contents ?? []).map((o) => o.Key ?? '').filter((k) => k.includes(email) || sessionIds.some((id) => k.includes(id)));
  }

  /** Whether Google still honours the refresh token (asked at the emulator directly). */
  async function grantAlive(refreshToken: string): Promise<boolean> {
    const res = await fetch(world.google.urls.token, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: world.google.clientId, client_secret: world.google.clientSecret }),
    });
    return res.status === 200;
  }

  type Step = { step: string; google?: boolean; rule: (bucket: string) => Omit<FaultRule, 'fault'> };
  const steps: Step[] = [
    { step: 'the S3 mark write', rule: (b) => ({ method: 'PUT', path: `/${b}/sessions/revoking/` }) },
    { step: 'the Google revoke', google: true, rule: () => ({ method: 'POST', path: '/revoke' }) },
    { step: 'the credentials delete', rule: (b) => ({ method: 'DELETE', path: `/${b}/credentials/` }) },
    { step: 'the sessions delete', rule: (b) => ({ method: 'DELETE', path: new RegExp(`^/${b}/sessions/[A-Za-z0-9_-]{43}\\.json$`) }) },
    { step: 'the session index delete', rule: (b) => ({ method: 'DELETE', path: `/${b}/sessions/by-user/` }) },
    { step: 'the S3 mark clear', rule: (b) => ({ method: 'DELETE', path: `/${b}/sessions/revoking/` }) },
  ];
  const cases = steps.flatMap((s) => (['reset', 'drop-answer'] as const).map((fault) => ({ ...s, fault })));

  it.each(cases)('$step: $fault -> 503 with a retry hint; a retry with the other bearer finishes it', async ({ google, rule, fault }) => {
    const email = `rev${++n}@example.com`;
    const first = await signIn(sut, world, email);
    const second = await signIn(sut, world, email);
    const refreshToken = String((await readObject(world, `credentials/${email}.json`)).json.refresh_token);
    expect(await grantAlive(refreshToken)).toBe(true);

    const proxy = google ? googleProxy : s3Proxy;
    const handle = proxy.inject({ ...rule(world.bucket), fault, times: Infinity });
    const failed = await revoke(first.access_token);
    handle.remove();
    expect(handle.hits).toBeGreaterThan(0);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toMatch(/^\d+$/);
    const body = (await failed.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ statusCode: 503, error: 'revocation_incomplete', message: expect.stringMatching(google ? /Google/ : /S3/) });
    if (google) {
      // Google's answer is needed before anything is deleted: the credentials are still there to retry with.
      expect(await keysOf(email, [])).toContain(`credentials/${email}.json`);
    }

    await new Promise((r) => setTimeout(r, 250)); // past SESSION_CACHE_TTL_MS: the retry sees S3's view, not memory
    const retried = await revoke(second.access_token);
    expect(retried.status).toBe(200);
    expect(await retried.json()).toEqual({ revoked: true });

    expect(await keysOf(email, [first.session_id, second.session_id])).toEqual([]);
    expect(await grantAlive(refreshToken)).toBe(false);
    for (const token of [first.access_token, second.access_token]) expect((await getWithBearer(sut, '/auth/session', token)).status).toBe(401);
  });

  it('a retry with the same bearer after its own session was deleted (answer lost) resumes from the mark', async () => {
    const email = 'solo@example.com';
    const only = await signIn(sut, world, email);
    const refreshToken = String((await readObject(world, `credentials/${email}.json`)).json.refresh_token);
    // Sessions deleted, answers lost; then the mark clear fails too.
    const a = s3Proxy.inject({ method: 'DELETE', path: new RegExp(`^/${world.bucket}/sessions/[A-Za-z0-9_-]{43}\\.json$`), fault: 'drop-answer', times: Infinity });
    expect((await revoke(only.access_token)).status).toBe(503);
    a.remove();
    await new Promise((r) => setTimeout(r, 250));
    const retried = await revoke(only.access_token);
    expect(retried.status).toBe(200);
    expect(await keysOf(email, [only.session_id])).toEqual([]);
    expect(await grantAlive(refreshToken)).toBe(false);
    // Done: the same token again changes nothing and still says so.
    expect((await revoke(only.access_token)).status).toBe(200);
  });

  it('a revocation left unfinished on one replica is finished by a retry on another', async () => {
    const email = 'two-replicas@example.com';
    const first = await signIn(sut, world, email);
    const second = await signIn(other, world, email);
    const refreshToken = String((await readObject(world, `credentials/${email}.json`)).json.refresh_token);
    // Everything up to the sessions is done on sut; the session deletes fail there.
    const fault = s3Proxy.inject({ method: 'DELETE', path: new RegExp(`^/${world.bucket}/sessions/[A-Za-z0-9_-]{43}\\.json$`), fault: 'reset', times: Infinity });
    expect((await revoke(first.access_token)).status).toBe(503);
    fault.remove();
    expect(await grantAlive(refreshToken)).toBe(false);
    const retried = await fetch(`${other.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${second.access_token}` } });
    expect(retried.status).toBe(200);
    expect(await keysOf(email, [first.session_id, second.session_id])).toEqual([]);
    await new Promise((r) => setTimeout(r, 250));
    expect((await getWithBearer(sut, '/auth/session', first.access_token)).status).toBe(401);
  });

  it('ends the sessions in parallel, not one by one', async () => {
    const email = 'many-sessions@example.com';
    const tokens = [];
    for (let i = 0; i < 6; i++) tokens.push(await signIn(sut, world, email));
    // Each session delete takes 300 ms: one by one would take 1.8 s or more.
    s3Proxy.inject({ method: 'DELETE', path: new RegExp(`^/${world.bucket}/sessions/[A-Za-z0-9_-]{43}\\.json$`), fault: 'latency', ms: 300, times: Infinity });
    const started = Date.now();
    expect((await revoke(tokens[0].access_token)).status).toBe(200);
    const ms = Date.now() - started;
    const deletes = s3Proxy.seen('DELETE', new RegExp(`^/${world.bucket}/sessions/[A-Za-z0-9_-]{43}\\.json$`)).filter((d) => d.at >= started);
    expect(deletes).toHaveLength(6);
    const span = Math.max(...deletes.map((d) => d.at)) - Math.min(...deletes.map((d) => d.at));
    expect(span).toBeLessThan(300); // all were sent before the first one answered
    expect(ms).toBeLessThan(6 * 300);
    expect(await keysOf(email, tokens.map((t) => t.session_id))).toEqual([]);
  });
  it('reads the credentials once, and ends the sessions while Google revokes and the credentials are deleted', async () => {
    const email = 'round-trips@example.com';
    const signedIn = await signIn(sut, world, email);
    await new Promise((r) => setTimeout(r, 250)); // past SESSION_CACHE_TTL_MS: the session is checked in S3 too
    googleProxy.inject({ method: 'POST', path: '/revoke', fault: 'latency', ms: 800 });
    const started = Date.now();
    expect((await revoke(signedIn.access_token)).status).toBe(200);
    expect(s3Proxy.seen('GET', `/${world.bucket}/credentials/`).filter((r) => r.at >= started)).toHaveLength(1);
    const googleRevoke = googleProxy.seen('POST', '/revoke').filter((r) => r.at >= started)[0];
    const credentialsDelete = s3Proxy.seen('DELETE', `/${world.bucket}/credentials/`).filter((r) => r.at >= started)[0];
    const sessionDelete = s3Proxy.seen('DELETE', new RegExp(`^/${world.bucket}/sessions/[A-Za-z0-9_-]{43}\\.json$`)).filter((r) => r.at >= started)[0];
    expect(credentialsDelete.at).toBeGreaterThanOrEqual(googleRevoke.at + 800); // never before Google confirmed
    expect(sessionDelete.at).toBeLessThan(credentialsDelete.at); // the sessions ended meanwhile
    expect(await keysOf(email, [signedIn.session_id])).toEqual([]);
  });

  it('lists the sessions with the first reads, and ends none before the mark is stored', async () => {
    const email = 'listed-with-mark@example.com';
    const signedIn = await signIn(sut, world, email);
    await new Promise((r) => setTimeout(r, 250)); // past SESSION_CACHE_TTL_MS: the session is checked in S3 too
    s3Proxy.inject({ method: 'GET', path: `/${world.bucket}/credentials/`, fault: 'latency', ms: 500 });
    s3Proxy.inject({ method: 'PUT', path: `/${world.bucket}/sessions/revoking/`, fault: 'latency', ms: 500 });
    const started = Date.now();
    expect((await revoke(signedIn.access_token)).status).toBe(200);
    const credentialsRead = s3Proxy.seen('GET', `/${world.bucket}/credentials/`).filter((r) => r.at >= started)[0];
    const markPut = s3Proxy.seen('PUT', `/${world.bucket}/sessions/revoking/`).filter((r) => r.at >= started)[0];
    const listing = s3Proxy.seen('GET', new RegExp(`^/${world.bucket}/?$`)).filter((r) => r.at >= started)[0]; // the only listing
    const sessionDelete = s3Proxy.seen('DELETE', new RegExp(`^/${world.bucket}/sessions/[A-Za-z0-9_-]{43}\\.json$`)).filter((r) => r.at >= started)[0];
    expect(listing.at).toBeLessThan(credentialsRead.at + 450); // a read: it waits neither for the other reads
    expect(listing.at).toBeLessThan(markPut.at); // nor for the mark
    expect(markPut.at).toBeGreaterThanOrEqual(credentialsRead.at + 450); // the mark records the grant read
    expect(sessionDelete.at).toBeGreaterThanOrEqual(markPut.at + 450); // the mark is durable before any session ends
    expect(await keysOf(email, [signedIn.session_id])).toEqual([]);
  });

  it('a sign-in that lands after Google confirmed, before the credentials delete, keeps its new grant (the delete is of the version read)', async () => {
    const email = 'regrant-during-revoke@example.com';
    // A replica whose S3 timeout outlasts the sign-in below, while its credentials delete is held.
    const patient = await startService(world, { S3_ENDPOINT: s3Proxy.url, S3_TIMEOUT_MS: '10000', SESSION_CACHE_TTL_MS: '200' });
    try {
      const first = await signIn(patient, world, email);
      const oldGrant = String((await readObject(world, `credentials/${email}.json`)).json.refresh_token);
      // The delete goes to S3 once the new sign-in is stored: held, not delayed by a fixed time (3 s), which the whole
      // sign-in had to fit in; had it not, the delete would have come first and nothing here would have been tested.
      const credentialsDelete = s3Proxy.holdNext({ method: 'DELETE', path: `/${world.bucket}/credentials/` });
      const revoking = fetch(`${patient.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${first.access_token}` } });
      await credentialsDelete.arrived;
      expect(await grantAlive(oldGrant)).toBe(false); // Google confirmed: the delete is on its way
      // Meanwhile the user signs in again on another replica: Google issues a new grant, written to S3 first.
      const browser = new Browser();
      const location = await startSignIn(other, browser, email);
      expect((await browser.get(await world.google.approve(`${location}&prompt=consent`, { email }))).status).toBe(200);
      const newGrant = String((await readObject(world, `credentials/${email}.json`)).json.refresh_token);
      expect(newGrant).not.toBe(oldGrant);
      await credentialsDelete.release();
      expect((await revoking).status).toBe(200);
      expect(await grantAlive(newGrant)).toBe(true); // never revoked at Google: only the grant read was
      if (await deleteHonoursIfMatch(world)) {
        // The delete was of the version the revocation read: the new grant is still stored.
        expect((await readObject(world, `credentials/${email}.json`)).json.refresh_token).toBe(newGrant);
      } else {
        // An S3 that ignores If-Match on deletes (docs/failure-model.md) deletes the newer version too: the user
        // signs in once more. Nothing else is lost: the old grant is revoked, the new one is alive at Google.
        await expect(readObject(world, `credentials/${email}.json`)).rejects.toMatchObject({ name: 'NotFound' });
      }
    } finally {
      await patient.close();
    }
  });
});
