import { apiClient, startSignedIn } from '../support/api-client.js';
import { Service, signIn, startService, stopAll, World } from '../support/harness.js';

const USER = 'mail-user@example.com';
const GMAIL = '/v1/users/me/gmail';

interface Message {
  id: string;
  threadId: string;
  labelIds: string[];
  headers: Record<string, string | null>;
  text: string | null;
  html: string | null;
  attachments: Array<{ attachmentId: string; filename: string; mimeType: string; size: number }>;
}

describe('Workspace: Gmail', () => {
  let world: World;
  let sut: Service;
  let call: ReturnType<typeof apiClient>;
  let ids: string[];

  beforeAll(async () => {
    ({ world, sut, call } = await startSignedIn(USER));
    ids = world.google.messageIds(USER);
  });
  afterAll(() => stopAll(world, sut));

  const callsTo = (fragment: string) => world.google.apiCalls.filter((c) => c.email === USER && c.path.includes(fragment)).length;

  it('gets a message: headers by name, text and HTML bodies decoded, attachments listed', async () => {
    const res = await call('GET', `${GMAIL}/messages/${ids[0]}`);
    expect(res.status).toBe(200);
    const m = res.json as unknown as Message;
    expect(m).toMatchObject({ id: ids[0], labelIds: ['INBOX', 'UNREAD'] });
    expect(m.headers).toMatchObject({ from: 'Sender <sender@example.com>', to: USER, subject: `Message 0 for ${USER}`, messageId: `<${ids[0]}@mail.example.com>` });
    expect(m.text).toBe(`Hello ${USER}, this is message 0.`);
    expect(m.html).toBe(`<p>Hello <b>${USER}</b>, this is message 0.</p>`);
    expect(m.attachments).toEqual([{ attachmentId: `att-${ids[0]}`, filename: 'report.txt', mimeType: 'text/plain', size: `report for ${USER}`.length }]);
  });

  it('gets an attachment\'s bytes', async () => {
    const res = await call('GET', `${GMAIL}/messages/${ids[0]}/attachments/att-${ids[0]}`);
    expect(res.status).toBe(200);
    expect(Buffer.from(res.json.data as string, 'base64url').toString()).toBe(`report for ${USER}`);
    expect(res.json.size).toBe(`report for ${USER}`.length);
  });

  it('gets a batch of messages; ids Google does not know are listed, not fatal', async () => {
    const res = await call('GET', `${GMAIL}/messages/batch?ids=${ids[1]},${ids[2]},unknownid1`);
    expect(res.status).toBe(200);
    expect((res.json.messages as Message[]).map((m) => m.id)).toEqual([ids[1], ids[2]]);
    expect(res.json.notFound).toEqual(['unknownid1']);
  });

  it('gets a thread with its messages decoded, and the mailbox\'s labels', async () => {
    const first = (await call('GET', `${GMAIL}/messages/${ids[3]}`)).json as unknown as Message;
    const thread = await call('GET', `${GMAIL}/threads/${first.threadId}`);
    expect(thread.status).toBe(200);
    expect((thread.json.messages as Message[]).map((m) => [m.id, m.text])).toEqual([[ids[3], `Hello ${USER}, this is message 3.`]]);
    const labels = await call('GET', `${GMAIL}/labels`);
    expect((labels.json.labels as Array<{ id: string }>).map((l) => l.id)).toEqual(expect.arrayContaining(['INBOX', 'SENT', 'UNREAD']));
  });

  it('adds and removes labels; the change shows on the message', async () => {
    const res = await call('POST', `${GMAIL}/messages/${ids[0]}/labels`, { add: ['STARRED'], remove: ['UNREAD'] });
    expect(res.status).toBe(200);
    expect(res.json.labelIds).toEqual(['INBOX', 'STARRED']);
    expect(((await call('GET', `${GMAIL}/messages/${ids[0]}`)).json as unknown as Message).labelIds).toEqual(['INBOX', 'STARRED']);
  });

  it('sends a message built from JSON: recipients, non-ASCII subject, text and HTML alternatives', async () => {
    const res = await call('POST', `${GMAIL}/messages`, {
      to: ['ada@example.com', 'alan@example.com'],
      cc: ['grace@example.com'],
      bcc: ['hidden@example.com'],
      subject: 'Grüße – über Q3 ✓',
      text: 'Plain body, ünïcode.',
      html: '<p>HTML <b>body</b></p>',
    });
    expect(res.status).toBe(201);
    expect(res.json.labelIds).toEqual(['SENT']);
    const sent = (await call('GET', `${GMAIL}/messages/${res.json.id as string}`)).json as unknown as Message;
    expect(sent.headers).toMatchObject({ from: USER, to: 'ada@example.com, alan@example.com', cc: 'grace@example.com', subject: 'Grüße – über Q3 ✓' });
    expect(sent.text).toBe('Plain body, ünïcode.');
    expect(sent.html).toBe('<p>HTML <b>body</b></p>');
  });

  it('sends a long non-ASCII subject folded as RFC 2047 words: Gmail reads it back exactly', async () => {
    const subject = '四半期の数字について、来週の会議の前にご確認ください ✓ '.repeat(12).trim();
    const res = await call('POST', `${GMAIL}/messages`, { to: ['ada@example.com'], subject, text: 't' });
    expect(res.status).toBe(201);
    const sent = (await call('GET', `${GMAIL}/messages/${res.json.id as string}`)).json as unknown as Message;
    expect(sent.headers.subject).toBe(subject);
  });

  it('sends a reply that stays in its thread, with In-Reply-To and References', async () => {
    const original = (await call('GET', `${GMAIL}/messages/${ids[1]}`)).json as unknown as Message;
    const res = await call('POST', `${GMAIL}/messages`, {
      to: ['sender@example.com'],
      subject: `Re: ${original.headers.subject as string}`,
      text: 'Thanks!',
      threadId: original.threadId,
      inReplyTo: original.headers.messageId,
    });
    expect(res.status).toBe(201);
    expect(res.json.threadId).toBe(original.threadId);
    const thread = await call('GET', `${GMAIL}/threads/${original.threadId}`);
    const reply = (thread.json.messages as Message[]).find((m) => m.id === res.json.id);
    expect(reply?.text).toBe('Thanks!');
    expect(reply?.headers).toMatchObject({ inReplyTo: original.headers.messageId, references: original.headers.messageId });
  });

  it('creates a draft holding the message as built', async () => {
    const res = await call('POST', `${GMAIL}/drafts`, { to: ['ada@example.com'], subject: 'Draft subject', html: '<p>Later</p>' });
    expect(res.status).toBe(201);
    const draft = world.google.draft(USER, res.json.id as string);
    expect(draft?.headers).toEqual(expect.arrayContaining([{ name: 'To', value: 'ada@example.com' }, { name: 'Subject', value: 'Draft subject' }]));
    expect(draft?.html).toBe('<p>Later</p>');
  });

  it.each([
    ['no recipient', { to: [], subject: 's', text: 't' }, 'to'],
    ['a bad address', { to: ['not-an-email'], subject: 's', text: 't' }, 'to.0'],
    ['a header injection in the subject', { to: ['a@example.com'], subject: 'hi\r\nBcc: evil@example.com', text: 't' }, 'subject'],
    ['no body', { to: ['a@example.com'], subject: 's' }, 'text'],
    ['an unknown field', { to: ['a@example.com'], subject: 's', text: 't', priority: 'high' }, 'priority'],
    ['a malformed In-Reply-To', { to: ['a@example.com'], subject: 's', text: 't', inReplyTo: 'abc' }, 'inReplyTo'],
  ])('refuses to send with %s: 400 naming the field, nothing sent', async (_what, body, field) => {
    const before = callsTo('/messages/send');
    const res = await call('POST', `${GMAIL}/messages`, body);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: 'invalid_request' });
    expect(res.json.message).toMatch(new RegExp(`"${field.replace('.', '\\.')}"`));
    expect(callsTo('/messages/send')).toBe(before);
  });

  it('validates ids and batch sizes: 400 naming the field', async () => {
    for (const [path, field] of [
      [`${GMAIL}/messages/a$b`, 'messageId'],
      [`${GMAIL}/messages/${ids[0]}/attachments/..%2F..`, 'attachmentId'],
      [`${GMAIL}/messages/batch?ids=${Array.from({ length: 51 }, (_, i) => `m${i}`).join(',')}`, 'ids'],
      [`${GMAIL}/threads/a%20b`, 'threadId'],
    ]) {
      const res = await call('GET', path);
      expect([path, res.status]).toEqual([path, 400]);
      expect(res.json.message).toContain(`"${field}"`);
    }
  });

  it('answers 404 for a message Google does not have', async () => {
    const res = await call('GET', `${GMAIL}/messages/doesnotexist1`);
    expect(res.status).toBe(404);
    expect(res.json.error).toBe('not_found');
  });

  it('puts every change into the audit trail, done or failed, without the message itself', async () => {
    const changes = () =>
      world.logs.lines
        .map((l) => l.message as Record<string, unknown>)
        .filter((m) => m && m.audit === true && m.event === 'workspace_change' && m.user === USER);
    const before = changes().length;
    const sent = await call('POST', `${GMAIL}/messages`, { to: ['ada@example.com'], subject: 'Audited subject', text: 'Audited body' });
    await call('POST', `${GMAIL}/messages/${ids[4]}/labels`, { add: ['STARRED'] });
    await call('POST', `${GMAIL}/messages/nosuchmessage1/labels`, { add: ['STARRED'] });
    await call('GET', `${GMAIL}/messages/${ids[4]}`); // reads are not changes
    expect(changes().slice(before).map((c) => [c.action, c.outcome, c.target ?? null, c.status ?? null])).toEqual([
      ['gmail.message.send', 'success', null, null],
      ['gmail.labels.change', 'success', ids[4], null],
      ['gmail.labels.change', 'failure', 'nosuchmessage1', 404],
    ]);
    expect(sent.status).toBe(201);
    expect(JSON.stringify(changes())).not.toMatch(/Audited (subject|body)|ada@example\.com/);
  });

  it('never retries a send Google answered 5xx (a retry could send it twice)', async () => {
    const before = callsTo('/messages/send');
    world.google.failNext('api', 'server_error');
    const res = await call('POST', `${GMAIL}/messages`, { to: ['a@example.com'], subject: 'once', text: 'once' });
    expect(res.status).toBe(502);
    expect(callsTo('/messages/send') - before).toBe(1);
  });

  it('with read-only Gmail, send, draft and labels are refused before Google, naming the scope', async () => {
    const readOnly = await startService(world);
    try {
      const other = apiClient(readOnly, (await signIn(readOnly, world, 'mail-reader@example.com')).access_token);
      const before = world.google.apiCalls.length;
      const send = await other('POST', `${GMAIL}/messages`, { to: ['a@example.com'], subject: 's', text: 't' });
      expect(send.json).toMatchObject({ error: 'insufficient_scope', scope: 'https://www.googleapis.com/auth/gmail.send' });
      const draft = await other('POST', `${GMAIL}/drafts`, { to: ['a@example.com'], subject: 's', text: 't' });
      expect(draft.json).toMatchObject({ error: 'insufficient_scope', scope: 'https://www.googleapis.com/auth/gmail.compose' });
      const labels = await other('POST', `${GMAIL}/messages/${world.google.messageIds('mail-reader@example.com')[0]}/labels`, { add: ['STARRED'] });
      expect(labels.json).toMatchObject({ error: 'insufficient_scope', scope: 'https://www.googleapis.com/auth/gmail.modify' });
      expect([send.status, draft.status, labels.status]).toEqual([403, 403, 403]);
      expect(world.google.apiCalls.length).toBe(before);
    } finally {
      await readOnly.close();
    }
  });
});
