import { Browser } from '../support/http-client.js';
import { Service, signIn, startService, startWorld, stopAll, World } from '../support/harness.js';
import { apiClient } from '../support/api-client.js';
import { authorizeInBrowser, authorizeUrl } from '../support/oauth-consent.js';
import { challengeParams, claimsOf, OAuthTestClient, REDIRECT, WatchedBrowser, workspaceRoutes } from '../support/oauth-tokens.js';
import { rawMcp } from '../support/mcp-clients.js';

const G = 'https://www.googleapis.com/auth/';
const GMAIL_READ = `${G}gmail.readonly`;
const GMAIL_SEND = `${G}gmail.send`;
const DEFAULT_GRANT = [`${G}gmail.readonly`, `${G}drive.readonly`, `${G}calendar.readonly`];
const mail = { to: ['ada@example.com'], subject: 'hello', text: 'sent with a scoped token' };

describe('OAuth scopes: one vocabulary (Google scope URLs), granted as Google granted them, enforced on every route', () => {
  let world: World;
  let sut: Service;
  let client: OAuthTestClient;

  beforeAll(async () => {
    world = await startWorld();
    // GOOGLE_SCOPES stays at its default (read-only Gmail, Drive, Calendar): more has to be asked for.
    sut = await startService(world, { JWT_ISSUER: undefined });
    client = await OAuthTestClient.register(sut, world);
  });
  afterAll(() => stopAll(world, sut));

  const watched = () => new WatchedBrowser(world.google.urls.auth);

  it('lists the vocabulary in scopes_supported of both metadata documents', async () => {
    const as = (await (await fetch(`${sut.url}/.well-known/oauth-authorization-server`)).json()) as { scopes_supported: string[] };
    const prm = (await (await fetch(`${sut.url}/.well-known/oauth-protected-resource`)).json()) as { scopes_supported: string[] };
    for (const scope of [GMAIL_READ, GMAIL_SEND, 'https://mail.google.com/', `${G}drive.file`, `${G}calendar.events`, `${G}documents`, `${G}spreadsheets.readonly`, `${G}tasks`, `${G}contacts.readonly`]) {
      expect(as.scopes_supported).toContain(scope);
    }
    expect([...prm.scopes_supported].sort()).toEqual([...as.scopes_supported].sort());
    expect(as.scopes_supported.every((s) => s === 'https://mail.google.com/' || s.startsWith(G))).toBe(true);
    expect(as.scopes_supported).not.toContain('openid');
  });

  it('refuses made-up and unknown scopes with invalid_scope, before anything reaches Google', async () => {
    for (const scope of [`${GMAIL_READ} ${G}gmail.everything`, 'admin', `${G}youtube`, 'openid email']) {
      const browser = watched();
      const res = await browser.get(`${sut.url}/oauth/authorize?${new URLSearchParams({ client_id: client.clientId, redirect_uri: 'http://127.0.0.1:8766/callback', response_type: 'code', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256', state: 's', scope })}`, { accept: 'text/html' });
      // A client this browser never approved: the error is shown on our page, not redirected (RFC 9700 4.11.2).
      expect([scope, res.status]).toEqual([scope, 400]);
      expect(await res.text()).toContain('invalid_scope');
      expect(browser.googleRequests).toHaveLength(0);
    }
    // Once the person has approved the client, the same error goes back to the client.
    const browser = watched();
    await client.tokens('approver@example.com', { scope: GMAIL_READ }, browser);
    const { callback } = await client.authorize('approver@example.com', { scope: `${GMAIL_READ} made-up` }, browser);
    expect(callback.searchParams.get('error')).toBe('invalid_scope');
    expect(callback.searchParams.get('error_description')).toContain('made-up');
    expect(callback.searchParams.get('code')).toBeNull();
  });

  it('a gmail.readonly token reads mail and nothing more: sending, Drive and Calendar writes are 403 with a step-up challenge', async () => {
    const tokens = await client.tokens('reader@example.com', { scope: GMAIL_READ }, watched());
    expect(tokens.scope).toBe(GMAIL_READ);
    expect(claimsOf(tokens.access_token).scope).toBe(GMAIL_READ);
    const call = apiClient(sut, tokens.access_token);
    expect((await call('GET', '/v1/users/me/gmail/messages')).status).toBe(200);
    const before = world.google.apiCalls.length;
    for (const [method, path, body, scope] of [
      ['POST', '/v1/users/me/gmail/messages', mail, GMAIL_SEND],
      ['POST', '/v1/users/me/drive/folders', { name: 'x' }, `${G}drive.file`],
      ['GET', '/v1/users/me/drive/files', undefined, `${G}drive.readonly`],
      ['POST', '/v1/users/me/calendar/events', { summary: 'x', start: '2030-03-04T10:00:00Z', end: '2030-03-04T11:00:00Z' }, `${G}calendar`],
    ] as const) {
      const res = await call(method, path, body);
      expect([path, res.status, res.json.error, res.json.scope]).toEqual([path, 403, 'insufficient_scope', scope]);
      const api = path.split('/')[4];
      expect(res.headers.get('www-authenticate')).toBe(`Bearer error="insufficient_scope", scope="${scope}", resource_metadata="${sut.url}/.well-known/oauth-protected-resource/v1/users/me/${api}"`);
      expect(res.json.message).toContain('/oauth/authorize');
    }
    expect(world.google.apiCalls.length).toBe(before); // refused before Google
  });

  it('step-up: authorizing again with gmail.send asks Google for it (incremental) and the new token can send', async () => {
    const browser = watched();
    const first = await client.tokens('stepper@example.com', { scope: GMAIL_READ }, browser);
    const refused = await apiClient(sut, first.access_token)('POST', '/v1/users/me/gmail/messages', mail);
    expect(refused.status).toBe(403);
    const challenged = challengeParams(refused.headers.get('www-authenticate')).scope;
    // As an MCP client does: the scopes it had, plus the challenge's.
    const wider = await client.tokens('stepper@example.com', { scope: `${GMAIL_READ} ${challenged}` }, browser);
    const google = browser.googleRequests.at(-1) as URL;
    expect(google.searchParams.get('scope')?.split(' ')).toEqual(expect.arrayContaining([GMAIL_SEND, GMAIL_READ]));
    expect(google.searchParams.get('include_granted_scopes')).toBe('true');
    expect(wider.scope?.split(' ').sort()).toEqual([GMAIL_READ, GMAIL_SEND].sort());
    const sent = await apiClient(sut, wider.access_token)('POST', '/v1/users/me/gmail/messages', mail);
    expect(sent.status).toBe(201);
    expect(sent.json.id).toEqual(expect.any(String));
    // The first token did not grow: it still cannot send.
    expect((await apiClient(sut, first.access_token)('POST', '/v1/users/me/gmail/messages', mail)).status).toBe(403);
  });

  it('the token gets only what Google granted: a scope the person unticked at Google is not in it', async () => {
    const browser = watched();
    const { tokens } = await client.authorize('granular@example.com', { scope: `${GMAIL_READ} ${GMAIL_SEND}` }, browser, { withhold: [GMAIL_SEND] });
    expect(browser.lastGoogleScopes()).toEqual(expect.arrayContaining([GMAIL_READ, GMAIL_SEND]));
    expect(tokens?.status).toBe(200);
    expect(tokens?.json.scope).toBe(GMAIL_READ);
    expect(claimsOf(tokens?.json.access_token as string).scope).toBe(GMAIL_READ);
    const call = apiClient(sut, tokens?.json.access_token as string);
    expect((await call('GET', '/v1/users/me/gmail/messages')).status).toBe(200);
    expect((await call('POST', '/v1/users/me/gmail/messages', mail)).status).toBe(403);

    // Nothing of what was asked granted: no code at all, the person is told why.
    const none = await authorizeInBrowser(world, authorizeUrl(sut.url, { client_id: client.clientId, redirect_uri: REDIRECT, response_type: 'code', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256', scope: `${G}contacts.readonly` }), 'granular@example.com', { browser, google: { withhold: [`${G}contacts.readonly`] } });
    expect(none.location).toBeUndefined();
    expect(none.stoppedAt?.status).toBe(403);
    expect(await none.stoppedAt?.text()).toContain('access_denied');
  });

  it('without a scope parameter the token gets every vocabulary scope the user has granted Google', async () => {
    const browser = watched();
    const tokens = await client.tokens('default@example.com', {}, browser);
    expect(tokens.scope?.split(' ').sort()).toEqual([...DEFAULT_GRANT].sort());
    // Sign-in scopes (openid, email, profile) are Google's own, not the token's.
    expect(browser.lastGoogleScopes()).toEqual(expect.arrayContaining(['openid', 'email', ...DEFAULT_GRANT]));
    expect(claimsOf(tokens.access_token).scope).toBe(tokens.scope);
    // The stepper above granted gmail.send at Google; a later token without a scope parameter carries it too.
    const later = await client.tokens('stepper@example.com', {}, watched());
    expect(later.scope?.split(' ')).toContain(GMAIL_SEND);
  });

  it('offline_access is accepted and ignored; refreshed tokens keep exactly the granted scopes', async () => {
    const tokens = await client.tokens('offline@example.com', { scope: `offline_access ${G}drive.readonly` }, watched());
    expect(tokens.scope).toBe(`${G}drive.readonly`);
    expect(tokens.refresh_token).toEqual(expect.any(String)); // from the client's grant types, not from offline_access
    const refreshed = await client.token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.scope).toBe(`${G}drive.readonly`);
    const call = apiClient(sut, refreshed.json.access_token as string);
    expect((await call('GET', '/v1/users/me/drive/files')).status).toBe(200);
    expect((await call('GET', '/v1/users/me/gmail/messages')).status).toBe(403);
  });

  it('every Workspace route of /openapi.json refuses a token without its scope: 403 with the step-up challenge, nothing sent to Google', async () => {
    const routes = await workspaceRoutes(sut);
    expect(routes.length).toBeGreaterThanOrEqual(35);
    const tasksOnly = (await client.tokens('walker@example.com', { scope: `${G}tasks.readonly` }, watched())).access_token;
    const gmailOnly = (await client.tokens('walker@example.com', { scope: GMAIL_READ }, watched())).access_token;
    const documents = new Map<string, string[]>();
    const challenged = new Map<string, typeof routes>();
    const before = world.google.apiCalls.length;
    for (const { method, path, template } of routes) {
      // Reading tasks is what the tasks token may do; the Gmail token lacks it.
      const token = method === 'GET' && template.includes('/tasks/') ? gmailOnly : tasksOnly;
      const withBody = method !== 'GET' && method !== 'DELETE';
      const res = await fetch(`${sut.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(withBody ? { 'content-type': 'application/json' } : {}) }, body: withBody ? '{}' : undefined });
      const json = (await res.json()) as Record<string, unknown>;
      expect([method, path, res.status, json.error]).toEqual([method, path, 403, 'insufficient_scope']);
      const params = challengeParams(res.headers.get('www-authenticate'));
      expect(Object.keys(params).sort()).toEqual(['error', 'resource_metadata', 'scope']);
      expect(params.error).toBe('insufficient_scope');
      const api = path.split('/')[4];
      expect([path, params.resource_metadata]).toEqual([path, `${sut.url}/.well-known/oauth-protected-resource/v1/users/me/${api}`]);
      expect(params.scope).toBe(json.scope);
      expect(params.scope).not.toContain(claimsOf(token).scope as string);
      // The scopes named are ones that resource accepts.
      if (!documents.has(api)) documents.set(api, ((await (await fetch(params.resource_metadata)).json()) as { scopes_supported: string[] }).scopes_supported);
      for (const s of params.scope.split(' ')) expect([path, documents.get(api)]).toEqual([path, expect.arrayContaining([s])]);
      challenged.set(params.scope, [...(challenged.get(params.scope) ?? []), { method, path, template }]);
    }
    expect(world.google.apiCalls.length).toBe(before);

    // Step-up: a token for exactly the challenged scopes passes the scope check of every route that named them.
    for (const [scope, refused] of challenged) {
      const stepped = (await client.tokens('walker@example.com', { scope }, watched())).access_token;
      for (const { method, path } of refused) {
        const withBody = method !== 'GET' && method !== 'DELETE';
        const res = await fetch(`${sut.url}${path}`, { method, headers: { authorization: `Bearer ${stepped}`, ...(withBody ? { 'content-type': 'application/json' } : {}) }, body: withBody ? '{}' : undefined });
        const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
        expect([method, path, scope, res.status === 401 || json.error === 'insufficient_scope']).toEqual([method, path, scope, false]);
      }
    }
  });

  it("Google's own insufficient-scope refusal carries the same challenge", async () => {
    const tokens = await client.tokens('google-refusal@example.com', { scope: GMAIL_READ }, watched());
    world.google.failNext('api', 'insufficient_permissions');
    const res = await apiClient(sut, tokens.access_token)('GET', '/v1/users/me/gmail/labels');
    expect([res.status, res.json.error]).toEqual([403, 'insufficient_scope']);
    expect(res.headers.get('www-authenticate')).toBe(`Bearer error="insufficient_scope", scope="${GMAIL_READ}", resource_metadata="${sut.url}/.well-known/oauth-protected-resource/v1/users/me/gmail"`);
    expect(res.json.message).toContain('/oauth/authorize'); // an OAuth client's way to fix it, not GOOGLE_SCOPES
  });

  it('tokens from the browser sign-in carry the scopes the user granted, and are held to them', async () => {
    const signedIn = await signIn(sut, world, 'browser-user@example.com', new Browser());
    expect((claimsOf(signedIn.access_token).scope as string).split(' ').sort()).toEqual([...DEFAULT_GRANT].sort());
    const call = apiClient(sut, signedIn.access_token);
    expect((await call('GET', '/v1/users/me/calendar/events')).status).toBe(200);
    const send = await call('POST', '/v1/users/me/gmail/messages', mail);
    expect([send.status, send.json.scope]).toEqual([403, GMAIL_SEND]);
    expect(send.json.message).toContain('GOOGLE_SCOPES');
    expect(challengeParams(send.headers.get('www-authenticate'))).toMatchObject({ error: 'insufficient_scope', scope: GMAIL_SEND });
  });

  it('a client gets only the scopes it asked for, even when Google granted more', async () => {
    const wide = await startService(world, {
      JWT_ISSUER: undefined,
      GOOGLE_SCOPES: `${G}tasks`,
    });
    try {
      const other = await OAuthTestClient.register(wide, world);
      const tokens = await other.tokens('intro@example.com', { scope: `${G}tasks.readonly` }, watched());
      expect(tokens.scope).toBe(`${G}tasks.readonly`);
      const call = apiClient(wide, tokens.access_token);
      expect((await call('GET', '/v1/users/me/tasks/lists')).status).toBe(200);
      // Google granted `tasks` (GOOGLE_SCOPES) as well, but the client asked for read-only: writing is refused.
      const write = await call('POST', '/v1/users/me/tasks/lists/@default/tasks', { title: 'x' });
      expect([write.status, write.json.scope]).toEqual([403, `${G}tasks`]);
    } finally {
      await wide.close();
    }
  });
  it("a drive.metadata.readonly token searches names and metadata, never content: fullText and content fields are refused before Google, REST and MCP alike", async () => {
    const email = 'metadata-only@example.com';
    const META = `${G}drive.metadata.readonly`;
    const tokens = await client.tokens(email, { scope: META }, watched());
    // The person approved "view metadata"; Google granted drive.readonly too (GOOGLE_SCOPES), which the service calls with.
    expect(tokens.scope).toBe(META);
    const call = apiClient(sut, tokens.access_token);
    const [doc, pdf] = world.google.itemIds('drive', email);
    const ids = (json: Record<string, unknown>) => (json.files as Array<{ id: string }>).map((f) => f.id);
    const files = (q: string, extra: Record<string, string> = {}) => `/v1/users/me/drive/files?${new URLSearchParams({ q, ...extra })}`;
    const before = world.google.apiCalls.length;
    for (const path of [
      files("fullText contains 'seeded by the emulator'"),
      files("name contains 'file' and (fullText contains 'seeded')"),
      files("name contains 'it\\'s' or not fullText contains 'x'"),
      files("name contains 'file'", { fields: 'id,name,thumbnailLink' }),
      files("name contains 'file'", { fields: 'id,contentHints/indexableText' }),
      `/v1/users/me/drive/files/${pdf}?fields=*`,
      `/v1/users/me/drive/files/${pdf}?fields=id,thumbnailLink`,
    ]) {
      const res = await call('GET', path);
      expect([path, res.status, res.json.error, res.json.scope]).toEqual([path, 403, 'insufficient_scope', `${G}drive.readonly`]);
      expect(res.headers.get('www-authenticate')).toBe(`Bearer error="insufficient_scope", scope="${G}drive.readonly", resource_metadata="${sut.url}/.well-known/oauth-protected-resource/v1/users/me/drive"`);
      expect(res.json.message).toContain('/oauth/authorize');
      expect(res.json.message).toMatch(/^(fullText in q searches|fields asks for)/); // what in the request needs it
    }
    const mcpSearch = (id: number, args: Record<string, unknown>) =>
      rawMcp(`${sut.url}/mcp`, tokens.access_token, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'search_drive_files', arguments: args } });
    const refused = await mcpSearch(1, { q: "fullText contains 'seeded'" });
    expect([refused.status, refused.json?.error, refused.json?.scope]).toEqual([403, 'insufficient_scope', `${G}drive.readonly`]);
    expect(refused.headers.get('www-authenticate')).toBe(`Bearer error="insufficient_scope", scope="${G}drive.readonly", resource_metadata="${sut.url}/.well-known/oauth-protected-resource/mcp"`);
    expect(refused.json?.message).toContain('fullText');
    const metadataTool = await rawMcp(`${sut.url}/mcp`, tokens.access_token, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'get_drive_file_metadata', arguments: { fileId: pdf, fields: 'thumbnailLink' } } });
    expect([metadataTool.status, metadataTool.json?.error]).toEqual([403, 'insufficient_scope']);
    expect(world.google.apiCalls.length).toBe(before); // nothing reached Google

    // Names and other metadata are what the token is for, "fullText" inside a string literal included.
    const byName = await call('GET', files("name contains 'file 1' and trashed = false"));
    expect(byName.status).toBe(200);
    expect(ids(byName.json)).toContain(pdf);
    expect((await call('GET', files("name contains 'fullText'"))).status).toBe(200);
    const links = await call('GET', `/v1/users/me/drive/files/${pdf}?fields=id,name,webViewLink,webContentLink,owners(*)`);
    expect([links.status, links.json.webContentLink]).toEqual([200, expect.stringContaining(pdf)]);
    expect((await call('GET', `/v1/users/me/drive/files/${pdf}/link`)).status).toBe(200);
    const listed = await mcpSearch(3, { q: "name contains 'file 0'" });
    expect(listed.status).toBe(200);
    expect(listed.json.result.isError).toBeUndefined();
    expect(ids(listed.json.result.structuredContent)).toContain(doc);

    // A token that may read content searches it, through both faces.
    const reader = await client.tokens(email, { scope: `${G}drive.readonly` }, watched());
    const found = await apiClient(sut, reader.access_token)('GET', files("fullText contains 'seeded by the emulator'", { fields: 'id,name,thumbnailLink' }));
    expect(found.status).toBe(200);
    expect(ids(found.json)).toContain(doc);
    expect(ids(found.json)).not.toContain(pdf);
    const viaMcp = await rawMcp(`${sut.url}/mcp`, reader.access_token, { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'search_drive_files', arguments: { q: "fullText contains 'seeded'" } } });
    expect(viaMcp.status).toBe(200);
    expect(ids(viaMcp.json.result.structuredContent)).toContain(doc);
  });
  it("a calendar.events token sees and changes events, not the user's list of calendars (which Google keeps for calendar.readonly)", async () => {
    const tokens = await client.tokens('events-only@example.com', { scope: `${G}calendar.events.readonly` }, watched());
    expect(tokens.scope).toBe(`${G}calendar.events.readonly`);
    const call = apiClient(sut, tokens.access_token);
    expect((await call('GET', '/v1/users/me/calendar/events')).status).toBe(200);
    const before = world.google.apiCalls.length;
    // Every call goes to Google with the user's grant, calendar.readonly included (GOOGLE_SCOPES).
    const calendars = await call('GET', '/v1/users/me/calendar/calendars');
    expect([calendars.status, calendars.json.error, calendars.json.scope]).toEqual([403, 'insufficient_scope', `${G}calendar.readonly`]);
    const mcp = await rawMcp(`${sut.url}/mcp`, tokens.access_token, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_calendars', arguments: {} } });
    expect([mcp.status, mcp.json?.error, mcp.json?.scope]).toEqual([403, 'insufficient_scope', `${G}calendar.readonly`]);
    expect(world.google.apiCalls.length).toBe(before);
  });
});
