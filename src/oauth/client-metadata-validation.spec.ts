import { clientIdUrlProblem } from './client-metadata-validation.js';

/**
 * A client_id URL is fetched exactly as written, and the admission check (OAUTH_CIMD_ALLOWED_HOSTS), the fetch and
 * the consent page all read its host with the same URL parser: these spellings, which could make one of them read a
 * different host or path than another, are refused before anything is fetched (only the parser's own form is used).
 */
describe('which client_id URLs may name a metadata document', () => {
  it.each([
    ['https://claude.ai@evil.example/client.json', /userinfo/],
    ['https://evil.example#@claude.ai/client.json', /fragment/],
    ['https://evil.example\\@claude.ai/client.json', /normal form/],
    ['https://evil.example/\\\\claude.ai/client.json', /normal form/],
    ['https://claude.ai/official/../client.json', /normal form/],
    ['https://claude.ai/official/%2e%2e/client.json', /normal form/],
    ['https://claude.ai/official/.%2E/client.json', /normal form/],
    ['https://Claude.AI/client.json', /normal form/],
    ['https://claude\uff0eai/client.json', /normal form/], // full-width dot
    ['https://claude%2eai/client.json', /normal form/],
    ['https://claude.ai:443/client.json', /normal form/],
    ['https://2130706433/client.json', /normal form/], // 127.0.0.1 in decimal
    ['https://0177.0.0.1/client.json', /normal form/], // and in octal
    ['https://127.0.0.1/client.json', /private address/],
    ['https://[::ffff:7f00:1]/client.json', /private address/],
    ['https://[::1]/client.json', /private address/],
    ['http://claude.ai/client.json', /https/],
    ['https://claude.ai/', /path/],
  ])('refuses %s', (url, problem) => {
    expect(clientIdUrlProblem(url, false)).toMatch(problem);
  });

  it.each(['https://claude.ai/client.json', 'https://claude.ai:8443/client.json', 'https://claude.ai./client.json', 'https://xn--bcher-kva.example/client.json'])(
    'accepts the parser\'s own form: %s',
    (url) => {
      expect(clientIdUrlProblem(url, false)).toBeUndefined();
    },
  );
});
