import type { ServerResponse } from 'node:http';
import type { AccessTokenInfo } from '../google-state.js';
import { apiError, EmulatorRequest, json } from '../http-util.js';
import { offsetOf, pageTokenFor } from '../workspace-data.js';
import { DriveFile, DriveStore, FOLDER, GOOGLE_DOC, GOOGLE_SHEET, paragraphsOf } from './drive-store.js';
import { driveQuery } from './drive-query.js';
import { applyAppProperties } from './drive-properties.js';

const G = 'https://www.googleapis.com/auth/';
const CONTENT = [`${G}drive`, `${G}drive.readonly`, `${G}drive.file`];
const WRITE = [`${G}drive`, `${G}drive.file`];

/** Drive's resource for a file, all fields; `fields` then picks what is answered. */
function resource(f: DriveFile, owner: string) {
  const binary = f.bytes !== undefined;
  return {
    kind: 'drive#file',
    id: f.id,
    name: f.name,
    mimeType: f.mimeType,
    parents: f.parents,
    ...(f.description ? { description: f.description } : {}),
    // Drive leaves a map with no entries out of the resource.
    ...(f.appProperties ? { appProperties: f.appProperties } : {}),
    createdTime: f.createdTime,
    modifiedTime: f.modifiedTime,
    ...(binary ? { size: String(f.bytes?.length ?? 0), webContentLink: `https://drive.google.com/uc?id=${f.id}&export=download` } : {}),
    webViewLink: webViewLink(f),
    owners: [{ kind: 'drive#user', emailAddress: owner, displayName: owner.split('@')[0], me: true }],
    shared: f.permissions.length > 1,
    trashed: false,
  };
}

function webViewLink(f: DriveFile): string {
  if (f.mimeType === GOOGLE_DOC) return `https://docs.google.com/document/d/${f.id}/edit?usp=drivesdk`;
  if (f.mimeType === GOOGLE_SHEET) return `https://docs.google.com/spreadsheets/d/${f.id}/edit?usp=drivesdk`;
  if (f.mimeType === FOLDER) return `https://drive.google.com/drive/folders/${f.id}`;
  return `https://drive.google.com/file/d/${f.id}/view?usp=drivesdk`;
}

/** Drive's partial response: top-level names of `fields` (`owners(emailAddress)` keeps `owners`); `*` keeps all. */
function pick(obj: Record<string, unknown>, fields: string | null, defaults: string[]): Record<string, unknown> {
  const names = fields === null ? defaults : topLevel(fields);
  if (names.includes('*')) return obj;
  return Object.fromEntries(Object.entries(obj).filter(([k]) => names.includes(k)));
}

function topLevel(fields: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of fields) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      out.push(current.trim());
      current = '';
    } else if (depth === 0 && c !== ')') current += c;
  }
  out.push(current.trim());
  return out.map((n) => n.split('/')[0]).filter(Boolean);
}

/** The fields asked for each file of a list: `files(id,name)` inside the list's `fields`. */
function listFileFields(fields: string | null): string | null {
  if (fields === null) return null;
  const m = /files\(([^]*)\)/.exec(fields);
  return m ? m[1] : fields.includes('files') ? '*' : null;
}

