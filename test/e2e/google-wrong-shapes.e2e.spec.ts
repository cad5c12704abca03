import type { Client } from '@modelcontextprotocol/client';
import { WORKSPACE_CATALOGUE } from '../../src/workspace/catalogue/catalogue.js';
import type { WorkspaceOperation } from '../../src/workspace/catalogue/operation.js';
import { ALL_WORKSPACE_SCOPES, apiClient } from '../support/api-client.js';
import { useAppBehindGoogleProxy } from '../support/behind-google-proxy.js';
import { signIn } from '../support/harness.js';
import { connectV2 } from '../support/mcp-clients.js';

const USER = 'wrong-shapes@example.com';

/** Replaces every value below the top of a JSON answer that `pick` selects by `to`. */
function replaceBelowTop(pick: (v: unknown) => boolean, to: unknown) {
  const walk = (v: unknown, depth: number): unknown => {
    if (depth > 0 && pick(v)) return to;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, depth + 1)]));
    return v;
  };
  return (json: unknown) => walk(json, 0);
}

const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Google's JSON in a shape its API does not document: what a Google change, a proxy that rewrites bodies, or a bug
 * upstream hands the service. Each reshapes the real answer of the emulator (every id and field name stays real).
 */
const WRONG_SHAPES: Array<[what: string, reshape: (json: unknown) => unknown]> = [
  ['every list a string', replaceBelowTop(Array.isArray, 'x')],
  ['every nested object a string', replaceBelowTop(isObject, 'x')],
  ['every string an object', replaceBelowTop((v) => typeof v === 'string', { odd: true })],
  ['every number a word', replaceBelowTop((v) => typeof v === 'number', 'many')],
  ['every value null', replaceBelowTop(() => true, null)],
  ['an empty object', () => ({})],
];

/** The catalogue's read operation answering `GET /v1/users/me/...` for an OpenAPI path. */
function operationOf(openApiPath: string): WorkspaceOperation | undefined {
  return WORKSPACE_CATALOGUE.find((op) => op.http.method === 'GET' && `/v1/users/{userId}/${op.http.path.replace(/:(\w+)/g, '{$1}')}` === openApiPath);
}

/**
 * Whatever shape Google's JSON comes in, a Workspace read answers either what its schema promises (200, checked
 * against the operation's output schema, which is also the MCP tool's outputSchema) or 502 google_unavailable, which
 * says what to do next. Never a 500 from a TypeError, never a 200 that breaks the documented shape; through MCP,
 * never a result the official client rejects.
 */
