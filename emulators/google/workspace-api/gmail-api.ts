import type { ServerResponse } from 'node:http';
import type { AccessTokenInfo } from '../google-state.js';
import { apiError, EmulatorRequest, json } from '../http-util.js';
import { parseMail } from './mime-parse.js';
import { StoredMessage, WorkspaceStore } from './store.js';

const G = 'https://www.googleapis.com/auth/';
const MODIFY = [`${G}gmail.modify`, 'https://mail.google.com/'];
const SEND = [`${G}gmail.send`, `${G}gmail.compose`, ...MODIFY];
const COMPOSE = [`${G}gmail.compose`, ...MODIFY];
const SYSTEM_LABELS = ['INBOX', 'SENT', 'DRAFT', 'UNREAD', 'STARRED', 'IMPORTANT', 'TRASH', 'SPAM'];

const b64url = (s: string | Buffer) => Buffer.from(s).toString('base64url');

/** Gmail's message resource in `format=full`: headers, a multipart payload, attachments by id. */
export function fullMessage(m: StoredMessage) {
  const parts: unknown[] = [
    { partId: '0', mimeType: 'text/plain', filename: '', headers: [], body: { size: m.text.length, data: b64url(m.text) } },
    ...(m.html ? [{ partId: '1', mimeType: 'text/html', filename: '', headers: [], body: { size: m.html.length, data: b64url(m.html) } }] : []),
    ...m.attachments.map((a, i) => ({ partId: String(2 + i), mimeType: a.mimeType, filename: a.filename, headers: [], body: { attachmentId: a.attachmentId, size: a.data.length } })),
  ];
  return {
    id: m.id,
    threadId: m.threadId,
    labelIds: m.labelIds,
    snippet: m.text.slice(0, 100),
    internalDate: m.internalDate,
    sizeEstimate: m.text.length + (m.html?.length ?? 0),
    payload: { partId: '', mimeType: 'multipart/mixed', filename: '', headers: m.headers, body: { size: 0 }, parts },
  };
}

/** Gmail routes beyond the message list: get, attachments, threads, labels, modify, send, drafts. */
export function gmailApi(req: EmulatorRequest, res: ServerResponse, user: AccessTokenInfo, store: WorkspaceStore): boolean {
  const m = /^\/gmail\/v1\/users\/([^/]+)\/(.+)$/.exec(req.url.pathname);
  if (!m) return false;
  const [, userId, rest] = m;
  if (userId !== 'me' && decodeURIComponent(userId).toLowerCase() !== user.email) {
    apiError(res, 403, 'PERMISSION_DENIED', `Delegation denied for ${user.email}`, 'forbidden');
    return true;
  }
  const box = store.mailbox(user.email);
  const can = (scopes: string[]) => scopes.some((s) => user.scopes.includes(s));
  const denied = () => apiError(res, 403, 'PERMISSION_DENIED', 'Request had insufficient authentication scopes.', 'insufficientPermissions');
  const notFound = () => apiError(res, 404, 'NOT_FOUND', 'Requested entity was not found.', 'notFound');
  let r: RegExpExecArray | null;
  if (req.method === 'GET' && (r = /^messages\/([\w-]+)$/.exec(rest))) {
    const msg = box.get(r[1]);
    return msg ? (json(res, 200, fullMessage(msg)), true) : (notFound(), true);
  }
  if (req.method === 'GET' && (r = /^messages\/([\w-]+)\/attachments\/([\w-]+)$/.exec(rest))) {
    const att = box.get(r[1])?.attachments.find((a) => a.attachmentId === r?.[2]);
    return att ? (json(res, 200, { attachmentId: att.attachmentId, size: att.data.length, data: b64url(att.data) }), true) : (notFound(), true);
  }
  if (req.method === 'GET' && (r = /^threads\/([\w-]+)$/.exec(rest))) {
    const messages = [...box.values()].filter((x) => x.threadId === r?.[1]);
    return messages.length ? (json(res, 200, { id: r[1], messages: messages.map(fullMessage) }), true) : (notFound(), true);
  }
  if (req.method === 'GET' && rest === 'labels') {
    const custom = new Set([...box.values()].flatMap((x) => x.labelIds).filter((l) => !SYSTEM_LABELS.includes(l)));
    json(res, 200, { labels: [...SYSTEM_LABELS.map((id) => ({ id, name: id, type: 'system' })), ...[...custom].map((id) => ({ id, name: id, type: 'user' }))] });
    return true;
  }
  if (req.method === 'POST' && (r = /^messages\/([\w-]+)\/modify$/.exec(rest))) {
    if (!can(MODIFY)) return denied(), true;
    const msg = box.get(r[1]);
    if (!msg) return notFound(), true;
    const body = (req.json ?? {}) as { addLabelIds?: string[]; removeLabelIds?: string[] };
    msg.labelIds = [...new Set([...msg.labelIds.filter((l) => !(body.removeLabelIds ?? []).includes(l)), ...(body.addLabelIds ?? [])])];
    json(res, 200, { id: msg.id, threadId: msg.threadId, labelIds: msg.labelIds });
    return true;
  }
  if (req.method === 'POST' && rest === 'messages/send') {
    if (!can(SEND)) return denied(), true;
    const body = (req.json ?? {}) as { raw?: string; threadId?: string };
    if (!body.raw) return apiError(res, 400, 'INVALID_ARGUMENT', "'raw' RFC822 payload message string or uploading message via /upload/* URL required", 'invalidArgument'), true;
    const parsed = parseMail(body.raw);
    // Gmail gives every sent message a Message-ID when the client did not.
    if (!parsed.headers.some((h) => h.name.toLowerCase() === 'message-id')) parsed.headers.push({ name: 'Message-ID', value: `<${WorkspaceStore.newId()}@mail.gmail.com>` });
    const id = WorkspaceStore.newId();
    const threadId = body.threadId && [...box.values()].some((x) => x.threadId === body.threadId) ? body.threadId : id;
    box.set(id, { id, threadId, labelIds: ['SENT'], ...parsed, attachments: [], internalDate: String(Date.now()) });
    json(res, 200, { id, threadId, labelIds: ['SENT'] });
    return true;
  }
  if (req.method === 'POST' && rest === 'drafts') {
    if (!can(COMPOSE)) return denied(), true;
    const raw = ((req.json ?? {}) as { message?: { raw?: string } }).message?.raw;
    if (!raw) return apiError(res, 400, 'INVALID_ARGUMENT', 'Missing draft message', 'invalidArgument'), true;
    const id = `r${WorkspaceStore.newId()}`;
    store.draftsOf(user.email).set(id, raw);
    json(res, 200, { id, message: { id: WorkspaceStore.newId(), threadId: WorkspaceStore.newId(), labelIds: ['DRAFT'] } });
    return true;
  }
  return false;
}
