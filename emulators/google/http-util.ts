import type { IncomingMessage, ServerResponse } from 'node:http';

/** Parsed request: URL, form or JSON body fields. */
export interface EmulatorRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  form: Record<string, string>;
}

/** Reads the body (form or JSON) into flat string fields. */
export async function readRequest(req: IncomingMessage, base: string): Promise<EmulatorRequest> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  let form: Record<string, string> = {};
  const type = req.headers['content-type'] ?? '';
  if (raw && type.includes('application/json')) {
    try {
      form = Object.fromEntries(Object.entries(JSON.parse(raw) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
    } catch {
      form = {};
    }
  } else if (raw) {
    form = Object.fromEntries(new URLSearchParams(raw));
  }
  return { method: req.method ?? 'GET', url: new URL(req.url ?? '/', base), headers: req.headers, form };
}

/** Sends JSON. */
export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

/** Sends HTML. */
export function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(body);
}

/** Sends a redirect. */
export function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location });
  res.end();
}

/** The bearer token of a request, if any. */
export function bearer(req: EmulatorRequest): string | undefined {
  const h = req.headers.authorization ?? '';
  return h.toLowerCase().startsWith('bearer ') ? h.slice(7).trim() : undefined;
}

/** Google's 401 for APIs and userinfo. */
export function unauthenticated(res: ServerResponse): void {
  json(res, 401, {
    error: {
      code: 401,
      message: 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
      status: 'UNAUTHENTICATED',
    },
  }, { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' });
}

/** Escapes text for HTML. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}
