import { parseConfig } from '../config/config.schema.js';
import { documentPublisher } from './shared-hosts.js';

const operatorShared = parseConfig({ GOOGLE_CLIENT_ID: 'id', GOOGLE_CLIENT_SECRET: 'secret', S3_BUCKET: 'bucket', JWT_SECRET: 'x'.repeat(32), OAUTH_CIMD_SHARED_HOSTS: 'git.corp.example, *.pages.corp.example' }).cimd.sharedHosts;

describe('who published a metadata document', () => {
  it.each([
    ['https://raw.githubusercontent.com/someuser/repo/main/client.json', 'raw.githubusercontent.com/someuser'],
    ['https://gist.githubusercontent.com/someuser/0123abcd/raw/client.json', 'gist.githubusercontent.com/someuser'],
    ['https://cdn.jsdelivr.net/gh/someuser/repo/client.json', 'cdn.jsdelivr.net/gh/someuser'],
    ['https://storage.googleapis.com/a-bucket/client.json', 'storage.googleapis.com/a-bucket'],
    ['https://s3.amazonaws.com/a-bucket/client.json', 's3.amazonaws.com/a-bucket'],
    ['https://s3.eu-west-1.amazonaws.com/a-bucket/dir/client.json', 's3.eu-west-1.amazonaws.com/a-bucket'],
    ['https://s3-eu-west-1.amazonaws.com/a-bucket/client.json', 's3-eu-west-1.amazonaws.com/a-bucket'],
    // A trailing dot is the same DNS name: it does not turn a shared host into an unknown one.
    ['https://raw.githubusercontent.com./someuser/repo/main/client.json', 'raw.githubusercontent.com./someuser'],
    ['https://git.corp.example/team/tools/-/raw/main/client.json', 'git.corp.example/team'],
  ])('on a host with path tenants, names the tenant: %s', (url, label) => {
    expect(documentPublisher(url, operatorShared)).toEqual({ host: new URL(url).host, kind: 'path', label });
  });

  it.each([
    // An empty segment or an encoded one is what the host makes of it: a server that merges slashes, or decodes %2F
    // and then resolves the dot segments, serves another account's file there than the one the page would name.
    'https://raw.githubusercontent.com//victim/repo/client.json',
    'https://raw.githubusercontent.com/victim%2F..%2Fattacker/repo/main/client.json',
    'https://raw.githubusercontent.com/%76ictim/repo/main/client.json',
    'https://cdn.jsdelivr.net/gh//victim/client.json',
    'https://cdn.jsdelivr.net/gh/victim%2F..%2F..%2Fgh%2Fattacker/client.json',
    'https://git.corp.example//team/client.json',
  ])('names no account when the path does not plainly name one, and still counts the host as shared: %s', (url) => {
    expect(documentPublisher(url, operatorShared)).toEqual({ host: new URL(url).host, kind: 'path', label: new URL(url).host });
  });

  it.each([
    // Held: the URL parser resolves dot segments (also %2e%2e) before the path is read, so what is named is what is fetched.
    ['https://raw.githubusercontent.com/victim/../attacker/repo/client.json', 'raw.githubusercontent.com/attacker'],
    ['https://raw.githubusercontent.com/victim/%2e%2e/attacker/repo/client.json', 'raw.githubusercontent.com/attacker'],
    // Upper case: the host is lower-cased by the parser; the account is shown as written (GitHub's names ignore case).
    ['https://RAW.GitHubUserContent.com/Victim/repo/client.json', 'raw.githubusercontent.com/Victim'],
    ['https://raw.githubusercontent.com\\attacker\\repo\\client.json', 'raw.githubusercontent.com/attacker'],
  ])('names the account the parsed path names: %s', (url, label) => {
    expect(documentPublisher(url).label).toBe(label);
  });

  it.each([
    // Held: shared whatever the spelling of the host (case, the root's dot, a full-width dot, percent-encoding, a port).
    'https://Someone.GitHub.IO/client.json',
    'https://someone.github.io./client.json',
    'https://someone.github\uff0eio/client.json',
    'https://someone.github%2eio/client.json',
    'https://someone.github.io:8443/client.json',
  ])('tells a subdomain tenant apart however its host is spelled: %s', (url) => {
    expect(documentPublisher(url).kind).toBe('subdomain');
  });

  it('never takes the document itself for its owner', () => {
    expect(documentPublisher('https://unpkg.com/client.json')).toEqual({ host: 'unpkg.com', kind: 'path', label: 'unpkg.com' });
  });

  it.each([
    'https://someone.github.io/app/client.json',
    'https://my-app.vercel.app/client.json',
    'https://a-bucket.s3.amazonaws.com/client.json',
    'https://a-bucket.s3.eu-west-1.amazonaws.com/client.json',
    'https://acct.blob.core.windows.net/c/client.json',
    'https://abc-123.ngrok-free.app/client.json',
    'https://words-here.trycloudflare.com/client.json',
    'https://project.web.app/client.json',
    // Listed here only (not in the Public Suffix List): where a tenant's name ends is unknown, so the whole host.
    'https://a.b.someone.wordpress.com/client.json',
    'https://docs.pages.corp.example/client.json',
    'https://x.y.pages.corp.example/client.json',
  ])('on a host with subdomain tenants, the full host is the tenant, still shared: %s', (url) => {
    expect(documentPublisher(url, operatorShared)).toEqual({ host: new URL(url).host, kind: 'subdomain', label: new URL(url).host });
  });

  it.each([
    // Below a suffix of the Public Suffix List's private section and not in the built-in list: shared all the same.
    ['https://someone.myshopify.com/client.json', 'someone.myshopify.com'],
    ['https://someone.hf.space/client.json', 'someone.hf.space'],
    ['https://site.webflow.io/client.json', 'site.webflow.io'],
    ['https://app.streamlit.app/client.json', 'app.streamlit.app'],
    ['https://node.tailnet-1234.ts.net/client.json', 'tailnet-1234.ts.net'],
    // The PSL also says where the tenant's name ends: labels below it are that tenant's own pick, not who it is.
    ['https://someone.herokuapp.com/client.json', 'someone.herokuapp.com'],
    ['https://claude.ai.someone.herokuapp.com/client.json', 'someone.herokuapp.com'],
    ['https://claude.ai.someone.herokuapp.com:8443/client.json', 'someone.herokuapp.com:8443'],
    ['https://x.y.netlify.app/client.json', 'y.netlify.app'],
    ['https://worker.someone.workers.dev/client.json', 'someone.workers.dev'],
    ['https://a.x.pages.dev/client.json', 'x.pages.dev'],
    ['https://Login.Someone.HerokuApp.com./client.json', 'someone.herokuapp.com'],
    // Google lists googleapis.com itself: its names are separate parties' (its own among them), so warned too.
    ['https://oauth2.googleapis.com/client.json', 'oauth2.googleapis.com'],
  ])('below a public suffix of the PSL\'s private section, the tenant is its registrable domain: %s', (url, label) => {
    expect(documentPublisher(url, operatorShared)).toEqual({ host: new URL(url).host, kind: 'subdomain', label });
  });

  it('names the full host when an operator\'s entry says tenants sit deeper than the PSL\'s suffix (their name would be every tenant\'s)', () => {
    const deeper = parseConfig({ GOOGLE_CLIENT_ID: 'id', GOOGLE_CLIENT_SECRET: 'secret', S3_BUCKET: 'bucket', JWT_SECRET: 'x'.repeat(32), OAUTH_CIMD_SHARED_HOSTS: '*.apps.herokuapp.com' }).cimd.sharedHosts;
    expect(documentPublisher('https://tenant.apps.herokuapp.com/client.json', deeper)).toEqual({ host: 'tenant.apps.herokuapp.com', kind: 'subdomain', label: 'tenant.apps.herokuapp.com' });
    expect(documentPublisher('https://tenant.apps.herokuapp.com/client.json').label).toBe('apps.herokuapp.com');
  });

  it.each([
    'https://claude.ai/oauth/client.json',
    'https://app.example.com:8443/client.json',
    // The platforms' own names are theirs, not a tenant's; and a name merely ending like one is someone else's.
    'https://github.io/client.json',
    'https://notgithub.io/client.json',
    'https://pages.corp.example/client.json',
    // Below an ICANN suffix a domain is someone's own, as example.com is: only the PSL's private section is shared.
    'https://app.example.com/client.json',
    'https://app.example.co.uk/client.json',
    'https://tools.example.com.au/client.json',
    'https://herokuapp.com/client.json', // a private suffix itself is the platform's own name
    'https://127.0.0.1:8443/client.json',
  ])('elsewhere the host is its owner: %s', (url) => {
    expect(documentPublisher(url, operatorShared)).toEqual({ host: new URL(url).host, kind: 'own', label: new URL(url).host });
  });
});
