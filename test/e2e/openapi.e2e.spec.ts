import { Validator } from '@seriousme/openapi-schema-validator';
import { parse as parseYaml } from 'yaml';
import { startSignedIn } from '../support/api-client.js';
import { stopAll, type Service, type World } from '../support/harness.js';

type Response = { description: string; headers?: Record<string, unknown>; content?: Record<string, { schema: Record<string, unknown> }> };

/** The statuses each OAuth endpoint answers in RFC 6749's error shape (docs/http-api.md), which clients decide from. */
const OAUTH_ERRORS: Record<string, string[]> = {
  'POST /oauth/token': ['400', '401', '413', '415', '429', '503'],
  'POST /oauth/revoke': ['400', '401', '413', '415', '429', '503'],
  'POST /oauth/introspect': ['400', '401', '413', '415', '429', '503'],
  'POST /oauth/register': ['400', '413', '415', '429', '503'],
};
const ERROR_REF = { $ref: '#/components/schemas/Error' };
const OAUTH_ERROR_REF = { $ref: '#/components/schemas/OAuthError' };
type Operation = {
  summary?: string;
  description?: string;
  security?: unknown[];
  parameters?: Array<{ name: string; in: string; schema?: { default?: unknown } }>;
  responses: Record<string, Response>;
};
type Document = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

