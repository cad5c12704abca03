import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultProxy } from '../support/fault-proxy.js';
import { type Service, signIn, startService, startWorld, type World } from '../support/harness.js';

/** What STS answers AssumeRoleWithWebIdentity with: temporary keys (here the test S3 server's), valid for an hour. */
function assumedRole(accessKeyId: string, secretAccessKey: string): string {
  const expiration = new Date(Date.now() + 3600_000).toISOString();
  return (
    '<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>' +
    `<Credentials><AccessKeyId>${accessKeyId}</AccessKeyId><SecretAccessKey>${secretAccessKey}</SecretAccessKey><SessionToken>session-token</SessionToken><Expiration>${expiration}</Expiration></Credentials>` +
    '<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/workspace-broker/pod</Arn><AssumedRoleId>AROA:pod</AssumedRoleId></AssumedRoleUser>' +
    '</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>'
  );
}

/**
 * Without AWS keys in the configuration the S3 client takes its credentials from the AWS default chain: on EKS with
 * IRSA (deploy/kubernetes/serviceaccount.yaml), a web identity token exchanged at STS. The SDK's STS client reuses
 * the S3 client's HTTP handler, so the exchange must get through it (bounded, like every request).
 */
describe('S3 credentials from the default chain (IRSA: a web identity token exchanged at STS)', () => {
  const vars = ['AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN', 'AWS_ROLE_SESSION_NAME', 'AWS_ENDPOINT_URL_STS', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'];
  const saved: Record<string, string | undefined> = {};
  let world: World;
  let sts: FaultProxy;
  let sut: Service | undefined;
  let dir: string;

  beforeAll(async () => {
    world = await startWorld();
    sts = await FaultProxy.start(world.s3.endpoint); // every request is answered by the canned STS answer below
    dir = mkdtempSync(join(tmpdir(), 'irsa-'));
    writeFileSync(join(dir, 'token'), 'eyJhbGciOiJSUzI1NiJ9.projected-service-account-token.sig');
    for (const name of vars) saved[name] = process.env[name];
    for (const name of vars) delete process.env[name];
    Object.assign(process.env, {
      AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, 'token'),
      AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/workspace-broker',
      AWS_ENDPOINT_URL_STS: sts.url,
      AWS_CONFIG_FILE: join(dir, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
    });
  });
  afterAll(async () => {
    await sut?.close();
    for (const name of vars) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    rmSync(dir, { recursive: true, force: true });
    await sts?.stop();
    await world?.close();
  });

  it('a role STS refuses to hand out stops the boot with the role, not S3, named as what to fix', async () => {
    // The role's trust policy does not name this cluster's OIDC provider or service account: STS answers 403.
    const refused = sts.inject({
      fault: 'answer',
      status: 403,
      contentType: 'text/xml',
      body:
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>' +
        '<Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error><RequestId>r-1</RequestId></ErrorResponse>',
      times: Infinity,
    });
    try {
      const boot = startService(world, { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, S3_TIMEOUT_MS: '1500' });
      const err = (await boot.then(() => undefined, (e: Error) => e)) as Error;
      expect(err?.message).toMatch(/arn:aws:iam::123456789012:role\/workspace-broker/);
      expect(err?.message).toMatch(/trust policy/);
      expect(err?.message).toMatch(/AccessDenied/);
      expect(err?.message).not.toMatch(/S3 denied/);
    } finally {
      refused.remove();
    }
  });

  it('gets its keys from STS, is ready, and stores a sign-in; a stalled STS is a bounded 503 until it answers', async () => {
    const stalled = sts.inject({ fault: 'stall', times: Infinity });
    sut = await startService(world, { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, S3_TIMEOUT_MS: '1500' });
    const started = Date.now();
    const down = await fetch(`${sut.url}/health/ready`);
    expect(down.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(1500 + 1500);
    stalled.remove();
    sts.clear(); // the stalled exchanges end (reset)
    sts.inject({ fault: 'answer', status: 200, contentType: 'text/xml', body: assumedRole(world.s3.accessKeyId, world.s3.secretAccessKey), times: Infinity });
    let ready = await fetch(`${sut.url}/health/ready`);
    for (const until = Date.now() + 10_000; ready.status !== 200 && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 250));
      ready = await fetch(`${sut.url}/health/ready`);
    }
    expect({ status: ready.status, body: await ready.json() }).toMatchObject({ status: 200, body: { info: { s3: { status: 'up' } } } });
    expect(sts.seen('POST').length).toBeGreaterThan(0);
    const { session_id } = await signIn(sut, world, 'role-credentials@example.com');
    expect(session_id).toEqual(expect.any(String));
  });
});
