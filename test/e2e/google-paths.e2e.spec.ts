import { request } from 'node:http';
import { ALL_WORKSPACE_SCOPES } from '../support/api-client.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { Service, signIn, startService, startWorld, World } from '../support/harness.js';

const EMAIL = 'paths@example.com';
const ME = '/v1/users/me';

/**
 * Values that end up in the path of a Google API URL can never change that path: `..`, `.`, `/` and `%2F` in an
 * id, a calendarId or a Sheets range are a 400 naming the field, and Google (behind a recording proxy) sees nothing.
 */
describe('Paths to Google', () => {
  let world: World;
  let google: FaultProxy;
  let sut: Service;
  let token: string;

  beforeAll(async () => {
    world = await startWorld();
    google = await FaultProxy.start(world.google.baseUrl);
    sut = await startService(world, { GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES, GOOGLE_API_ROOT_URL: google.rewrite(world.google.urls.apiRoot) });
    token = (await signIn(sut, world, EMAIL)).access_token;
  });
  afterAll(async () => {
    await sut?.close();
    await google?.stop();
    await world?.close();
  });

  /**
   * Sends the path exactly as written. fetch() would resolve `%2E%2E` and `..` itself (WHATWG URL parsing) before
   * the service saw them; an attacker's client does not have to.
   */
  function raw(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(sut.url, {
        method,
        path,
        headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
      });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  const event = { summary: 'x', start: '2026-01-01T10:00:00Z', end: '2026-01-01T11:00:00Z' };

  it.each([
    ['GET', `${ME}/calendar/events?calendarId=..`, 'calendarId'],
    ['GET', `${ME}/calendar/events?calendarId=.`, 'calendarId'],
    ['GET', `${ME}/calendar/events?calendarId=%2E%2E`, 'calendarId'],
    ['GET', `${ME}/calendar/events?calendarId=%2F`, 'calendarId'],
    ['GET', `${ME}/calendar/events?calendarId=..%2F..%2Fdrive%2Fv3%2Ffiles`, 'calendarId'],
    ['GET', `${ME}/calendar/events?calendarId=%252F`, 'calendarId'],
    ['GET', `${ME}/calendar/events/abc?calendarId=..`, 'calendarId'],
    ['DELETE', `${ME}/calendar/events/abc?calendarId=..`, 'calendarId'],
    ['GET', `${ME}/calendar/events/%2E%2E`, 'eventId'],
    ['GET', `${ME}/drive/files/%2E%2E`, 'fileId'],
    ['GET', `${ME}/drive/files/..%2F..%2Fx/content`, 'fileId'],
    ['GET', `${ME}/drive/files/%2e/permissions`, 'fileId'],
    ['GET', `${ME}/gmail/messages/%2E%2E`, 'messageId'],
    ['GET', `${ME}/gmail/messages/abc/attachments/%2E%2E`, 'attachmentId'],
    ['GET', `${ME}/gmail/threads/%2E%2E`, 'threadId'],
    ['GET', `${ME}/docs/documents/%2E%2E/text`, 'documentId'],
    ['GET', `${ME}/sheets/spreadsheets/%2E%2E/values?range=A1`, 'spreadsheetId'],
    ['GET', `${ME}/sheets/spreadsheets/abc/values?range=..`, 'range'],
    ['GET', `${ME}/tasks/lists/%2E%2E/tasks`, 'listId'],
    ['DELETE', `${ME}/tasks/lists/%40default/tasks/%2E%2E`, 'taskId'],
    ['GET', `${ME}/contacts/%2E%2E`, 'contactId'],
    ['GET', `${ME}/contacts/..%2Fc1`, 'contactId'],
  ])('%s %s is a 400 naming %s, and nothing reaches Google', async (method, path, field) => {
    const before = google.requests.length;
    const res = await raw(method, path);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ statusCode: 400, error: 'invalid_request', message: expect.stringContaining(field) });
    expect(google.requests.slice(before)).toEqual([]);
  });

  it.each([
    ['POST', `${ME}/calendar/events?calendarId=..`, 'calendarId', event],
    ['PATCH', `${ME}/calendar/events/abc?calendarId=%2E`, 'calendarId', { summary: 'y' }],
    ['POST', `${ME}/calendar/freebusy`, 'calendars', { timeMin: event.start, timeMax: event.end, calendars: ['..'] }],
    ['PUT', `${ME}/sheets/spreadsheets/abc/values`, 'range', { range: '..', values: [[1]] }],
  ])('%s %s with a dot-segment value in the request is a 400 naming %s', async (method, path, field, body) => {
    const before = google.requests.length;
    const res = await raw(method, path, body);
    expect(res.status).toBe(400);
    expect(String(res.json.message)).toContain(field);
    expect(google.requests.slice(before)).toEqual([]);
  });

  it('keeps legitimate calendar ids working: primary, the user\'s address, and a group calendar with "#" and "@"', async () => {
    for (const id of ['primary', EMAIL]) {
      const res = await raw('GET', `${ME}/calendar/events?calendarId=${encodeURIComponent(id)}`);
      expect({ id, status: res.status }).toEqual({ id, status: 200 });
    }
    const holiday = 'en.usa#holiday@group.v.calendar.google.com';
    const before = google.requests.length;
    await raw('GET', `${ME}/calendar/events?calendarId=${encodeURIComponent(holiday)}`);
    // It passed validation and went to Google as one encoded path segment.
    const sent = google.requests.slice(before).map((r) => r.path);
    expect(sent).toEqual([expect.stringContaining(`/calendars/${encodeURIComponent(holiday)}/events`)]);
  });

  it('keeps legitimate ids and ranges working', async () => {
    const [fileId] = world.google.itemIds('drive', EMAIL);
    expect((await raw('GET', `${ME}/drive/files/${fileId}`)).status).toBe(200);
    const sheet = world.google.spreadsheetId(EMAIL);
    expect((await raw('GET', `${ME}/sheets/spreadsheets/${sheet}/values?range=${encodeURIComponent("'Sheet1'!A1:B2")}`)).status).toBe(200);
    expect((await raw('GET', `${ME}/tasks/lists/%40default/tasks`)).status).toBe(200);
  });
});
