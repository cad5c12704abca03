import { authorizationRequestQuery, parseAuthorizationRequest, pendingPart, type AuthorizationRequest } from './authorization-request.js';
import type { OAuthClient } from './oauth-client.js';

const G = 'https://www.googleapis.com/auth/';
const client: OAuthClient = { clientId: 'wsb_client', redirectUris: ['http://127.0.0.1:8765/callback'], tokenEndpointAuthMethod: 'none', createdAt: '2026-01-01T00:00:00Z', static: false };
const resourceOf = (r: string) => (r === 'https://broker.example/mcp' ? r : undefined);
const parse = (q: URLSearchParams) => parseAuthorizationRequest(Object.fromEntries(q), client, resourceOf);

describe('authorizationRequestQuery (the "connect again" link of a failed OAuth sign-in)', () => {
  const full: AuthorizationRequest = {
    clientId: 'wsb_client',
    redirectUri: 'http://127.0.0.1:8765/callback',
    codeChallenge: 'c'.repeat(43),
    state: 'st & more=1',
    resource: 'https://broker.example/mcp',
    scope: `${G}gmail.readonly ${G}drive.file`,
    prompt: 'consent',
  };

  it('asks for the same request again: parsing it gives back what was parsed the first time', () => {
    expect(parse(authorizationRequestQuery(full))).toEqual({ ...pendingPart(full), prompt: 'consent' });
    const bare: AuthorizationRequest = { clientId: 'wsb_client', redirectUri: 'http://127.0.0.1:8765/callback', redirectUriImplied: true, codeChallenge: 'c'.repeat(43) };
    expect(parse(authorizationRequestQuery(bare))).toEqual({ ...pendingPart(bare), state: undefined, resource: undefined, scope: undefined });
    expect(authorizationRequestQuery(bare).has('redirect_uri')).toBe(false); // left out, as the client left it out
  });

  it('carries none of what the server added on the way (an Allow, browser bindings, the granted scope)', () => {
    const added: AuthorizationRequest = { ...full, approved: true, approvedIn: 'a'.repeat(43), startedIn: 'b'.repeat(43), rememberedUser: 'x@example.com', grantedScope: `${G}gmail.readonly` };
    expect([...authorizationRequestQuery(added).keys()].sort()).toEqual(['client_id', 'code_challenge', 'code_challenge_method', 'prompt', 'redirect_uri', 'resource', 'response_type', 'scope', 'state']);
  });

  it('keeps prompt=consent, the one prompt value honoured (as `consent` alone), and adds none when the client sent none', () => {
    const q = new URLSearchParams(authorizationRequestQuery(full));
    q.set('prompt', 'login consent');
    const parsed = parse(q);
    expect(parsed.prompt).toBe('consent');
    expect(authorizationRequestQuery(parsed).get('prompt')).toBe('consent');
    q.set('prompt', 'select_account');
    expect(parse(q).prompt).toBeUndefined();
    expect(authorizationRequestQuery(parse(q)).has('prompt')).toBe(false);
  });

  it('refuses a state that is empty, sent twice or too long, saying which form it must take', () => {
    const base = new URLSearchParams(authorizationRequestQuery(full));
    const refusal = (q: Record<string, unknown>) => {
      try {
        parseAuthorizationRequest(q, client, resourceOf);
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    for (const state of ['', ['a', 'b'], 's'.repeat(513)]) {
      expect(refusal({ ...Object.fromEntries(base), state })).toBe('state must be sent once, as 1 to 512 characters, or left out.');
    }
    expect(refusal({ ...Object.fromEntries(base), state: 's'.repeat(512) })).toBe('accepted');
  });
});
