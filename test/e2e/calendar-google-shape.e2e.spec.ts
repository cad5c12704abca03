import { apiClient, startSignedIn } from '../support/api-client.js';
import { stopAll, type Service, type World } from '../support/harness.js';

const USER = 'google-shape@example.com';
const CAL = '/v1/users/me/calendar';

/** A client that copies an event it read (Google's shape) into a create or a patch must be understood. */
describe('Calendar accepts Google’s own event shape', () => {
  let world: World;
  let sut: Service;
  let call: ReturnType<typeof apiClient>;

  beforeAll(async () => ({ world, sut, call } = await startSignedIn(USER)));
  afterAll(() => stopAll(world, sut));

  const inserts = () => world.google.apiCalls.filter((c) => c.email === USER && c.method === 'POST' && c.path.endsWith('/events')).length;

  it('creates a timed event from {dateTime, timeZone} and Google attendee objects, and patches it the same way', async () => {
    const created = await call('POST', `${CAL}/events`, {
      summary: 'Standup',
      start: { dateTime: '2030-05-06T09:00:00', timeZone: 'Europe/Paris' },
      end: { dateTime: '2030-05-06T09:15:00', timeZone: 'Europe/Paris' },
      attendees: [{ email: 'ada@example.com', optional: true }, 'bob@example.com'],
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      start: { dateTime: '2030-05-06T09:00:00', timeZone: 'Europe/Paris' },
      attendees: [{ email: 'ada@example.com', optional: true }, { email: 'bob@example.com' }],
    });
    const id = created.json.id as string;

    // Round trip: what GET answers can be sent back as a patch.
    const got = await call('GET', `${CAL}/events/${id}`);
    const patched = await call('PATCH', `${CAL}/events/${id}`, { start: { ...(got.json.start as object), dateTime: '2030-05-06T10:00:00' }, end: { dateTime: '2030-05-06T08:30:00Z' } });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ summary: 'Standup', start: { dateTime: '2030-05-06T10:00:00', timeZone: 'Europe/Paris' }, end: { dateTime: '2030-05-06T08:30:00Z' } });
  });

  it('creates an all-day event from {date}', async () => {
    const created = await call('POST', `${CAL}/events`, { summary: 'Offsite', start: { date: '2030-06-01' }, end: { date: '2030-06-03' } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ start: { date: '2030-06-01' }, end: { date: '2030-06-03' } });
    expect((await call('GET', `${CAL}/events/${created.json.id as string}`)).json).toMatchObject({ start: { date: '2030-06-01' } });
  });

  it.each([
    ['a local dateTime without timeZone', { start: { dateTime: '2030-05-06T09:00:00' }, end: '2030-05-06T10:00:00Z' }, '"start.timeZone" is required'],
    ['an unknown time zone', { start: { dateTime: '2030-05-06T09:00:00', timeZone: 'Mars/Olympus' }, end: '2030-05-06T10:00:00Z' }, '"start.timeZone" must be an IANA time zone'],
    ['both date and dateTime', { start: { date: '2030-05-06', dateTime: '2030-05-06T09:00:00Z' }, end: '2030-05-06T10:00:00Z' }, '"start" must have either dateTime'],
    ['an all-day start with a timed end', { start: { date: '2030-05-06' }, end: '2030-05-06T10:00:00Z' }, '"end" must be a date like start'],
    ['an all-day end not after the start', { start: { date: '2030-05-06' }, end: { date: '2030-05-06' } }, 'all-day end date is exclusive'],
    ['an unknown field in start', { start: { dateTime: '2030-05-06T09:00:00Z', zone: 'UTC' }, end: '2030-05-06T10:00:00Z' }, 'unknown field "start.zone"'],
    ['a number as start', { start: 20300506, end: '2030-05-06T10:00:00Z' }, '"start" must be a string or a JSON object'],
  ])('refuses %s: 400 naming the field, nothing sent to Google', async (_what, times, expected) => {
    const before = inserts();
    const res = await call('POST', `${CAL}/events`, { summary: 'x', ...times });
    expect(res.status).toBe(400);
    expect(res.json.message).toContain(expected);
    expect(inserts()).toBe(before);
  });
});