/** Exported content of a Google Docs or Sheets file, derived from its text so tests can check it. */
function exported(f: DriveFile, mimeType: string): Buffer | undefined {
  if (f.mimeType === GOOGLE_DOC) {
    const paragraphs = (f.paragraphs ?? []).map((p) => p.replace(/\n$/, ''));
    if (mimeType === 'text/plain') return Buffer.from(paragraphs.join('\r\n'));
    if (mimeType === 'text/markdown') return Buffer.from(paragraphs.map((p, i) => (i === 0 ? `# ${p}` : p)).join('\n\n') + '\n');
    if (mimeType === 'text/html') return Buffer.from(`<html><body>${paragraphs.map((p) => `<p>${p}</p>`).join('')}</body></html>`);
    if (mimeType === 'application/pdf') return Buffer.from(`%PDF-1.4\n% ${paragraphs.join(' ')}\n%%EOF\n`);
  }
  if (f.mimeType === GOOGLE_SHEET) {
    const rows = f.sheets?.[0]?.values ?? [];
    const csv = rows.map((r) => r.map((c) => (/[",\n]/.test(String(c)) ? `"${String(c).replace(/"/g, '""')}"` : String(c))).join(',')).join('\r\n');
    if (mimeType === 'text/csv') return Buffer.from(csv);
    if (mimeType === 'application/pdf') return Buffer.from(`%PDF-1.4\n% ${csv.replace(/\r\n/g, ' ')}\n%%EOF\n`);
  }
  return undefined;
}

/** The parts of a multipart/related body (Drive's multipart upload: JSON metadata, then the media). */
function multipartParts(raw: Buffer, contentType: string): Array<{ type: string; body: Buffer }> | undefined {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) return undefined;
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Array<{ type: string; body: Buffer }> = [];
  let at = raw.indexOf(delimiter);
  while (at !== -1) {
    const start = at + delimiter.length;
    if (raw.subarray(start, start + 2).toString() === '--') break;
    const next = raw.indexOf(delimiter, start);
    if (next === -1) return undefined;
    const part = raw.subarray(start, next);
    const split = part.indexOf('\r\n\r\n');
    if (split === -1) return undefined;
    const headers = part.subarray(0, split).toString('utf8');
    let body = part.subarray(split + 4);
    if (body.subarray(-2).toString() === '\r\n') body = body.subarray(0, -2);
    parts.push({ type: /content-type:\s*([^\r\n;]+)/i.exec(headers)?.[1]?.trim() ?? 'application/octet-stream', body });
    at = next;
  }
  return parts;
}

/** A JSON object from bytes, or undefined (a malformed metadata part is the client's error, not the emulator's). */
function parseJson(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8') || '{}');
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What a new file holds. Drive converts uploads whose metadata names a Google type: text becomes a Doc's
 * paragraphs, CSV lines a Sheet's rows (unquoted cells only); a folder holds nothing, anything else its bytes.
 */
function content(mimeType: string, bytes: Buffer | undefined): Partial<DriveFile> {
  const text = bytes?.toString('utf8') ?? '';
  if (mimeType === FOLDER) return {};
  if (mimeType === GOOGLE_DOC) return { paragraphs: paragraphsOf(text), revision: 1 };
  if (mimeType === GOOGLE_SHEET) return { sheets: [{ sheetId: 0, title: 'Sheet1', values: text ? text.split(/\r?\n/).filter(Boolean).map((l) => l.split(',')) : [] }] };
  return { bytes: bytes ?? Buffer.alloc(0) };
}

/** Fields files.update takes that the emulator applies; Drive has more, which the service never changes. */
const UPDATABLE = ['name', 'description', 'appProperties'];

/** files.update (PATCH) of metadata: name, description, and appProperties merged key by key (null removes one). */
function update(req: EmulatorRequest, res: ServerResponse, user: AccessTokenInfo, file: DriveFile): void {
  const body = (req.json ?? {}) as Record<string, unknown>;
  const other = Object.keys(body).find((k) => !UPDATABLE.includes(k));
  if (other) return apiError(res, 400, 'INVALID_ARGUMENT', `The emulator does not update the field ${other}.`, 'invalid');
  const props = applyAppProperties(file.appProperties, body.appProperties, true);
  if (!props.ok) return apiError(res, 400, 'INVALID_ARGUMENT', props.message, 'invalid');
  if (body.name !== undefined && (typeof body.name !== 'string' || !body.name)) return apiError(res, 400, 'INVALID_ARGUMENT', 'Invalid value for name.', 'invalid');
  if (typeof body.name === 'string') file.name = body.name;
  if (typeof body.description === 'string') file.description = body.description;
  file.appProperties = props.properties;
  file.modifiedTime = new Date().toISOString();
  json(res, 200, pick(resource(file, user.email), req.url.searchParams.get('fields'), ['kind', 'id', 'name', 'mimeType']));
}

/** Drive v3: list (with a subset of `q`), get, update, download, export, create, multipart upload, permissions. */
export function driveApi(req: EmulatorRequest, res: ServerResponse, user: AccessTokenInfo, drive: DriveStore): boolean {
  const path = req.url.pathname;
  const q = req.url.searchParams;
  const can = (scopes: string[]) => scopes.some((s) => user.scopes.includes(s));
  const denied = () => apiError(res, 403, 'PERMISSION_DENIED', 'Request had insufficient authentication scopes.', 'insufficientPermissions');
  const files = drive.files(user.email);
  const notFound = (id: string) => apiError(res, 404, 'NOT_FOUND', `File not found: ${id}.`, 'notFound');

  if (path === '/drive/v3/files' && req.method === 'GET') return list(req, res, user, files), true;
  if ((path === '/drive/v3/files' || path === '/upload/drive/v3/files') && req.method === 'POST') {
    if (!can(WRITE)) return denied(), true;
    let meta = (req.json ?? {}) as { name?: string; mimeType?: string; parents?: string[]; description?: string; appProperties?: unknown };
    let bytes: Buffer | undefined;
    if (path.startsWith('/upload/')) {
      const uploadType = q.get('uploadType');
      if (uploadType === 'media') {
        // Media only: the body is the file, named as Drive names it.
        bytes = req.raw ?? Buffer.alloc(0);
        meta = { name: 'Untitled', mimeType: String(req.headers['content-type'] ?? 'application/octet-stream').split(';')[0] };
      } else if (uploadType === 'multipart') {
        const parts = multipartParts(req.raw ?? Buffer.alloc(0), String(req.headers['content-type'] ?? ''));
        const parsed = parts?.length === 2 ? parseJson(parts[0].body) : undefined;
        if (!parts || !parsed) return apiError(res, 400, 'INVALID_ARGUMENT', 'Malformed multipart body.', 'badContent'), true;
        meta = parsed as typeof meta;
        bytes = parts[1].body;
        meta.mimeType ??= parts[1].type;
      } else {
        return apiError(res, 400, 'INVALID_ARGUMENT', `Invalid value '${uploadType ?? ''}' for uploadType (media and multipart are emulated).`, 'invalid'), true;
      }
    }
    const parents = meta.parents ?? ['root'];
    if (parents.some((p) => p !== 'root' && files.get(p)?.mimeType !== FOLDER)) return notFound(parents.join(',')), true;
    const mimeType = meta.mimeType ?? 'application/octet-stream';
    const props = applyAppProperties(undefined, meta.appProperties, false);
    if (!props.ok) return apiError(res, 400, 'INVALID_ARGUMENT', props.message, 'invalid'), true;
    const created = drive.add(user.email, { name: meta.name ?? 'Untitled', mimeType, parents, description: meta.description, ...content(mimeType, bytes), ...(props.properties ? { appProperties: props.properties } : {}) });
    return json(res, 200, pick(resource(created, user.email), q.get('fields'), ['kind', 'id', 'name', 'mimeType'])), true;
  }
  const m = /^\/drive\/v3\/files\/([\w-]+)(\/export|\/permissions)?$/.exec(path);
  if (!m || (req.method !== 'GET' && !(req.method === 'PATCH' && !m[2]))) return false;
  const file = files.get(m[1]);
  if (!file) return notFound(m[1]), true;
  if (req.method === 'PATCH') return (can(WRITE) ? update(req, res, user, file) : denied()), true;
  if (m[2] === '/permissions') {
    return json(res, 200, { kind: 'drive#permissionList', permissions: file.permissions.map((p) => ({ kind: 'drive#permission', ...p })) }), true;
  }
  if (m[2] === '/export') {
    if (!can(CONTENT)) return denied(), true;
    const mimeType = q.get('mimeType') ?? '';
    const body = exported(file, mimeType);
    if (!body) {
      const why = file.mimeType.startsWith('application/vnd.google-apps.') ? 'The requested conversion is not supported.' : 'Export only supports Docs Editors files.';
      return apiError(res, 400, 'INVALID_ARGUMENT', why, file.mimeType.startsWith('application/vnd.google-apps.') ? 'badRequest' : 'fileNotExportable'), true;
    }
    res.writeHead(200, { 'content-type': mimeType, 'content-length': String(body.length) }).end(body);
    return true;
  }
  if (q.get('alt') === 'media') {
    if (!can(CONTENT)) return denied(), true;
    if (!file.bytes) {
      return apiError(res, 403, 'PERMISSION_DENIED', 'Only files with binary content can be downloaded. Use Export with Docs Editors files.', 'fileNotDownloadable'), true;
    }
    res.writeHead(200, { 'content-type': file.mimeType, 'content-length': String(file.bytes.length) }).end(file.bytes);
    return true;
  }
  return json(res, 200, pick(resource(file, user.email), q.get('fields'), ['kind', 'id', 'name', 'mimeType'])), true;
}

/** Drive's page tokens start with "~!!~" (`~!!~AI9FV7Tc4k5B...`); the emulator's do too, and it takes no others. */
const PAGE_TOKEN_PREFIX = '~!!~';

function list(req: EmulatorRequest, res: ServerResponse, user: AccessTokenInfo, files: Map<string, DriveFile>): void {
  const q = req.url.searchParams;
  const filter = driveQuery(q.get('q') ?? '');
  if (!filter) return apiError(res, 400, 'INVALID_ARGUMENT', 'Invalid Value', 'invalid');
  const size = q.get('pageSize') === null ? 100 : Number(q.get('pageSize'));
  if (!Number.isInteger(size) || size < 1) return apiError(res, 400, 'INVALID_ARGUMENT', `Invalid value '${q.get('pageSize')}' for pageSize.`, 'invalid');
  const token = q.get('pageToken');
  const offset = token ? (token.startsWith(PAGE_TOKEN_PREFIX) ? offsetOf(user.email, 'f', token.slice(PAGE_TOKEN_PREFIX.length)) : undefined) : 0;
  if (offset === undefined) return apiError(res, 400, 'INVALID_ARGUMENT', 'Invalid page token.', 'invalid');
  const matching = [...files.values()].filter(filter);
  const end = offset + Math.min(size, 1000);
  const fields = listFileFields(q.get('fields'));
  const page = matching.slice(offset, end).map((f) => pick(resource(f, user.email), fields, ['kind', 'id', 'name', 'mimeType']));
  json(res, 200, { kind: 'drive#fileList', incompleteSearch: false, files: page, ...(end < matching.length ? { nextPageToken: PAGE_TOKEN_PREFIX + pageTokenFor(user.email, 'f', end) } : {}) });
}
