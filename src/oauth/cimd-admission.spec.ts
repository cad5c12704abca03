import type { AppConfig } from '../config/app-config.js';
import { parseConfig } from '../config/config.schema.js';
import { CimdAdmission } from './cimd-admission.js';
import { OAuthError } from './oauth-error.js';

const admission = (env: Record<string, string>) =>
  new CimdAdmission({ values: parseConfig({ GOOGLE_CLIENT_ID: 'id', GOOGLE_CLIENT_SECRET: 'secret', S3_BUCKET: 'bucket', JWT_SECRET: 'x'.repeat(32), LOG_LEVEL: 'silent', ...env }) } as AppConfig);

describe('OAUTH_CIMD_ALLOWED_HOSTS: which hosts metadata documents are accepted from', () => {
  const listed = admission({ OAUTH_CIMD_ALLOWED_HOSTS: 'claude.ai, chatgpt.com, *.corp.example' });

  it('accepts any host when unset (as before)', () => {
    expect(admission({}).admits('https://anyone.example/client.json')).toBe(true);
  });

  it.each([
    'https://claude.ai/oauth/client.json',
    'https://chatgpt.com/client.json',
    'https://tools.corp.example/client.json',
    'https://a.b.corp.example/client.json',
    'https://claude.ai:8443/client.json',
    'https://claude.ai./client.json',
    // Other spellings of a listed host are that host (the parser's reading, which the fetch uses too); the document
    // lookup then refuses any spelling but the normal one (client-metadata-validation.spec.ts).
    'https://CLAUDE.AI/client.json',
    'https://claude\uff0eai/client.json',
    'https://claude%2eai/client.json',
  ])('accepts a listed host: %s', (url) => {
    expect(listed.admits(url)).toBe(true);
    expect(() => listed.check(url, 'token')).not.toThrow();
  });

  it.each([
    'https://evil.example/client.json',
    'https://claude.ai.evil.example/client.json',
    'https://evilclaude.ai/client.json',
    'https://www.claude.ai/client.json', // exact entries admit that host only
    'https://corp.example/client.json', // *.corp.example is the hosts below it
    'https://notcorp.example/client.json',
    'https://claude.ai@evil.example/client.json', // the host is what the URL parser (and the fetch) reads
    'https://evil.example\\@claude.ai/client.json',
    'https://', // a URL client_id that does not parse names no host
    'https://claude.ai%/client.json',
    'https://evil.example#@claude.ai/client.json',
    'https://cl\u0430ude.ai/client.json', // a Cyrillic а: another host (xn--), whatever it looks like
    'https://xn--clude-6ve.ai/client.json',
    'https://corp.example.evil.net/client.json',
    'https://evil-corp.example/client.json',
    'https://claude.ai..evil.example/client.json',
    'https://[::1]/client.json',
    'https://2130706433/client.json',
  ])('refuses any other: %s', (url) => {
    expect(listed.admits(url)).toBe(false);
  });

  it('refuses with 400 invalid_request at /oauth/authorize and 401 invalid_client at the token endpoint, without listing the hosts', () => {
    const url = 'https://evil.example/client.json';
    let atAuthorize: unknown;
    let atToken: unknown;
    try {
      listed.check(url, 'authorize');
    } catch (err) {
      atAuthorize = err;
    }
    try {
      listed.check(url, 'token');
    } catch (err) {
      atToken = err;
    }
    expect(atAuthorize).toBeInstanceOf(OAuthError);
    expect(atAuthorize).toMatchObject({ status: 400, error: 'invalid_request' });
    expect(atToken).toMatchObject({ status: 401, error: 'invalid_client' });
    const message = (atToken as Error).message;
    expect(message).toContain('evil.example');
    expect(message).toContain('OAUTH_CIMD_ALLOWED_HOSTS');
    for (const host of ['claude.ai', 'chatgpt.com', 'corp.example']) expect(message).not.toContain(host);
  });

  it('leaves registered client ids alone, and URL ids too when documents are turned off', () => {
    expect(() => listed.check('wsb_abcdefghijklmnopqrstuv', 'token')).not.toThrow();
    expect(() => listed.check(undefined, 'token')).not.toThrow();
    const off = admission({ OAUTH_CIMD_ALLOWED_HOSTS: 'claude.ai', OAUTH_CLIENT_METADATA_DOCUMENTS: 'false' });
    expect(() => off.check('https://evil.example/client.json', 'authorize')).not.toThrow();
  });
});

