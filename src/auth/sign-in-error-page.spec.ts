import { DependencyUnavailableError } from '../common/domain-error.js';
import { mapFailure, mapPassportError } from './google-sign-in.js';
import { signInErrorPage } from './sign-in-error-page.js';

describe('the sign-in error page', () => {
  const s3 = new DependencyUnavailableError('S3 did not answer put on bucket "b" within 5000 ms. Retry shortly.');

  it('a browser sign-in: starts again at /auth/google', () => {
    expect(signInErrorPage(s3)).toContain('<a class="button" id="start-again" href="/auth/google">');
  });

  it('an OAuth client\'s sign-in: leads back into its authorization, never to /auth/google', () => {
    const page = signInErrorPage(s3, { restartUrl: 'https://broker.example/oauth/authorize?client_id=wsb_x&state=a&b' });
    expect(page).toContain('id="connect-again" href="https://broker.example/oauth/authorize?client_id=wsb_x&amp;state=a&amp;b"');
    expect(page).not.toContain('/auth/google');
    expect(page).toContain('S3 did not answer');
  });

  it('an OAuth client\'s sign-in without a link: a sentence sending the person back to the application', () => {
    const page = signInErrorPage(s3, {});
    expect(page).not.toContain('/auth/google');
    expect(page).not.toContain('id="connect-again"');
    expect(page).toContain('Go back to the application you were connecting');
  });

  it('errors of an OAuth client\'s sign-in point back to the application; a browser sign-in\'s keep /auth/google', () => {
    const google = [{ name: 'TokenError', code: 'invalid_grant' }, { name: 'TokenError', code: 'server_error' }, { name: 'AuthorizationError', code: 'x' }, { name: 'InternalOAuthError' }];
    for (const err of google) {
      expect(mapPassportError(err, true).message).toContain('from the application you were connecting');
      expect(mapPassportError(err, true).message).not.toContain('/auth/google');
      expect(mapPassportError(err).message).toContain('at /auth/google');
    }
    for (const info of [{ reason: 'state_replayed', message: 'Start a new sign-in at /auth/google.' }, { reason: 'email_unverified' }, { reason: 'email_unusable' }, {}]) {
      expect(mapFailure(info, true).message).not.toContain('/auth/google');
      expect(mapFailure(info).message).toContain('/auth/google');
    }
  });
});
