import { Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import { AppConfig } from '../../config/app-config.js';
import { unreadableAnswer } from '../google-api.errors.js';
import { GoogleApis } from '../google-apis.js';
import { GoogleCaller } from '../google-caller.js';
import { cutAtDeadline, headersWithin, idleWhileFlowing, readAtMost } from './content-reads.js';
import { ContentPlan, ExportFormat, planContent } from './drive-formats.js';
import { reportCut } from './download-outcome.js';
import type { FolderBody, UploadBody } from './drive.schemas.js';
import { markedProperties, type FileScope } from '../app-files/app-file-marker.js';

const FILE_FIELDS = 'id,name,mimeType,size,parents,createdTime,modifiedTime,webViewLink,iconLink,owners(emailAddress,displayName),shared,trashed';
const FOLDER = 'application/vnd.google-apps.folder';

function headerOf(headers: unknown, name: string): string | undefined {
  if (headers && typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const v = (headers as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : undefined;
}

/** A byte count from a header or Drive's `size`, or undefined when there is none. */
function byteCount(value: string | null | undefined): number | undefined {
  const n = Number(value ?? undefined);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** A file's content on its way to the caller. */
export interface FileContent {
  stream: Readable;
  mimeType: string;
  fileName: string;
  length?: number;
}

/** A file's content read whole (DriveService.read). */
export interface ReadContent {
  bytes: Buffer;
  mimeType: string;
  fileName: string;
}

/** What fetchContent's request is bounded by: nothing of its own (the pool's GOOGLE_HTTP_TIMEOUT_MS), or a download's headers' wait. */
interface ContentDeadline {
  signal?: AbortSignal;
}

type DriveUser = Parameters<GoogleApis['drive']>[0];

function nodeStream(data: unknown): Readable {
  return data instanceof Readable ? data : Readable.fromWeb(data as import('node:stream/web').ReadableStream);
}

/** Google Drive as the signed-in user. */
@Injectable()
export class DriveService {
  private readonly httpTimeoutMs: number;
  /**
   * DRIVE_DOWNLOAD_TIMEOUT_MS (10 min by default). Streamed downloads (the REST route) last as long as the file
   * takes; the per-request timeout of API calls (GOOGLE_HTTP_TIMEOUT_MS) would cut a large file off mid-body, so
   * their body gets this much longer bound instead (cutAtDeadline). The wait for the answer's headers keeps
   * GOOGLE_HTTP_TIMEOUT_MS (headersWithin), and reads held in memory (DriveService.read) never get this bound at all.
   */
  private readonly downloadTimeoutMs: number;
  /** WORKSPACE_CALLS_PER_USER: a request must not need more calls at once than its user may have. */
  private readonly callsPerUser: number;

  constructor(
    private readonly google: GoogleCaller,
    private readonly apis: GoogleApis,
    config: AppConfig,
  ) {
    this.httpTimeoutMs = config.values.google.httpTimeoutMs;
    this.downloadTimeoutMs = Math.max(this.httpTimeoutMs, config.values.google.downloadTimeoutMs);
    this.callsPerUser = config.values.workspace.callsPerUser;
  }

  /** A file's metadata (`fields` in Drive's syntax, or a useful default). */
  async getFile(email: string, fileId: string, fields = FILE_FIELDS) {
    return this.google.call(email, 'Drive', 'driveRead', async (u) => (await this.apis.drive(u).files.get({ fileId, fields, supportsAllDrives: true })).data);
  }

  /**
   * A file's bytes streamed to the caller (the REST route), or a Google Docs/Sheets/Slides file exported to
   * `format`. With `headOnly` (a HEAD request), what the download would be, without fetching the content from Google.
   * Google has GOOGLE_HTTP_TIMEOUT_MS to start answering, GOOGLE_HTTP_TIMEOUT_MS between bytes while the client
   * reads, and DRIVE_DOWNLOAD_TIMEOUT_MS to finish (from the request to Google's last byte). That last bound counts
   * the time Google waits for a slow caller too (backpressure pauses Google, so its last byte comes only as fast as
   * the caller reads): it is what bounds how long a download holds the user's call slot and a connection to Google,
   * and a caller that kept reading a little before each HTTP_SEND_TIMEOUT_MS could otherwise hold both for good. A
   * caller too slow for the file within it is cut there (docs/workspace-api.md, "Downloads stream").
   * `requestId` labels the log line of a download cut before its end (download-outcome.ts).
   */
  async download(email: string, fileId: string, format: ExportFormat | undefined, opts: { headOnly?: boolean; requestId?: string } = {}): Promise<FileContent> {
    const { plan, size } = await this.plan(email, fileId, format);
    // HEAD answers with Drive's `size` as its Content-Length. RFC 9110 §8.6 lets a HEAD carry one only if it equals
    // the number of bytes a GET would send, and it does: a GET sends the file's bytes, `size` of them, whether as
    // Google's own Content-Length or chunked (Google compressed them; they are sent inflated). What a GET "would
    // send" is the file at the time of the HEAD; a file changed afterwards is a new version, which is why GET never
    // takes its length from this metadata (see below). Kept because a size before downloading is what HEAD is asked
    // for (progress, disk space, ranges of work). An export has no size before it is made: no Content-Length.
    if (opts.headOnly) return { stream: Readable.from([]), mimeType: plan.mimeType, fileName: plan.fileName, length: byteCount(size) };
    // When the request whose answer streams was sent (a retried one's last attempt): its deadline runs from there.
    let startedAt = 0;
    // The user's call slot stays taken while Google's bytes stream (the connection to Google is still open); the
    // download's deadline closes the stream, and with it the slot, at the latest.
    const res = await this.google.callStreaming(
      email,
      'Drive',
      'driveContent',
      async (u) => {
        startedAt = performance.now();
        const answer = await headersWithin(this.httpTimeoutMs, (signal) => this.fetchContent(u, fileId, plan, { signal }));
        return { headers: answer.headers, data: nodeStream(answer.data) };
      },
      (answer) => answer.data,
      this.downloadTimeoutMs + this.httpTimeoutMs,
    );
    // Google may send the bytes compressed (googleapis asks for gzip) and the transport inflates them: its
    // Content-Length then counts the compressed bytes, and passing it on would cut the download short. Drive's
    // metadata `size` is no substitute: the file may change between the two requests, and a length the bytes do not
    // match either leaves the caller waiting for bytes that never come or writes bytes past the answer onto the
    // caller's connection, where a proxy's pool would read them as the answer to someone else's request. Without
    // Google's own length, the answer is chunked and ends when Google's does.
    const encoded = (headerOf(res.headers, 'content-encoding') ?? 'identity') !== 'identity';
    cutAtDeadline(res.data, this.downloadTimeoutMs - (performance.now() - startedAt), this.downloadTimeoutMs);
    const label = { requestId: opts.requestId, fileId, startedAt };
    return {
      stream: reportCut(idleWhileFlowing(res.data, this.httpTimeoutMs), label),
      mimeType: plan.mimeType,
      fileName: plan.fileName,
      length: encoded ? undefined : byteCount(headerOf(res.headers, 'content-length')),
    };
  }

  /**
   * A file's content (or export) read whole into memory, at most `limit` bytes; past that `tooLarge()` is thrown and
   * the rest is never fetched. The call has the deadline of every other Google call (GOOGLE_HTTP_TIMEOUT_MS, from the
   * request's start to the body's end): a bounded read has no reason to wait DRIVE_DOWNLOAD_TIMEOUT_MS, and a stalled
   * Google must fail it as fast as any other call. The read is inside the call so a failure mid-body is mapped and
   * retried like any other.
   */
  async read(email: string, fileId: string, format: ExportFormat | undefined, limit: number, tooLarge: () => Error): Promise<ReadContent> {
    const { plan } = await this.plan(email, fileId, format);
    const bytes = await this.google.call(email, 'Drive', 'driveContent', async (u) => readAtMost(nodeStream((await this.fetchContent(u, fileId, plan, {})).data), limit, tooLarge));
    return { bytes, mimeType: plan.mimeType, fileName: plan.fileName };
  }

  /**
   * Uploads a small file (Drive multipart upload), marked as the OAuth client's when `files` says so (in the same
   * request: nothing can leave it unmarked). Not retried: a retry could store it twice.
   */
  async upload(email: string, body: UploadBody, files?: FileScope) {
    const bytes = Buffer.from(body.content, 'base64');
    return this.google.call(
      email,
      'Drive',
      'driveCreate',
      async (u) =>
        (
          await this.apis.drive(u).files.create({
            requestBody: { name: body.name, mimeType: body.mimeType, description: body.description, parents: body.parentId ? [body.parentId] : undefined, ...markedProperties(files) },
            media: { mimeType: body.mimeType, body: Readable.from([bytes]) },
            fields: FILE_FIELDS,
            supportsAllDrives: true,
          }, this.apis.uploadOptions)
        ).data,
      { idempotent: false, action: 'drive.file.upload' },
    );
  }

  /** Creates a folder, marked as upload() marks a file. Not retried. */
  async createFolder(email: string, body: FolderBody, files?: FileScope) {
    return this.google.call(
      email,
      'Drive',
      'driveCreate',
      async (u) =>
        (await this.apis.drive(u).files.create({ requestBody: { name: body.name, mimeType: FOLDER, parents: body.parentId ? [body.parentId] : undefined, ...markedProperties(files) }, fields: FILE_FIELDS, supportsAllDrives: true })).data,
      { idempotent: false, action: 'drive.folder.create' },
    );
  }

  /**
   * The links to a file and who can open them. Read-only on purpose: making a file public is a decision for the
   * user in Drive, not a side effect of asking for its link.
   */
  async shareLink(email: string, fileId: string) {
    const getFile = () => this.getFile(email, fileId, 'id,name,webViewLink,webContentLink');
    const getPermissions = () => this.listPermissions(email, fileId);
    // Both at once, unless the user may have only one call in flight: the second would be refused by the first.
    const [file, permissions] = this.callsPerUser > 1 ? await Promise.all([getFile(), getPermissions()]) : [await getFile(), await getPermissions()];
    const anyone = permissions.permissions.find((p) => p.type === 'anyone');
    const domain = permissions.permissions.find((p) => p.type === 'domain');
    return {
      id: file.id,
      name: file.name,
      webViewLink: file.webViewLink ?? null,
      webContentLink: file.webContentLink ?? null,
      // Who the link works for beyond the people it is shared with.
      linkAccess: anyone ? { audience: 'anyone', role: anyone.role } : domain ? { audience: 'domain', domain: domain.domain, role: domain.role } : { audience: 'restricted' },
    };
  }

  /** Who has access to a file. */
  async listPermissions(email: string, fileId: string) {
    const data = await this.google.call(email, 'Drive', 'driveRead', async (u) =>
      (await this.apis.drive(u).permissions.list({ fileId, fields: 'permissions(id,type,role,emailAddress,domain,displayName)', supportsAllDrives: true })).data,
    );
    return { permissions: data.permissions ?? [] };
  }

  /** How a file's content is fetched (its bytes or an export), from its metadata; `size` for media only. */
  private async plan(email: string, fileId: string, format: ExportFormat | undefined): Promise<{ plan: ContentPlan; size?: string | null }> {
    const meta = await this.google.call(email, 'Drive', 'driveContent', async (u) =>
      (await this.apis.drive(u).files.get({ fileId, fields: 'id,name,mimeType,size', supportsAllDrives: true })).data,
    );
    // Drive always names a file's type; without it the download would be planned for the wrong kind of file.
    if (typeof meta.mimeType !== 'string') throw unreadableAnswer('Drive', true);
    const plan = planContent({ name: typeof meta.name === 'string' ? meta.name : fileId, mimeType: meta.mimeType }, format);
    return { plan, size: plan.kind === 'media' ? meta.size : undefined };
  }

  /**
   * The content's answer, its body as a stream. Without a `signal` of its own the request stays on the clients' pool
   * and has GOOGLE_HTTP_TIMEOUT_MS for all of it (google-transport.ts); with one (a download's), it goes to a pool
   * without that deadline: the signal bounds the wait for the headers, cutAtDeadline the body.
   */
  private async fetchContent(u: DriveUser, fileId: string, plan: ContentPlan, deadline: ContentDeadline) {
    const drive = this.apis.drive(u);
    const options = { responseType: 'stream' as const, ...deadline };
    return plan.kind === 'media'
      ? drive.files.get({ fileId, alt: 'media', supportsAllDrives: true }, options)
      : drive.files.export({ fileId, mimeType: plan.mimeType }, options);
  }
}