/** A client generator reads the document, not the code: each operation must say what it does, answers and needs. */
describe('OpenAPI document', () => {
  let world: World;
  let sut: Service;
  let token: string;
  let doc: Document;
  const operations = () => Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));
  /** A concrete URL for a path template: `me` for the user, a syntactically valid id elsewhere. */
  const concrete = (path: string) => path.replace('{userId}', 'me').replace('{path}', 'mcp').replace(/\{\w+\}/g, 'abc123');

  beforeAll(async () => {
    ({ world, sut, token } = await startSignedIn('openapi@example.com'));
    doc = (await (await fetch(`${sut.url}/openapi.json`)).json()) as Document;
  });
  afterAll(() => stopAll(world, sut));

  it('validates against the OpenAPI 3.1 schema', async () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('gives every operation a summary, a description, a success response with its schema and the error body on every error', () => {
    expect(operations().length).toBeGreaterThanOrEqual(50);
    for (const { path, method, op } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      expect([where, typeof op.summary, (op.description ?? '').length > 10]).toEqual([where, 'string', true]);
      const success = Object.keys(op.responses).filter((s) => /^[23]\d\d$/.test(s));
      expect([where, success.length]).toEqual([where, 1]);
      const [status] = success;
      if (status === '200' || status === '201') expect([where, Object.keys(op.responses[status!]!.content ?? {}).length > 0]).toEqual([where, true]);
      for (const [code, response] of Object.entries(op.responses).filter(([s]) => /^[45]\d\d$/.test(s))) {
        if (where === 'GET /health/ready' && code === '503') continue; // Terminus's own body, documented inline
        const schema = OAUTH_ERRORS[where]?.includes(code) ? OAUTH_ERROR_REF : ERROR_REF;
        expect([where, code, response.content?.['application/json']?.schema]).toEqual([where, code, schema]);
        if (code === '429') expect([where, code, Object.keys(response.headers ?? {})]).toEqual([where, code, ['Retry-After']]);
      }
      expect([where, '500' in op.responses]).toEqual([where, true]);
      if (op.security?.length) expect([where, '401' in op.responses]).toEqual([where, true]);
      const userId = op.parameters?.find((p) => p.name === 'userId');
      if (userId) expect([where, userId.schema?.default]).toEqual([where, 'me']);
    }
    expect(doc.components.schemas.Error).toMatchObject({ required: ['statusCode', 'error', 'message'] });
  });

  it('serves the one document, built on the first request for it, as JSON, as YAML and to Swagger UI', async () => {
    const [json, yaml, init] = await Promise.all(['/openapi.json', '/openapi.yaml', '/docs/swagger-ui-init.js'].map((p) => fetch(`${sut.url}${p}`)));
    expect([json.status, yaml.status, init.status]).toEqual([200, 200, 200]);
    expect(await json.json()).toEqual(doc);
    expect(parseYaml(await yaml.text())).toEqual(doc);
    const ui = await init.text(); // Swagger UI's options, with the document pretty-printed in them
    for (const path of Object.keys(doc.paths)) expect(ui).toContain(JSON.stringify(path));
    // No visitor's browser is asked to send the document's address to swagger.io's online validator.
    expect(ui).toMatch(/"validatorUrl":\s*"none"/);
  });

  it('serves the files Swagger UI loads below /docs and none of the rest of its npm package (manifest, README, source maps, Node files)', async () => {
    // What the page loads: both forms of its URL, and every stylesheet, script and icon they name.
    const assets = new Set<string>();
    for (const page of ['/docs', '/docs/']) {
      const res = await fetch(`${sut.url}${page}`);
      expect([page, res.status]).toEqual([page, 200]);
      for (const [, ref] of (await res.text()).matchAll(/(?:href|src)="([^"]+)"/g)) assets.add(new URL(ref, `${sut.url}${page}`).pathname);
    }
    expect([...assets].sort()).toEqual(
      ['/docs/favicon-16x16.png', '/docs/favicon-32x32.png', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui-init.js', '/docs/swagger-ui-standalone-preset.js', '/docs/swagger-ui.css'],
    );
    for (const path of assets) {
      const [get, head] = await Promise.all([fetch(`${sut.url}${path}`), fetch(`${sut.url}${path}`, { method: 'HEAD' })]);
      expect([path, get.status, head.status, (await get.arrayBuffer()).byteLength > 0]).toEqual([path, 200, 200, true]);
    }
    const unneeded = ['package.json', 'README.md', 'index.js', 'absolute-path.js', 'swagger-ui-bundle.js.map', 'swagger-ui.js', 'swagger-initializer.js', 'oauth2-redirect.html', 'NOTICE', 'log.bundle-sizes.swagger-ui.txt'];
    for (const path of [...unneeded.map((f) => `/docs/${f}`), '/docs/docs/package.json', '/docs/docs/README.md', '/docs/./package.json', '/docs/%70ackage.json']) {
      for (const method of ['GET', 'HEAD']) {
        const res = await fetch(`${sut.url}${path}`, { method });
        const body = method === 'GET' ? ((await res.json()) as { error?: string }) : { error: 'not_found' };
        expect([method, path, res.status, body.error]).toEqual([method, path, 404, 'not_found']);
      }
    }
  });

  it("documents the OAuth endpoints' errors in RFC 6749's shape, their 429 and 503 with Retry-After, and answers in it", async () => {
    expect(doc.components.schemas.OAuthError).toMatchObject({
      properties: { error: expect.any(Object), error_description: expect.any(Object), reason: expect.any(Object) },
      required: expect.arrayContaining(['error', 'error_description']),
    });
    for (const [where, codes] of Object.entries(OAUTH_ERRORS)) {
      const [method, path] = where.split(' ') as [string, string];
      const responses = doc.paths[path]![method.toLowerCase()]!.responses;
      for (const code of codes) {
        expect([where, code, responses[code]?.content?.['application/json']?.schema]).toEqual([where, code, OAUTH_ERROR_REF]);
        if (code === '429' || code === '503') expect([where, code, Object.keys(responses[code]!.headers ?? {})]).toEqual([where, code, ['Retry-After']]);
      }
      expect([where, responses['503']!.description]).toEqual([where, expect.stringMatching(/temporarily_unavailable.*storage_unavailable/)]);
    }
    // What they answer: a request each cannot use, and one it cannot read (JSON where a form is due, and the reverse).
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const json = { 'content-type': 'application/json' };
    const registered = await fetch(`${sut.url}/oauth/register`, { method: 'POST', headers: json, body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:8765/cb'], token_endpoint_auth_method: 'none' }) });
    const client = ((await registered.json()) as { client_id: string }).client_id;
    const answers: Array<[string, string, number, Record<string, string>, string]> = [
      ['POST /oauth/token', '/oauth/token', 400, form, `grant_type=password&client_id=${client}`],
      ['POST /oauth/token', '/oauth/token', 401, form, 'grant_type=refresh_token&refresh_token=x&client_id=nobody'],
      ['POST /oauth/token', '/oauth/token', 415, { 'content-type': 'text/plain' }, 'grant_type=refresh_token'],
      ['POST /oauth/revoke', '/oauth/revoke', 400, form, `client_id=${client}`],
      ['POST /oauth/introspect', '/oauth/introspect', 401, form, 'token=x&client_id=nobody&client_secret=x'],
      ['POST /oauth/register', '/oauth/register', 400, json, '{"redirect_uris":[]}'],
      ['POST /oauth/register', '/oauth/register', 415, form, 'redirect_uris=x'],
    ];
    const required = (doc.components.schemas.OAuthError as { required: string[] }).required;
    for (const [where, path, status, headers, body] of answers) {
      const res = await fetch(`${sut.url}${path}`, { method: 'POST', headers, body });
      const answer = (await res.json()) as Record<string, unknown>;
      expect([where, res.status, required.filter((k) => !(k in answer))]).toEqual([where, status, []]);
      expect([where, status, OAUTH_ERRORS[where]]).toEqual([where, status, expect.arrayContaining([String(status)])]);
    }
  });

  it('documents the status codes the routes really answer with', async () => {
    const status = (method: string, path: string) => Object.keys(doc.paths[path]![method]!.responses).find((s) => /^[23]\d\d$/.test(s));
    expect(status('get', '/auth/google')).toBe('302');
    expect((await fetch(`${sut.url}/auth/google`, { redirect: 'manual' })).status).toBe(302);
    expect(status('post', '/oauth/token')).toBe('200');
    expect(status('post', '/auth/logout')).toBe('204');
    expect(status('delete', '/v1/users/{userId}/calendar/events/{eventId}')).toBe('204');
    expect(status('post', '/v1/users/{userId}/calendar/events')).toBe('201');
    expect(doc.paths['/auth/revoke']!.post!.security).toEqual([{ bearer: [] }]);
  });

  it('marks exactly the routes that refuse a call without a bearer as secured, and documents what each answers without one', async () => {
    for (const { path, method, op } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      const res = await fetch(`${sut.url}${concrete(path)}`, { method: method.toUpperCase(), redirect: 'manual' });
      const body = res.headers.get('content-type')?.includes('json') ? ((await res.json()) as { error?: string }) : (await res.text(), {});
      // /auth/revoke also takes the token in its body, so a call with neither is a 400 token_missing.
      if (op.security?.length) expect([where, res.status]).toEqual([where, where === 'POST /auth/revoke' ? 400 : 401]);
      else expect([where, body.error]).not.toEqual([where, 'missing_token']);
      expect([where, String(res.status) in op.responses]).toEqual([where, true]);
    }
  });

  it('documents what the Workspace reads answer to a signed-in caller', async () => {
    for (const { path, method, op } of operations().filter((o) => o.method === 'get' && o.path.startsWith('/v1/'))) {
      const res = await fetch(`${sut.url}${concrete(path)}`, { headers: { authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      expect([`GET ${path}`, res.status < 500, String(res.status) in op.responses]).toEqual([`GET ${path}`, true, true]);
    }
  });
});