describe('Google answering JSON of the wrong shape', () => {
  let token: string;
  let mcp: Client;

  // Declared before the fixture, so it runs before the fixture's afterAll closes the service: the client goes first.
  afterAll(async () => {
    await mcp?.close();
  });
  const app = useAppBehindGoogleProxy({ GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES });
  /** Every Workspace read route with real ids, its operation and the tool arguments of the same call. */
  const reads: Array<{ path: string; op: WorkspaceOperation; args: Record<string, unknown> }> = [];
  const get = (path: string) => fetch(`${app.sut.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    token = (await signIn(app.sut, app.world, USER)).access_token;
    mcp = await connectV2(`${app.sut.url}/mcp`, token);
    const call = apiClient(app.sut, token);
    const base = '/v1/users/me';
    const message = ((await call('GET', `${base}/gmail/messages`)).json.messages as Array<{ id: string; threadId: string }>)[0];
    const attachment = ((await call('GET', `${base}/gmail/messages/${message.id}`)).json.attachments as Array<{ attachmentId: string }>)[0];
    const doc = (await call('POST', `${base}/docs/documents`, { title: 'Shapes', text: 'hello\n' })).json as { documentId: string };
    const sheet = (await call('POST', `${base}/sheets/spreadsheets`, { title: 'Shapes' })).json as { spreadsheetId: string };
    const event = (await call('POST', `${base}/calendar/events`, { summary: 'Shapes', start: '2030-03-04T10:00:00Z', end: '2030-03-04T11:00:00Z' })).json as { id: string };
    const task = (await call('POST', `${base}/tasks/lists/@default/tasks`, { title: 'Shapes' })).json as { id: string };
    const file = ((await call('GET', `${base}/drive/files`)).json.files as Array<{ id: string }>)[0];
    const ids: Record<string, string> = {
      messageId: message.id,
      threadId: message.threadId,
      attachmentId: attachment.attachmentId,
      documentId: doc.documentId,
      spreadsheetId: sheet.spreadsheetId,
      eventId: event.id,
      listId: '@default',
      taskId: task.id,
      fileId: file.id,
      contactId: app.world.google.contactIds(USER)[0],
    };
    const queries: Record<string, Record<string, string>> = {
      'gmail/messages/batch': { ids: message.id },
      'sheets/spreadsheets/:spreadsheetId/values': { range: 'A1:B2' },
      contacts: { q: 'ada' },
    };
    const doc_ = (await (await fetch(`${app.sut.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    for (const [openApiPath, methods] of Object.entries(doc_.paths)) {
      if (!openApiPath.startsWith('/v1/users/') || !('get' in methods)) continue;
      const op = operationOf(openApiPath);
      if (!op) throw new Error(`${openApiPath} is a read route with no catalogue operation`);
      const params = Object.fromEntries(Object.keys(op.params ?? {}).map((name) => [name, ids[name]]));
      const query = queries[op.http.path] ?? {};
      const search = new URLSearchParams(query).toString();
      const path = `${base}/${op.http.path.replace(/:(\w+)/g, (_x, name: string) => encodeURIComponent(ids[name]))}${search ? `?${search}` : ''}`;
      reads.push({ path, op, args: { ...params, ...query } });
    }
    // Each route works with these ids before anything is reshaped: the sweep below reshapes real answers.
    for (const { path } of reads) expect([path, (await get(path)).status]).toEqual([path, 200]);
  });

  it('covers every Workspace read route of the OpenAPI document', () => {
    expect(reads.length).toBeGreaterThanOrEqual(20);
  });

  it.each(WRONG_SHAPES)('%s: each read route answers its documented shape or 502 google_unavailable', async (_what, reshape) => {
    for (const { path, op } of reads) {
      app.proxy.inject({ method: 'GET', fault: 'reshape', reshape, times: Infinity });
      const res = await get(path);
      app.proxy.clear();
      expect([path, res.status === 200 || res.status === 502 ? 'a 200 or a 502' : res.status]).toEqual([path, 'a 200 or a 502']);
      const text = await res.text();
      if (res.status === 502) expect([path, JSON.parse(text)]).toEqual([path, expect.objectContaining({ error: 'google_unavailable', message: expect.stringMatching(/Retry/) })]);
      // The REST content route answers the file's own bytes (the tool wraps them in its output object).
      else if (!res.headers.get('content-type')?.startsWith('application/json')) expect(op.http.path).toBe('drive/files/:fileId/content');
      else expect([path, op.output.safeParse(JSON.parse(text)).error?.issues]).toEqual([path, undefined]);
    }
  });

  it.each(WRONG_SHAPES)('%s: through MCP, each read tool answers a result the official client accepts, or a tool error', async (_what, reshape) => {
    for (const { op, args } of reads) {
      app.proxy.inject({ method: 'GET', fault: 'reshape', reshape, times: Infinity });
      // The v2 client checks structuredContent against the tool's outputSchema and throws when it does not match.
      const result = await mcp.callTool({ name: op.tool, arguments: args }).catch((err: Error) => ({ thrown: err.message }));
      app.proxy.clear();
      if ('thrown' in result) throw new Error(`${op.tool}: the client rejected the result: ${String(result.thrown)}`);
      if (result.isError) {
        const error = JSON.parse((result.content as Array<{ text: string }>)[0].text) as { error: string };
        expect([op.tool, error.error]).toEqual([op.tool, 'google_unavailable']);
      }
    }
  });

  it('a change Google applied but answered in the wrong shape: 502 saying it may have been made, sent once, audited as done', async () => {
    const sends = () => app.proxy.seen('POST', /\/messages\/send$/).filter((r) => r.forwarded).length;
    const before = sends();
    app.proxy.inject({ method: 'POST', path: /\/messages\/send$/, fault: 'reshape', reshape: replaceBelowTop((v) => typeof v === 'string', { odd: true }) });
    const res = await fetch(`${app.sut.url}/v1/users/me/gmail/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: ['ada@example.com'], subject: 'Shapes', text: 'Sent once' }),
    });
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: 'google_unavailable', message: expect.stringMatching(/may have been made: check before you retry/) });
    expect(sends() - before).toBe(1); // Google received it once: a send is never retried
    const audit = app.world.logs.lines.map((l) => l.message as Record<string, unknown>).filter((m) => m?.audit === true && m.action === 'gmail.message.send');
    expect(audit.at(-1)).toMatchObject({ user: USER, outcome: 'success' }); // Google did send it
  });

  it('logs what Google answered wrongly for the operators, and no Google token or client secret', () => {
    const logs = app.world.logs.text;
    expect(logs).toMatch(/Google's \w+ answer/);
    expect(logs).not.toMatch(/ya29\.a0|1\/\/0g|test-client-secret/);
  });

  it('once Google answers in its shape again, the same routes work', async () => {
    for (const { path } of reads) expect([path, (await get(path)).status]).toEqual([path, 200]);
  });
});
