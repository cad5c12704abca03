import { grantedScopes, parseScopeRequest } from './scope-request.js';

const G = 'https://www.googleapis.com/auth/';

describe('scope requests', () => {
  it('accepts vocabulary scopes, drops offline_access and duplicates, and reads no scope as "everything granted"', () => {
    expect(parseScopeRequest(undefined)).toEqual({ ok: true, scopes: [] });
    expect(parseScopeRequest(`${G}gmail.readonly  offline_access ${G}gmail.readonly https://mail.google.com/`)).toEqual({ ok: true, scopes: [`${G}gmail.readonly`, 'https://mail.google.com/'] });
  });

  it('refuses anything outside the vocabulary, naming it', () => {
    for (const raw of ['openid', `${G}gmail.readonly ${G}gmail.readonly.all`, 'GMAIL.READONLY', `${G}youtube`, ['a'], 'x'.repeat(3000)]) {
      const parsed = parseScopeRequest(raw);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok && typeof raw === 'string' && raw.length < 100) expect(parsed.description).toContain(raw.split(' ').at(-1)?.slice(0, 20));
    }
  });

  it('grants the requested scopes Google granted, or every granted vocabulary scope when none was requested', () => {
    const google = ['openid', `${G}userinfo.email`, `${G}gmail.readonly`, `${G}drive.readonly`];
    expect(grantedScopes(`${G}gmail.readonly ${G}gmail.send`, google)).toEqual([`${G}gmail.readonly`]);
    expect(grantedScopes(undefined, google).sort()).toEqual([`${G}drive.readonly`, `${G}gmail.readonly`]);
    expect(grantedScopes(`${G}gmail.send`, google)).toEqual([]);
  });
});
