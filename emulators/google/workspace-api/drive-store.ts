import { driveFiles } from '../workspace-data.js';
import { WorkspaceStore } from './store.js';

export const GOOGLE_DOC = 'application/vnd.google-apps.document';
export const GOOGLE_SHEET = 'application/vnd.google-apps.spreadsheet';
export const FOLDER = 'application/vnd.google-apps.folder';

export interface Permission {
  id: string;
  type: 'user' | 'anyone' | 'domain';
  role: 'owner' | 'writer' | 'commenter' | 'reader';
  emailAddress?: string;
  domain?: string;
}

export interface Sheet {
  sheetId: number;
  title: string;
  /** Rows of cells as Sheets stores them (strings and numbers); ragged, trailing empties trimmed on read. */
  values: Array<Array<string | number | boolean>>;
}

/** A Drive file; a Google Doc carries `paragraphs`, a Google Sheet `sheets`, anything else its `bytes`. */
export interface DriveFile {
  id: string;
  name: string;
  mimeType: string;
  parents: string[];
  description?: string;
  createdTime: string;
  modifiedTime: string;
  permissions: Permission[];
  bytes?: Buffer;
  paragraphs?: string[];
  revision?: number;
  sheets?: Sheet[];
  /**
   * Drive's private properties (`appProperties`): only the application that set them reads them, searches by them
   * or changes them. The emulator serves one Google OAuth client (the service's), so one map holds them.
   */
  appProperties?: Record<string, string>;
}

/** Each user's Drive, seeded from workspace-data.ts so the list keeps the stateless ids and order. */
export class DriveStore {
  private readonly drives = new Map<string, Map<string, DriveFile>>();

  /** Every user's Drive, for persistence.ts. */
  snapshot(): Map<string, Map<string, DriveFile>> {
    return this.drives;
  }

  /** Takes back a snapshot() read from disk. */
  restore(saved: Map<string, Map<string, DriveFile>> | undefined): void {
    saved?.forEach((files, email) => this.drives.set(email, files));
  }

  /** The user's files by id, in creation order (seeded ones first). */
  files(email: string): Map<string, DriveFile> {
    let files = this.drives.get(email);
    if (!files) {
      files = new Map(driveFiles(email).map((f, i) => [f.id, seededFile(email, f, i)]));
      this.drives.set(email, files);
    }
    return files;
  }

  /** Adds a new file owned by the user. */
  add(email: string, file: Omit<DriveFile, 'id' | 'createdTime' | 'modifiedTime' | 'permissions'>): DriveFile {
    const now = new Date().toISOString();
    const created: DriveFile = { ...file, id: `n${WorkspaceStore.newId()}`, createdTime: now, modifiedTime: now, permissions: [ownerOf(email)] };
    this.files(email).set(created.id, created);
    return created;
  }

  /** Shares the owner's file with another user: the very same file is in their Drive too (a test's control). */
  share(ownerEmail: string, id: string, withEmail: string, role: 'writer' | 'reader'): void {
    const file = this.files(ownerEmail).get(id);
    if (!file) throw new Error(`${ownerEmail} has no Drive file ${id}`);
    file.permissions.push({ id: `p-${withEmail.split('@')[0]}`, type: 'user', role, emailAddress: withEmail });
    this.files(withEmail).set(id, file);
  }
}

/** Text as Docs keeps it: one entry per paragraph, each ending in "\n" (the body always ends with one). */
export function paragraphsOf(text: string): string[] {
  const lines = text.split(/(?<=\n)/).filter((l) => l.length > 0);
  if (!lines.length) return ['\n'];
  const last = lines[lines.length - 1];
  return last.endsWith('\n') ? lines : [...lines.slice(0, -1), `${last}\n`];
}

function ownerOf(email: string): Permission {
  return { id: `p-${email.split('@')[0]}`, type: 'user', role: 'owner', emailAddress: email };
}

function seededFile(email: string, f: { id: string; name: string; mimeType: string }, i: number): DriveFile {
  const at = new Date(Date.UTC(2026, 0, 1 + i)).toISOString();
  const file: DriveFile = { ...f, parents: ['root'], createdTime: at, modifiedTime: at, permissions: [ownerOf(email)] };
  if (f.mimeType === GOOGLE_DOC) {
    file.paragraphs = [`Notes of ${email}\n`, `This is document ${i}, seeded by the emulator.\n`, `Owner: ${email}\n`];
    file.revision = 1;
  } else if (f.mimeType === GOOGLE_SHEET) {
    file.sheets = [{ sheetId: 0, title: 'Sheet1', values: [['Name', 'Owner', 'Score'], ['Ada', email, 90], ['Grace', email, 85], ['Linus', email, 70]] }];
  } else if (f.mimeType === 'application/pdf') {
    file.bytes = Buffer.from(`%PDF-1.4\n% file ${i} of ${email}\n%%EOF\n`);
    // Shared by link, so the share-link route has both cases to show.
    file.permissions.push({ id: 'anyoneWithLink', type: 'anyone', role: 'reader' });
  } else {
    file.bytes = Buffer.from(`Plain text file ${i} of ${email}\n`);
  }
  return file;
}