describe('OAUTH_CIMD_ALLOWED_HOSTS below a public suffix', () => {
  it('a domain someone owns below co.uk admits its own hosts only, not the rest of co.uk', () => {
    const listed = admission({ OAUTH_CIMD_ALLOWED_HOSTS: '*.example.co.uk' });
    expect(listed.admits('https://app.example.co.uk/client.json')).toBe(true);
    expect(listed.admits('https://evil.co.uk/client.json')).toBe(false);
    expect(listed.admits('https://example.co.uk.evil.co.uk/client.json')).toBe(false);
  });

  it.each([
    ['bucket.s3.amazonaws.com', false], // s3.amazonaws.com: a public suffix inside the wildcard, the bucket a tenant
    ['bucket.s3.eu-west-1.amazonaws.com', false],
    ['ec2-1-2-3-4.compute-1.amazonaws.com', false],
    ['app.elasticbeanstalk.com', false], // another domain: not below the wildcard at all
    ['docs.amazonaws.com', true], // Amazon's own host below the listed domain
    ['a.b.amazonaws.com', true],
  ])('a wildcard over a domain that holds public suffixes admits the domain owner\'s hosts, not tenants below those suffixes: *.amazonaws.com, %s', (host, admitted) => {
    const listed = admission({ OAUTH_CIMD_ALLOWED_HOSTS: '*.amazonaws.com' });
    expect(listed.admits(`https://${host}/client.json`)).toBe(admitted);
  });

  it('an exact entry admits one tenant below such a suffix, and a wildcard below the suffix its own tenant\'s hosts', () => {
    const listed = admission({ OAUTH_CIMD_ALLOWED_HOSTS: 'ours.s3.amazonaws.com, *.ours.herokuapp.com' });
    expect(listed.admits('https://ours.s3.amazonaws.com/client.json')).toBe(true);
    expect(listed.admits('https://theirs.s3.amazonaws.com/client.json')).toBe(false);
    expect(listed.admits('https://app.ours.herokuapp.com/client.json')).toBe(true);
    expect(listed.admits('https://theirs.herokuapp.com/client.json')).toBe(false);
  });

  it.each(['*.co.uk', '*.github.io'])('a wildcard over the public suffix itself stops the boot instead of admitting everyone there: %s', (entry) => {
    expect(() => admission({ OAUTH_CIMD_ALLOWED_HOSTS: entry })).toThrow(/is a wildcard over .*, a public suffix/);
  });
});

describe('who published a document, as the consent page is told', () => {
  it('a host below a private public suffix is a shared host, named by its tenant; one below an ICANN suffix is its owner\'s', () => {
    const any = admission({});
    expect(any.publisher('https://login.someone.herokuapp.com/client.json')).toEqual({ host: 'login.someone.herokuapp.com', kind: 'subdomain', label: 'someone.herokuapp.com' });
    expect(any.publisher('https://someone.myshopify.com/client.json')).toMatchObject({ kind: 'subdomain', label: 'someone.myshopify.com' });
    expect(any.publisher('https://app.example.com/client.json')).toEqual({ host: 'app.example.com', kind: 'own', label: 'app.example.com' });
  });

  it('an operator\'s *. over a public suffix in OAUTH_CIMD_SHARED_HOSTS makes every host below it shared', () => {
    const shared = admission({ OAUTH_CIMD_SHARED_HOSTS: '*.co.uk' });
    expect(shared.publisher('https://app.example.co.uk/client.json')).toMatchObject({ kind: 'subdomain' });
  });
});
