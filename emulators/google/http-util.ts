import type { IncomingMessage, ServerResponse } from 'node:http';

/** A request with its body already read: URL, headers, and the form or JSON body as flat string fields. */
export interface EmulatorRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  form: Record<string, string>;
  /** The parsed JSON body, nested values kept (the Workspace APIs take JSON request bodies). */
  json?: unknown;
  /** The body's bytes (Drive's multipart uploads are parsed from them). */
  raw?: Buffer;
}

// Drive's multipart uploads go up to 5 MB; a runaway client must still not grow the test process.
const MAX_BODY_BYTES = 6_000_000;

/** Reads the body. Google's token and revoke endpoints take forms; JSON is accepted too, as Google does. */
export async function readRequest(req: IncomingMessage, base: string): Promise<EmulatorRequest> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(c as Buffer);
  }
  const bytes = Buffer.concat(chunks);
  const raw = bytes.toString('utf8');
  let form: Record<string, string> = {};
  let parsedJson: unknown;
  if (raw && (req.headers['content-type'] ?? '').includes('application/json')) {
    try {
      const parsed = JSON.parse(raw) as Record<string, unknown>;
      parsedJson = parsed;
      form = Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
    } catch {
      form = {};
    }
  } else if (raw) {
    form = Object.fromEntries(new URLSearchParams(raw));
  }
  return { method: req.method ?? 'GET', url: new URL(req.url ?? '/', base), headers: req.headers, form, json: parsedJson, raw: bytes };
}

/** A field from the body, else from the query string (Google's revoke endpoint takes either). */
export function param(req: EmulatorRequest, name: string): string | undefined {
  return req.form[name] ?? req.url.searchParams.get(name) ?? undefined;
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', pragma: 'no-cache', ...headers });
  res.end(JSON.stringify(body));
}

export function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
}

export function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location, 'cache-control': 'no-store' });
  res.end();
}

/** OAuth endpoints (token, revoke) answer errors in RFC 6749's flat shape. */
export function oauthError(res: ServerResponse, status: number, error: string, description: string): void {
  json(res, status, { error, error_description: description });
}

/** Google APIs answer errors in their own nested shape (google.rpc.Status plus the legacy `errors` list). */
export function apiError(res: ServerResponse, code: number, status: string, message: string, reason: string, headers: Record<string, string> = {}): void {
  json(res, code, { error: { code, message, errors: [{ message, domain: 'global', reason }], status } }, headers);
}

/** The bearer token of a request, if any. */
export function bearer(req: EmulatorRequest): string | undefined {
  const h = req.headers.authorization ?? '';
  return /^bearer /i.test(h) ? h.slice(7).trim() : undefined;
}

const INVALID_TOKEN_HEADER = { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' };

/** What a Workspace API answers for an expired, revoked or unknown access token. */
export function unauthenticated(res: ServerResponse): void {
  apiError(
    res,
    401,
    'UNAUTHENTICATED',
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
    'authError',
    INVALID_TOKEN_HEADER,
  );
}

/** What the userinfo endpoint answers for a bad access token: unlike the APIs, the flat OAuth shape. */
export function userinfoUnauthenticated(res: ServerResponse): void {
  json(res, 401, { error: 'invalid_request', error_description: 'Invalid Credentials' }, INVALID_TOKEN_HEADER);
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

export function unescapeHtml(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39);/g, (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e] as string);
}
