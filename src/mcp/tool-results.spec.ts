import { ReauthRequiredError } from '../credentials/credentials.errors.js';
import { reauthorizeError, toolError } from './tool-results.js';

describe('reauthorizeError', () => {
  const text = (err: ReauthRequiredError) => JSON.parse((toolError(reauthorizeError(err)).content[0] as { text: string }).text) as Record<string, unknown>;

  it('tells the person to authorize the application again, not to sign in at /auth/google (which the REST answer keeps)', () => {
    const dead = new ReauthRequiredError("Google no longer accepts this user's grant (revoked or expired).", new Date());
    expect(dead.message).toContain('/auth/google');
    const body = text(dead);
    expect(body).toMatchObject({ statusCode: 401, error: 'reauth_required' });
    expect(body.message).toMatch(/^Google no longer accepts this user's grant \(revoked or expired\)\. /);
    expect(body.message).toMatch(/authorize this application again: it asks you to reconnect on its next request/);
    expect(body.message).not.toContain('/auth/google');
  });

  it('when the sessions stay, says to reconnect the application by hand (nothing refuses its token)', () => {
    const body = text(new ReauthRequiredError("Google rejects this user's access even after a token refresh.", undefined, true));
    expect(body.message).toMatch(/authorize this application again: disconnect and reconnect this server/);
    expect(body.message).not.toContain('/auth/google');
  });
});
