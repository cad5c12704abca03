import { PutObjectCommand } from '@aws-sdk/client-s3';
import { readObject, type Service, signIn, startWorldWithService, stopAll, type World } from '../support/harness.js';

/**
 * A user's credentials object that does not parse (truncated by a tool, hand-edited, written half by an old
 * script): a sign-in that brings a new refresh token replaces it, as it did before sign-in writes became conditional
 * (bc2c507). Refusing it instead ended every sign-in of that user in a 503 "Delete or repair it" (an operator's
 * task the person cannot do), and threw away the refresh token Google had just issued, sign-in after sign-in.
 */
describe('Sign-in over a credentials object that is not valid JSON', () => {
  let world: World;
  let sut: Service;

  beforeAll(async () => ({ world, sut } = await startWorldWithService()));
  afterAll(() => stopAll(world, sut));

  it('stores the new grant in its place (still conditional on the version read), and the sign-in succeeds', async () => {
    const email = 'unreadable-credentials@example.com';
    const key = `credentials/${email}.json`;
    await world.admin.send(new PutObjectCommand({ Bucket: world.bucket, Key: key, Body: '{"refresh_token": "trunc', ContentType: 'application/json', ServerSideEncryption: 'AES256' }));

    const signedIn = await signIn(sut, world, email);
    expect(signedIn.email).toBe(email);
    const stored = (await readObject(world, key)).json;
    expect(stored.refresh_token).toEqual(expect.any(String));
    expect(world.google.refreshTokenWorks(stored.refresh_token as string)).toBe(true);
  });
});
