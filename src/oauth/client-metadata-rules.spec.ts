import { clientUriHost, clientUriProblem, displayedStringProblem, visibleText } from './client-metadata-rules.js';

describe('client metadata the consent page shows', () => {
  it.each([
    ['a right-to-left override', 'Google\u202eelgooG'],
    ['a left-to-right isolate', 'Mail \u2066Helper'],
    ['a zero-width space', 'Goo\u200bgle'],
    ['a zero-width joiner', 'Goo\u200dgle'],
    ['a byte order mark', '\ufeffGoogle'],
    ['a line separator', 'Google\u2028Drive'],
    ['a paragraph separator', 'Google\u2029Drive'],
    ['a Hangul filler', 'Google\u3164'],
    ['a C1 control', 'Google\u0085'],
    ['a C0 control', 'evil\u0007app'],
    ['DEL', 'evil\u007fapp'],
    ['a lone surrogate', 'Google\ud800'],
    ['only spaces', '   '],
  ])('refuses a name with %s', (_what, name) => {
    expect(displayedStringProblem(name)).toEqual(expect.any(String));
  });

  it('names the offending character', () => {
    expect(displayedStringProblem('Google\u202eelgooG')).toContain('U+202E');
  });

  it('accepts names in any script, with emoji and ordinary spaces', () => {
    for (const name of ['Claude Desktop', 'Почта помощник', 'メール', 'مساعد البريد', 'Cursor 🚀', 'Zürich Tools']) expect(displayedStringProblem(name)).toBeUndefined();
  });

  it.each([
    ['an unparseable host', 'https://[x'],
    ['plain http', 'http://app.example'],
    ['no host', 'https://'],
    ['userinfo', 'https://trusted.example@evil.example/'],
    ['an empty userinfo', 'https://@evil.example/'],
    ['another scheme', 'javascript:alert(1)'],
    ['a bidi override', 'https://app.example/\u202e'],
  ])('refuses a client_uri with %s', (_what, uri) => {
    expect(clientUriProblem(uri)).toEqual(expect.any(String));
  });

  it('accepts an https client_uri with a path and a port', () => {
    expect(clientUriProblem('https://app.example:8443/about?x=1')).toBeUndefined();
  });

  it('gives the host of a usable client_uri and nothing for one stored before these rules', () => {
    expect(clientUriHost('https://App.Example/about')).toBe('app.example');
    expect(clientUriHost('https://[x')).toBeUndefined();
    expect(clientUriHost(undefined)).toBeUndefined();
  });

  it('shows hidden characters of a stored name as U+FFFD', () => {
    expect(visibleText('Google\u202eelgooG\u200b')).toBe('Google\ufffdelgooG\ufffd');
    expect(visibleText('Plain name')).toBe('Plain name');
  });
});
