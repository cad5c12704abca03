import { z } from 'zod';
import { DomainError } from '../../common/domain-error.js';
import { contentQuery, fileQuery, folderBody, uploadBody } from '../drive/drive.schemas.js';
import { driveContentNeeds } from '../drive/content-terms.js';
import { googleId } from '../ids.js';
import { driveFilesQuery } from '../workspace.queries.js';
import { CREATE, READ, type WorkspaceOperation } from './operation.js';
import { list, page, resource } from './outputs.js';

/**
 * Largest file content a tool call returns. A model reads text; bigger files (and the REST route's streaming) are
 * for programs, so the tool answers with guidance instead of filling the model's context.
 */
export const MAX_TOOL_CONTENT_BYTES = 1024 * 1024;

const TEXTUAL = /^(text\/|application\/(json|xml|csv|x-yaml|yaml|javascript|x-sh|sql)|image\/svg\+xml)/;

/** The 413 of a file too large for a tool result, with the route that streams it. */
function tooLargeForTool(fileId: string): DomainError {
  return new DomainError(413, 'content_too_large', `The file is larger than ${MAX_TOOL_CONTENT_BYTES} bytes, too large for a tool result. Download it from GET /v1/users/me/drive/files/${fileId}/content, or export a Google Docs file with format=text.`);
}

const fileContent = z.strictObject({
  fileId: z.string(),
  fileName: z.string(),
  mimeType: z.string(),
  size: z.number(),
  encoding: z.enum(['utf-8', 'base64']),
  content: z.string(),
});

/** Drive operations. */
export const DRIVE_OPERATIONS: WorkspaceOperation[] = [
  {
    tool: 'search_drive_files',
    api: 'drive',
    title: 'Search Drive files',
    description: "Lists Drive files matching a Drive query (e.g. \"name contains 'report' and trashed = false\", or \"'<folderId>' in parents\" for a folder's items). fullText terms, and the fields thumbnailLink, contentHints and *, reach the files' content and need drive.readonly (a metadata-only token searches names and other metadata).",
    http: { method: 'GET', path: 'drive/files' },
    query: driveFilesQuery,
    output: page('files'),
    scope: 'driveRead',
    inputNeeds: driveContentNeeds,
    hints: READ,
    tier: 'core',
    run: (s, email, i, files) => s.workspace.listFiles(email, i as never, files),
  },
  {
    tool: 'get_drive_file_metadata',
    api: 'drive',
    title: 'Get Drive file metadata',
    description: "A file's metadata (fields in Drive's syntax, or a useful default set). The fields thumbnailLink, contentHints and * reach content and need drive.readonly (a metadata-only token names other fields).",
    http: { method: 'GET', path: 'drive/files/:fileId' },
    params: { fileId: googleId },
    query: fileQuery,
    output: resource,
    scope: 'driveRead',
    inputNeeds: driveContentNeeds,
    fileInputs: ['fileId'],
    hints: READ,
    tier: 'extended',
    run: (s, email, i) => s.drive.getFile(email, i.fileId, i.fields),
  },
  {
    tool: 'get_drive_file_content',
    api: 'drive',
    title: 'Get Drive file content',
    description: `A file's content (at most ${MAX_TOOL_CONTENT_BYTES} bytes): text as UTF-8, anything else base64. Google Docs, Sheets and Slides files are exported (format: text, markdown, html, pdf, csv).`,
    http: { method: 'GET', path: 'drive/files/:fileId/content' },
    params: { fileId: googleId },
    query: contentQuery,
    output: fileContent,
    scope: 'driveContent',
    fileInputs: ['fileId'],
    hints: READ,
    tier: 'core',
    async run(s, email, i) {
      // A bounded read, not the REST route's stream: it has GOOGLE_HTTP_TIMEOUT_MS like every other tool call.
      const file = await s.drive.read(email, i.fileId, i.format, MAX_TOOL_CONTENT_BYTES, () => tooLargeForTool(i.fileId));
      const bytes = file.bytes;
      const text = TEXTUAL.test(file.mimeType);
      return { fileId: i.fileId, fileName: file.fileName, mimeType: file.mimeType, size: bytes.length, encoding: text ? 'utf-8' : 'base64', content: bytes.toString(text ? 'utf8' : 'base64') };
    },
  },
  {
    tool: 'create_drive_file',
    api: 'drive',
    title: 'Create a Drive file',
    description: 'Uploads a small file (content in base64, at most 5 MB), optionally into a folder (parentId).',
    http: { method: 'POST', path: 'drive/files' },
    body: uploadBody,
    output: resource,
    scope: 'driveCreate',
    fileInputs: ['parentId'],
    hints: CREATE,
    tier: 'core',
    run: (s, email, i, files) => s.drive.upload(email, i as never, files),
  },
  {
    tool: 'create_drive_folder',
    api: 'drive',
    title: 'Create a Drive folder',
    description: 'Creates a folder, optionally inside another (parentId).',
    http: { method: 'POST', path: 'drive/folders' },
    body: folderBody,
    output: resource,
    scope: 'driveCreate',
    fileInputs: ['parentId'],
    hints: CREATE,
    tier: 'core',
    run: (s, email, i, files) => s.drive.createFolder(email, i as never, files),
  },
  {
    tool: 'get_drive_shareable_link',
    api: 'drive',
    title: 'Get the links of a Drive file',
    description: "The file's view and download links and who they open for. Does not change sharing.",
    http: { method: 'GET', path: 'drive/files/:fileId/link' },
    params: { fileId: googleId },
    output: resource,
    scope: 'driveRead',
    fileInputs: ['fileId'],
    hints: READ,
    tier: 'core',
    run: (s, email, i) => s.drive.shareLink(email, i.fileId),
  },
  {
    tool: 'get_drive_file_permissions',
    api: 'drive',
    title: 'Get the permissions of a Drive file',
    description: 'Who has access to the file, and with which role.',
    http: { method: 'GET', path: 'drive/files/:fileId/permissions' },
    params: { fileId: googleId },
    output: list('permissions'),
    scope: 'driveRead',
    fileInputs: ['fileId'],
    hints: READ,
    tier: 'complete',
    run: (s, email, i) => s.drive.listPermissions(email, i.fileId),
  },
];
