import { z } from 'zod';
import { driveFields, googleId } from '../ids.js';
import { EXPORT_FORMATS } from './drive-formats.js';


const fileName = z
  .string()
  .min(1)
  .max(255)
  .refine((v) => !/[\x00-\x1f]/.test(v), 'must not contain control characters');

/** Query of `GET .../drive/files/{fileId}`. */
export const fileQuery = z.strictObject({ fields: driveFields.optional() });
export type FileQuery = z.infer<typeof fileQuery>;

/** Query of `GET .../drive/files/{fileId}/content`. */
export const contentQuery = z.strictObject({ format: z.enum(EXPORT_FORMATS, { message: `must be one of ${EXPORT_FORMATS.join(', ')}` }).optional() });
export type ContentQuery = z.infer<typeof contentQuery>;

/** Largest upload through the JSON route: Drive's limit for a multipart upload is 5 MB. */
export const MAX_UPLOAD_BYTES = 5 * 1024 * 1024;
/** The JSON body that carries it (base64 grows it by a third). */
export const UPLOAD_BODY_LIMIT = Math.ceil((MAX_UPLOAD_BYTES * 4) / 3) + 64 * 1024;

/** Body of `POST .../drive/files` (a small file, base64 content, uploaded to Drive as a multipart upload). */
export const uploadBody = z.strictObject({
  name: fileName,
  mimeType: z.string().max(255).regex(/^[\w.+-]+\/[\w.+-]+$/, 'must be a MIME type like text/plain').default('application/octet-stream'),
  parentId: googleId.optional(),
  description: z.string().max(4096).optional(),
  content: z
    .base64({ message: 'must be the file content in base64' })
    .max(Math.ceil((MAX_UPLOAD_BYTES * 4) / 3) + 4, `must be at most ${MAX_UPLOAD_BYTES} bytes once decoded`),
});
export type UploadBody = z.infer<typeof uploadBody>;

/** Body of `POST .../drive/folders`. */
export const folderBody = z.strictObject({ name: fileName, parentId: googleId.optional() });
export type FolderBody = z.infer<typeof folderBody>;
