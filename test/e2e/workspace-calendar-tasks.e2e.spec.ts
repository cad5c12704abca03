import { apiClient, startSignedIn } from '../support/api-client.js';
import { Service, signIn, startService, stopAll, World } from '../support/harness.js';

const USER = 'cal-user@example.com';
const CAL = '/v1/users/me/calendar';
const TASKS = '/v1/users/me/tasks';

describe('Workspace: Calendar and Tasks', () => {
  let world: World;
  let sut: Service;
  let call: ReturnType<typeof apiClient>;

  beforeAll(async () => {
    ({ world, sut, call } = await startSignedIn(USER));
  });
  afterAll(() => stopAll(world, sut));

  const callsTo = (fragment: string, method?: string) =>
    world.google.apiCalls.filter((c) => c.email === USER && c.path.includes(fragment) && (!method || c.method === method)).length;

  describe('Calendar', () => {
    it('lists the user\'s calendars', async () => {
      const res = await call('GET', `${CAL}/calendars`);
      expect(res.status).toBe(200);
      expect(res.json.calendars).toEqual([expect.objectContaining({ id: USER, primary: true })]);
    });

    it('lists events in a window', async () => {
      const day = (n: number) => new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + n)).toISOString();
      const res = await call('GET', `${CAL}/events?timeMin=${day(1)}&timeMax=${day(3)}`);
      expect(res.status).toBe(200);
      expect((res.json.events as Array<{ summary: string }>).map((e) => e.summary)).toEqual([`${USER} event 1`, `${USER} event 2`]);
    });

    it('creates, gets, updates and deletes an event; free/busy shows it while it exists', async () => {
      const created = await call('POST', `${CAL}/events`, {
        summary: 'Design review',
        description: 'Bring the diagrams',
        start: '2030-03-04T10:00:00Z',
        end: '2030-03-04T11:00:00+00:00',
        attendees: ['ada@example.com'],
      });
      expect(created.status).toBe(201);
      const id = created.json.id as string;
      expect(created.json).toMatchObject({ summary: 'Design review', attendees: [{ email: 'ada@example.com' }] });

      const got = await call('GET', `${CAL}/events/${id}`);
      expect(got.json).toMatchObject({ id, summary: 'Design review', start: { dateTime: '2030-03-04T10:00:00Z' } });

      const busy = await call('POST', `${CAL}/freebusy`, { timeMin: '2030-03-04T00:00:00Z', timeMax: '2030-03-05T00:00:00Z' });
      expect(busy.status).toBe(200);
      expect(busy.json.calendars).toEqual({ primary: { busy: [{ start: '2030-03-04T10:00:00Z', end: '2030-03-04T11:00:00+00:00' }] } });

      const patched = await call('PATCH', `${CAL}/events/${id}`, { summary: 'Design review (moved)', start: '2030-03-04T14:00:00Z', end: '2030-03-04T15:00:00Z' });
      expect(patched.status).toBe(200);
      expect(patched.json).toMatchObject({ summary: 'Design review (moved)', description: 'Bring the diagrams', start: { dateTime: '2030-03-04T14:00:00Z' } });

      const removed = await call('DELETE', `${CAL}/events/${id}`);
      expect(removed.status).toBe(204);
      expect((await call('GET', `${CAL}/events/${id}`)).status).toBe(404);
      const free = await call('POST', `${CAL}/freebusy`, { timeMin: '2030-03-04T00:00:00Z', timeMax: '2030-03-05T00:00:00Z' });
      expect(free.json.calendars).toEqual({ primary: { busy: [] } });
    });

    it.each([
      ['a date without a zone', { summary: 'x', start: '2030-03-04T10:00:00', end: '2030-03-04T11:00:00Z' }, 'start'],
      ['a date that is not a date', { summary: 'x', start: 'tomorrow', end: '2030-03-04T11:00:00Z' }, 'start'],
      ['an end before the start', { summary: 'x', start: '2030-03-04T12:00:00Z', end: '2030-03-04T11:00:00Z' }, 'end'],
      ['a bad attendee', { summary: 'x', start: '2030-03-04T10:00:00Z', end: '2030-03-04T11:00:00Z', attendees: ['nobody'] }, 'attendees.0'],
    ])('refuses an event with %s: 400 naming the field, nothing created', async (_what, body, field) => {
      const before = callsTo('/events', 'POST');
      const res = await call('POST', `${CAL}/events`, body);
      expect(res.status).toBe(400);
      expect(res.json.message).toContain(`"${field}"`);
      expect(callsTo('/events', 'POST')).toBe(before);
    });

    it('validates windows, calendar ids and patches', async () => {
      for (const [method, path, body, field] of [
        ['GET', `${CAL}/events?timeMin=2030-01-02T00:00:00Z&timeMax=2030-01-01T00:00:00Z`, undefined, 'timeMax'],
        ['GET', `${CAL}/events/abc?calendarId=${encodeURIComponent('a/b')}`, undefined, 'calendarId'],
        ['POST', `${CAL}/freebusy`, { timeMin: '2030-01-01T00:00:00Z' }, 'timeMax'],
        ['PATCH', `${CAL}/events/abc`, {}, 'change at least one field'],
        // An address longer than RFC 5321's 254 characters, as a plain attendee and in Google's attendee shape.
        ['PATCH', `${CAL}/events/abc`, { attendees: [`${'a'.repeat(300)}@example.com`] }, 'attendees.0'],
        ['PATCH', `${CAL}/events/abc`, { attendees: [{ email: `${'a'.repeat(300)}@example.com` }] }, 'attendees.0.email'],
      ] as const) {
        const res = await call(method, path, body);
        expect([path, res.status]).toEqual([path, 400]);
        expect(res.json.message).toContain(field.includes(" ") ? field : `"${field}"`);
      }
    });

    it('does not retry an event creation Google answered 5xx, but retries a delete', async () => {
      const before = callsTo('/events', 'POST');
      world.google.failNext('api', 'server_error');
      const res = await call('POST', `${CAL}/events`, { summary: 'once', start: '2030-05-01T10:00:00Z', end: '2030-05-01T11:00:00Z' });
      expect(res.status).toBe(502);
      expect(callsTo('/events', 'POST') - before).toBe(1);

      const created = await call('POST', `${CAL}/events`, { summary: 'to delete', start: '2030-05-02T10:00:00Z', end: '2030-05-02T11:00:00Z' });
      world.google.failNext('api', 'server_error');
      const deletesBefore = callsTo('/events', 'DELETE');
      expect((await call('DELETE', `${CAL}/events/${created.json.id as string}`)).status).toBe(204);
      expect(callsTo('/events', 'DELETE') - deletesBefore).toBe(2);
    });
  });

  describe('Tasks', () => {
    it('lists task lists and their tasks', async () => {
      const lists = await call('GET', `${TASKS}/lists`);
      expect(lists.status).toBe(200);
      expect(lists.json.taskLists).toEqual([expect.objectContaining({ id: 'default', title: 'My Tasks' })]);
      const tasks = await call('GET', `${TASKS}/lists/@default/tasks`);
      expect((tasks.json.tasks as Array<{ title: string }>).map((t) => t.title)).toEqual([`First task of ${USER}`]);
    });

    it('creates, updates, completes and deletes a task; showCompleted=false hides completed ones', async () => {
      const created = await call('POST', `${TASKS}/lists/@default/tasks`, { title: 'Write report', notes: 'Q3', due: '2030-01-31T00:00:00Z' });
      expect(created.status).toBe(201);
      const id = created.json.id as string;
      expect(created.json).toMatchObject({ title: 'Write report', notes: 'Q3', status: 'needsAction' });

      const updated = await call('PATCH', `${TASKS}/lists/@default/tasks/${id}`, { title: 'Write the report' });
      expect(updated.json).toMatchObject({ id, title: 'Write the report', notes: 'Q3' });

      const done = await call('POST', `${TASKS}/lists/@default/tasks/${id}/complete`);
      expect(done.status).toBe(200);
      expect(done.json).toMatchObject({ id, status: 'completed', completed: expect.any(String) });
      const open = await call('GET', `${TASKS}/lists/@default/tasks?showCompleted=false`);
      expect((open.json.tasks as Array<{ id: string }>).map((t) => t.id)).not.toContain(id);
      const all = await call('GET', `${TASKS}/lists/@default/tasks`);
      expect((all.json.tasks as Array<{ id: string }>).map((t) => t.id)).toContain(id);

      expect((await call('DELETE', `${TASKS}/lists/@default/tasks/${id}`)).status).toBe(204);
      const after = await call('GET', `${TASKS}/lists/@default/tasks`);
      expect((after.json.tasks as Array<{ id: string }>).map((t) => t.id)).not.toContain(id);
    });

    it('pages through a list\'s tasks with nextPageToken, none lost or repeated', async () => {
      for (const title of ['p1', 'p2', 'p3', 'p4']) expect((await call('POST', `${TASKS}/lists/@default/tasks`, { title })).status).toBe(201);
      const everything = ((await call('GET', `${TASKS}/lists/@default/tasks`)).json.tasks as Array<{ id: string }>).map((t) => t.id);
      const seen: string[] = [];
      let token: string | null = null;
      do {
        const page = await call('GET', `${TASKS}/lists/@default/tasks?maxResults=2${token ? `&pageToken=${token}` : ''}`);
        expect(page.status).toBe(200);
        const ids = (page.json.tasks as Array<{ id: string }>).map((t) => t.id);
        expect(ids.length).toBeLessThanOrEqual(2);
        seen.push(...ids);
        token = page.json.nextPageToken as string | null;
      } while (token);
      expect(everything.length).toBeGreaterThanOrEqual(5);
      expect(seen).toEqual(everything);
      const tooMany = await call('GET', `${TASKS}/lists/@default/tasks?maxResults=101`);
      expect(tooMany.status).toBe(400);
      expect(tooMany.json.message).toContain('"maxResults"');
    });

    it('answers 404 for an unknown list or task, 400 naming the field for bad input', async () => {
      const list = await call('GET', `${TASKS}/lists/nosuchlist/tasks`);
      expect([list.status, list.json.error]).toEqual([404, 'not_found']);
      const task = await call('PATCH', `${TASKS}/lists/@default/tasks/nosuchtask`, { title: 'x' });
      expect([task.status, task.json.error]).toEqual([404, 'not_found']);
      for (const [method, path, body, field] of [
        ['POST', `${TASKS}/lists/@default/tasks`, { title: '' }, 'title'],
        ['POST', `${TASKS}/lists/@default/tasks`, { title: 'x', due: '31/01/2030' }, 'due'],
        ['PATCH', `${TASKS}/lists/@default/tasks/abc`, { status: 'done' }, 'status'],
        ['GET', `${TASKS}/lists/a.b/tasks`, undefined, 'listId'],
        ['GET', `${TASKS}/lists/@default/tasks?showCompleted=yes`, undefined, 'showCompleted'],
      ] as const) {
        const res = await call(method, path, body);
        expect([path, res.status]).toEqual([path, 400]);
        expect(res.json.message).toContain(`"${field}"`);
      }
    });

    it('with read-only scopes, task writes and calendar writes are refused before Google, naming the scope', async () => {
      const readOnly = await startService(world, { GOOGLE_SCOPES: 'https://www.googleapis.com/auth/calendar.readonly https://www.googleapis.com/auth/tasks.readonly' });
      try {
        const other = apiClient(readOnly, (await signIn(readOnly, world, 'cal-reader@example.com')).access_token);
        expect((await other('GET', `${TASKS}/lists`)).status).toBe(200);
        const before = world.google.apiCalls.length;
        const task = await other('POST', `${TASKS}/lists/@default/tasks`, { title: 'x' });
        expect([task.status, task.json.scope]).toEqual([403, 'https://www.googleapis.com/auth/tasks']);
        const event = await other('POST', `${CAL}/events`, { summary: 'x', start: '2030-03-04T10:00:00Z', end: '2030-03-04T11:00:00Z' });
        expect([event.status, event.json.scope]).toEqual([403, 'https://www.googleapis.com/auth/calendar']);
        expect(world.google.apiCalls.length).toBe(before);
      } finally {
        await readOnly.close();
      }
    });
  });
});
