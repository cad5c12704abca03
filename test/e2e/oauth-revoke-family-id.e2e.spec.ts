import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { tokensThroughOAuth, refreshGrant, type OAuthTokens } from '../support/oauth-consent.js';
import { getWithBearer, Service, startWorldWithService, stopAll, World } from '../support/harness.js';

/**
 * A refresh token is `{familyId}.{secret}`, and the family id is also its S3 key (`oauth/refresh/{familyId}.json`), so
 * whoever sees the bucket's listing, its access logs or CloudTrail knows every family id. Only the secret is a
 * credential: a token made of a known family id and any other secret must change nothing and tell nothing.
 */
describe('OAuth refresh families: the family id alone is no credential', () => {
  let world: World;
  let sut: Service;

  beforeAll(async () => ({ world, sut } = await startWorldWithService()));
  afterAll(() => stopAll(world, sut));

  /** The family ids S3 lists under oauth/refresh/, as anyone with s3:ListBucket or the access logs sees them. */
  async function listedFamilyIds(): Promise<string[]> {
    const out = await world.admin.send(new ListObjectsV2Command({ Bucket: world.bucket, Prefix: 'oauth/refresh/' }));
    return (out.Contents ?? []).map((o) => /oauth\/refresh\/([A-Za-z0-9_-]{22})\.json$/.exec(o.Key as string)?.[1]).filter((id): id is string => Boolean(id));
  }

  /** The refresh token's family id (as listed in S3) with a secret of the right shape that the family never issued. */
  async function forgedFrom(tokens: OAuthTokens): Promise<string> {
    const familyId = (tokens.refresh_token as string).split('.')[0];
    expect(await listedFamilyIds()).toContain(familyId);
    return `${familyId}.${randomBytes(32).toString('base64url')}`;
  }

  const post = (path: string, params: Record<string, string>) =>
    fetch(`${sut.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params) });

  it('POST /oauth/revoke with a listed family id and a made-up secret (the public client\'s id is public): 200, and the grant lives on', async () => {
    const tokens = await tokensThroughOAuth(world, sut.url, 'family-id-revoke@example.com');
    const res = await post('/oauth/revoke', { client_id: tokens.clientId, token: await forgedFrom(tokens), token_type_hint: 'refresh_token' });
    expect(res.status).toBe(200); // RFC 7009 section 2.2: an invalid token is no error
    expect((await getWithBearer(sut, '/auth/session', tokens.access_token)).status).toBe(200);
    const refreshed = await refreshGrant(sut.url, tokens.clientId, tokens.refresh_token as string);
    expect(refreshed).toMatchObject({ status: 200, body: { refresh_token: expect.any(String) } });
  });

  it('a token rotated away still revokes its family at /oauth/revoke (it was issued by it)', async () => {
    const tokens = await tokensThroughOAuth(world, sut.url, 'family-id-old-token@example.com');
    const refreshed = await refreshGrant(sut.url, tokens.clientId, tokens.refresh_token as string);
    expect(refreshed.status).toBe(200);
    expect((await post('/oauth/revoke', { client_id: tokens.clientId, token: tokens.refresh_token as string })).status).toBe(200);
    expect((await refreshGrant(sut.url, tokens.clientId, refreshed.body.refresh_token)).status).toBe(400);
  });

  it('a refresh with a made-up secret naming a resource is invalid_grant, and does not name the grant\'s resource', async () => {
    const tokens = await tokensThroughOAuth(world, sut.url, 'family-id-resource@example.com', { params: { resource: `${sut.url}/mcp` } });
    const res = await post('/oauth/token', { grant_type: 'refresh_token', client_id: tokens.clientId, refresh_token: await forgedFrom(tokens), resource: sut.url });
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, string>;
    expect(body.error).toBe('invalid_grant');
    expect(body.error_description).not.toContain('/mcp');
    expect((await refreshGrant(sut.url, tokens.clientId, tokens.refresh_token as string)).status).toBe(200);
  });
});
