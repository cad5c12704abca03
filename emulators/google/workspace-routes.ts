import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { GoogleState } from './google-state.js';
import { bearer, EmulatorRequest, json, unauthenticated } from './http-util.js';

const ITEMS_PER_USER = 7;

/** Ids of a user's emulated data, derived from the email so tests can tell users' data apart. */
export function userItemIds(email: string, kind: string): string[] {
  const tag = createHash('sha256').update(`${kind}:${email}`).digest('hex').slice(0, 12);
  return Array.from({ length: ITEMS_PER_USER }, (_, i) => `${kind}${tag}${i}`);
}

function page<T>(items: T[], pageToken: string | null, size: number): { items: T[]; nextPageToken?: string } {
  const offset = pageToken && /^p\d+$/.test(pageToken) ? Number(pageToken.slice(1)) : 0;
  const slice = items.slice(offset, offset + size);
  return { items: slice, nextPageToken: offset + size < items.length ? `p${offset + size}` : undefined };
}

/** The Gmail, Drive and Calendar list routes the service calls, answering with the caller's own data. */
export class WorkspaceRoutes {
  constructor(private readonly state: GoogleState) {}

  /** Routes one API request; false when the path is not an API route. */
  handle(req: EmulatorRequest, res: ServerResponse): boolean {
    const path = req.url.pathname;
    const api = path.startsWith('/gmail/v1/') ? 'gmail' : path.startsWith('/drive/v3/') ? 'drive' : path.startsWith('/calendar/v3/') ? 'calendar' : undefined;
    if (!api) return false;
    const info = this.state.liveAccessToken(bearer(req));
    if (!info) {
      unauthenticated(res);
      return true;
    }
    this.state.apiCalls.push({ email: info.email, api, path });
    const q = req.url.searchParams;
    const size = (name: string, def: number) => Math.max(1, Number(q.get(name) ?? def) || def);
    const gmailList = path.match(/^\/gmail\/v1\/users\/([^/]+)\/messages$/);
    if (gmailList && req.method === 'GET') {
      const ids = userItemIds(info.email, 'm');
      const p = page(ids, q.get('pageToken'), size('maxResults', 100));
      json(res, 200, { messages: p.items.map((id) => ({ id, threadId: `t${id.slice(1)}` })), nextPageToken: p.nextPageToken, resultSizeEstimate: ids.length });
      return true;
    }
    if (path === '/drive/v3/files' && req.method === 'GET') {
      const p = page(userItemIds(info.email, 'f'), q.get('pageToken'), size('pageSize', 100));
      json(res, 200, { kind: 'drive#fileList', incompleteSearch: false, files: p.items.map((id, i) => ({ kind: 'drive#file', id, name: `${info.email} file ${i}`, mimeType: 'text/plain' })), nextPageToken: p.nextPageToken });
      return true;
    }
    const events = path.match(/^\/calendar\/v3\/calendars\/([^/]+)\/events$/);
    if (events && req.method === 'GET') {
      const p = page(userItemIds(info.email, 'e'), q.get('pageToken'), size('maxResults', 250));
      const day = (i: number) => new Date(Date.UTC(2026, 0, 1 + i, 9)).toISOString();
      json(res, 200, {
        kind: 'calendar#events',
        summary: info.email,
        items: p.items.map((id, i) => ({ kind: 'calendar#event', id, summary: `${info.email} event ${i}`, start: { dateTime: day(i) }, end: { dateTime: day(i).replace('T09', 'T10') } })),
        nextPageToken: p.nextPageToken,
      });
      return true;
    }
    json(res, 404, { error: { code: 404, message: 'Not Found', status: 'NOT_FOUND' } });
    return true;
  }
}
