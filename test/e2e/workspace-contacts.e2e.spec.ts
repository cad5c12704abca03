import { apiClient, startSignedIn } from '../support/api-client.js';
import { Service, signIn, startService, stopAll, World } from '../support/harness.js';

const USER = 'contacts-user@example.com';

describe('Workspace: Contacts (People API)', () => {
  let world: World;
  let sut: Service;
  let call: ReturnType<typeof apiClient>;

  beforeAll(async () => {
    ({ world, sut, call } = await startSignedIn(USER));
  });
  afterAll(() => stopAll(world, sut));

  it('searches contacts by name or email prefix', async () => {
    const res = await call('GET', '/v1/users/me/contacts?q=ada');
    expect(res.status).toBe(200);
    expect(res.json.contacts).toEqual([
      {
        id: world.google.contactIds(USER)[0],
        resourceName: `people/${world.google.contactIds(USER)[0]}`,
        name: 'Ada Lovelace',
        emails: [{ value: 'ada@analytical.example', type: 'work' }],
        phones: [{ value: '+44 20 7946 0001', type: 'mobile' }],
        organizations: [{ name: 'Analytical Engines', title: 'Pioneer' }],
      },
    ]);
    const byEmail = await call('GET', '/v1/users/me/contacts?q=grace%40cobol');
    expect((byEmail.json.contacts as Array<{ name: string }>).map((c) => c.name)).toEqual(['Grace Hopper']);
    const none = await call('GET', '/v1/users/me/contacts?q=zzz');
    expect(none.json).toEqual({ contacts: [] });
  });

  it('gets one contact with its details', async () => {
    const id = world.google.contactIds(USER)[2];
    const res = await call('GET', `/v1/users/me/contacts/${id}`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id, name: 'Alan Turing', emails: [{ value: 'alan@bletchley.example' }], notes: `Contact of ${USER}` });
  });

  it('answers 404 for another user\'s contact, and 400 naming the field for bad input', async () => {
    const foreign = await call('GET', `/v1/users/me/contacts/${world.google.contactIds('someone-else@example.com')[0]}`);
    expect(foreign.status).toBe(404);
    expect(foreign.json.error).toBe('not_found');
    for (const [path, field] of [
      ['/v1/users/me/contacts', 'q'],
      ['/v1/users/me/contacts?q=a&pageSize=31', 'pageSize'],
      ['/v1/users/me/contacts/people%2Fc1', 'contactId'],
    ]) {
      const res = await call('GET', path);
      expect(res.status).toBe(400);
      expect(res.json.message).toContain(`"${field}"`);
    }
  });

  it('without a contacts scope, refuses before calling Google and names contacts.readonly', async () => {
    const readOnly = await startService(world);
    try {
      const other = apiClient(readOnly, (await signIn(readOnly, world, 'no-contacts@example.com')).access_token);
      const before = world.google.apiCalls.length;
      const res = await other('GET', '/v1/users/me/contacts?q=ada');
      expect(res.status).toBe(403);
      expect(res.json).toMatchObject({ error: 'insufficient_scope', scope: 'https://www.googleapis.com/auth/contacts.readonly' });
      expect(world.google.apiCalls.length).toBe(before);
    } finally {
      await readOnly.close();
    }
  });
});
