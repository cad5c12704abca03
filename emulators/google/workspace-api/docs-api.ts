import type { ServerResponse } from 'node:http';
import type { AccessTokenInfo } from '../google-state.js';
import { apiError, EmulatorRequest, json } from '../http-util.js';
import { DriveFile, DriveStore, GOOGLE_DOC, paragraphsOf } from './drive-store.js';

const G = 'https://www.googleapis.com/auth/';
const READ = [`${G}documents.readonly`, `${G}documents`, `${G}drive.readonly`, `${G}drive`, `${G}drive.file`];
const WRITE = [`${G}documents`, `${G}drive`, `${G}drive.file`];

/** The Docs resource of a document: a section break, then one paragraph per stored line, with Docs' indexes. */
function documentResource(f: DriveFile) {
  let index = 1;
  const content: unknown[] = [{ endIndex: 1, sectionBreak: { sectionStyle: { sectionType: 'CONTINUOUS' } } }];
  for (const text of f.paragraphs ?? []) {
    const start = index;
    index += text.length;
    content.push({
      startIndex: start,
      endIndex: index,
      paragraph: { elements: [{ startIndex: start, endIndex: index, textRun: { content: text, textStyle: {} } }], paragraphStyle: { namedStyleType: 'NORMAL_TEXT' } },
    });
  }
  return { documentId: f.id, title: f.name, revisionId: `rev${f.revision ?? 1}`, body: { content }, documentStyle: {}, namedStyles: { styles: [] } };
}

type Request = {
  replaceAllText?: { containsText?: { text?: string; matchCase?: boolean }; replaceText?: string };
  insertText?: { location?: { index?: number }; text?: string };
};

/** Docs v1: get, create, and batchUpdate with replaceAllText and insertText. */
export function docsApi(req: EmulatorRequest, res: ServerResponse, user: AccessTokenInfo, drive: DriveStore): boolean {
  const path = req.url.pathname;
  const can = (scopes: string[]) => scopes.some((s) => user.scopes.includes(s));
  const denied = () => apiError(res, 403, 'PERMISSION_DENIED', 'Request had insufficient authentication scopes.', 'insufficientPermissions');
  if (path === '/v1/documents' && req.method === 'POST') {
    if (!can(WRITE)) return denied(), true;
    const title = ((req.json ?? {}) as { title?: string }).title || 'Untitled document';
    const doc = drive.add(user.email, { name: title, mimeType: GOOGLE_DOC, parents: ['root'], paragraphs: ['\n'], revision: 1 });
    return json(res, 200, documentResource(doc)), true;
  }
  const m = /^\/v1\/documents\/([\w-]+)(:batchUpdate)?$/.exec(path);
  if (!m) return false;
  const doc = drive.files(user.email).get(m[1]);
  if (!doc || doc.mimeType !== GOOGLE_DOC) return apiError(res, 404, 'NOT_FOUND', 'Requested entity was not found.', 'notFound'), true;
  if (!m[2] && req.method === 'GET') return can(READ) ? json(res, 200, documentResource(doc)) : denied(), true;
  if (!m[2] || req.method !== 'POST') return false;
  if (!can(WRITE)) return denied(), true;
  const requests = ((req.json ?? {}) as { requests?: Request[] }).requests ?? [];
  let text = (doc.paragraphs ?? []).join('');
  const replies: unknown[] = [];
  for (const r of requests) {
    if (r.replaceAllText?.containsText?.text) {
      const find = r.replaceAllText.containsText.text;
      const pattern = new RegExp(find.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), r.replaceAllText.containsText.matchCase ? 'g' : 'gi');
      const n = (text.match(pattern) ?? []).length;
      text = text.replace(pattern, () => r.replaceAllText?.replaceText ?? '');
      // Docs leaves occurrencesChanged out when nothing matched.
      replies.push({ replaceAllText: n > 0 ? { occurrencesChanged: n } : {} });
    } else if (r.insertText?.text !== undefined && r.insertText.location?.index !== undefined) {
      const at = r.insertText.location.index - 1;
      if (at < 0 || at >= text.length) return apiError(res, 400, 'INVALID_ARGUMENT', 'Index must be inside the body.', 'badRequest'), true;
      text = text.slice(0, at) + r.insertText.text + text.slice(at);
      replies.push({});
    } else {
      return apiError(res, 400, 'INVALID_ARGUMENT', 'Unsupported or malformed request in batchUpdate.', 'badRequest'), true;
    }
  }
  doc.paragraphs = paragraphsOf(text);
  doc.revision = (doc.revision ?? 1) + 1;
  doc.modifiedTime = new Date().toISOString();
  return json(res, 200, { documentId: doc.id, replies, writeControl: { requiredRevisionId: `rev${doc.revision}` } }), true;
}
