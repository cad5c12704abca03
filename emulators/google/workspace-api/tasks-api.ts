import type { ServerResponse } from 'node:http';
import type { AccessTokenInfo } from '../google-state.js';
import { apiError, EmulatorRequest, json } from '../http-util.js';
import { StoredTask, WorkspaceStore } from './store.js';

const WRITE = ['https://www.googleapis.com/auth/tasks'];

/** The Tasks API: task lists, and tasks list/get/insert/patch/delete. */
export function tasksApi(req: EmulatorRequest, res: ServerResponse, user: AccessTokenInfo, store: WorkspaceStore): boolean {
  const path = req.url.pathname;
  const lists = store.tasks(user.email);
  const notFound = () => apiError(res, 404, 'NOT_FOUND', 'Requested entity was not found.', 'notFound');
  if (req.method !== 'GET' && !WRITE.some((s) => user.scopes.includes(s))) {
    apiError(res, 403, 'PERMISSION_DENIED', 'Request had insufficient authentication scopes.', 'insufficientPermissions');
    return true;
  }
  if (path === '/tasks/v1/users/@me/lists' && req.method === 'GET') {
    json(res, 200, { kind: 'tasks#taskLists', items: [...lists.values()].map((l) => ({ kind: 'tasks#taskList', id: l.id, title: l.title })) });
    return true;
  }
  const m = /^\/tasks\/v1\/lists\/([\w@%-]+)\/tasks(?:\/([\w-]+))?$/.exec(path);
  if (!m) return false;
  // Clients send `@default` percent-encoded (googleapis does), as Google accepts.
  const listId = decodeURIComponent(m[1]);
  const list = lists.get(listId === '@default' ? 'default' : listId);
  if (!list) return notFound(), true;
  const body = (req.json ?? {}) as Partial<StoredTask>;
  if (!m[2]) {
    if (req.method === 'GET') {
      const showCompleted = req.url.searchParams.get('showCompleted') !== 'false';
      const all = [...list.tasks.values()].filter((t) => showCompleted || t.status !== 'completed');
      // Tasks pages by 20 unless told otherwise (at most 100): a client that ignores nextPageToken misses tasks.
      const size = Math.min(Number(req.url.searchParams.get('maxResults') ?? 20), 100);
      const token = req.url.searchParams.get('pageToken');
      const start = token ? Number(Buffer.from(token, 'base64url').toString().replace(/^tasks:/, '')) : 0;
      if (!Number.isInteger(size) || size < 1 || !Number.isInteger(start)) return apiError(res, 400, 'INVALID_ARGUMENT', 'Invalid page token or size.', 'invalid'), true;
      const next = start + size < all.length ? Buffer.from(`tasks:${start + size}`).toString('base64url') : undefined;
      return json(res, 200, { kind: 'tasks#tasks', items: all.slice(start, start + size), ...(next ? { nextPageToken: next } : {}) }), true;
    }
    if (req.method === 'POST') {
      if (!body.title) return apiError(res, 400, 'INVALID_ARGUMENT', 'Missing title.', 'invalid'), true;
      const task: StoredTask = { id: WorkspaceStore.newId(), title: body.title, notes: body.notes, due: body.due, status: 'needsAction', updated: new Date().toISOString() };
      list.tasks.set(task.id, task);
      return json(res, 200, { kind: 'tasks#task', ...task }), true;
    }
    return false;
  }
  const task = list.tasks.get(m[2]);
  if (!task) return notFound(), true;
  if (req.method === 'GET') return json(res, 200, { kind: 'tasks#task', ...task }), true;
  if (req.method === 'DELETE') {
    list.tasks.delete(task.id);
    res.writeHead(204).end();
    return true;
  }
  if (req.method === 'PATCH') {
    Object.assign(task, body, { id: task.id, updated: new Date().toISOString() });
    if (body.status === 'completed' && !task.completed) task.completed = new Date().toISOString();
    if (body.status === 'needsAction') delete task.completed;
    return json(res, 200, { kind: 'tasks#task', ...task }), true;
  }
  return false;
}
