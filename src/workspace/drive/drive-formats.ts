import { BadRequestError } from '../../common/domain-error.js';

const GOOGLE_APPS = 'application/vnd.google-apps.';

/** Formats a caller can ask for, with the MIME type Drive exports to and the file extension it gets. */
const FORMATS = {
  text: { mimeType: 'text/plain', extension: 'txt' },
  markdown: { mimeType: 'text/markdown', extension: 'md' },
  html: { mimeType: 'text/html', extension: 'html' },
  pdf: { mimeType: 'application/pdf', extension: 'pdf' },
  csv: { mimeType: 'text/csv', extension: 'csv' },
} as const;

export type ExportFormat = keyof typeof FORMATS;
export const EXPORT_FORMATS = Object.keys(FORMATS) as [ExportFormat, ...ExportFormat[]];

/** What each Google Workspace file type can be exported to (Drive's export table), the first one being the default. */
const EXPORTABLE: Record<string, ExportFormat[]> = {
  [`${GOOGLE_APPS}document`]: ['text', 'markdown', 'html', 'pdf'],
  [`${GOOGLE_APPS}spreadsheet`]: ['csv', 'pdf'],
  [`${GOOGLE_APPS}presentation`]: ['text', 'pdf'],
  [`${GOOGLE_APPS}drawing`]: ['pdf'],
};

/** How to fetch a file's content: its own bytes, or an export of a Google Workspace file. */
export type ContentPlan = { kind: 'media'; mimeType: string; fileName: string } | { kind: 'export'; mimeType: string; fileName: string };

/**
 * Decides how to download a file of `mimeType`. Binary files come as they are (a `format` would need a conversion
 * Drive does not offer); Google Docs, Sheets, Slides and Drawings are exported to `format` or their default.
 */
export function planContent(file: { name: string; mimeType: string }, format: ExportFormat | undefined): ContentPlan {
  if (!file.mimeType.startsWith(GOOGLE_APPS)) {
    if (format) throw new BadRequestError(`"format" applies to Google Docs, Sheets, Slides and Drawings only; this file is ${file.mimeType}. Omit "format" to download it as it is.`, 'invalid_request');
    return { kind: 'media', mimeType: file.mimeType, fileName: file.name };
  }
  const allowed = EXPORTABLE[file.mimeType];
  if (!allowed) throw new BadRequestError(`A file of type ${file.mimeType} has no content to download (folders, forms and shortcuts have none).`, 'not_downloadable');
  const chosen = format ?? allowed[0];
  if (!allowed.includes(chosen)) throw new BadRequestError(`"format" must be one of ${allowed.join(', ')} for this file.`, 'invalid_request');
  const { mimeType, extension } = FORMATS[chosen];
  return { kind: 'export', mimeType, fileName: `${file.name}.${extension}` };
}

/** A Content-Disposition attachment header value that survives any file name (RFC 6266 with an RFC 5987 name). */
export function attachmentDisposition(fileName: string): string {
  const fallback = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}
