import type { ZodObject, ZodType } from 'zod';
import type { CalendarService } from '../calendar/calendar.service.js';
import type { ContactsService } from '../contacts/contacts.service.js';
import type { DocsService } from '../docs/docs.service.js';
import type { DriveService } from '../drive/drive.service.js';
import type { GmailService } from '../gmail/gmail.service.js';
import type { ScopeNeed } from '../../common/google-scopes.js';
import type { InputNeeds } from '../input-scope.js';
import type { FileScope } from '../app-files/app-file-marker.js';
import type { SheetsService } from '../sheets/sheets.service.js';
import type { TasksService } from '../tasks/tasks.service.js';
import type { WorkspaceService } from '../workspace.service.js';

/** The Workspace services an operation may call. */
export interface WorkspaceServices {
  workspace: WorkspaceService;
  gmail: GmailService;
  drive: DriveService;
  calendar: CalendarService;
  docs: DocsService;
  sheets: SheetsService;
  tasks: TasksService;
  contacts: ContactsService;
}

export type WorkspaceApi = 'gmail' | 'drive' | 'calendar' | 'docs' | 'sheets' | 'tasks' | 'contacts';

/** google_workspace_mcp's `--tool-tier`: core is the everyday set, extended adds more, complete is everything. */
export type ToolTier = 'core' | 'extended' | 'complete';

/** MCP tool annotations (hints for clients deciding what to confirm with the person). */
export interface OperationHints {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  /** True where the call reaches people outside the user's own data (mail sent, invitations). */
  openWorldHint: boolean;
}

/** The validated input of an operation: path parameters, query and body fields, merged into one object. */
export type OperationInput = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * One Workspace operation, defined once: its REST route and its MCP tool come from here. The input schemas are the
 * very zod schemas the REST controller validates with (a test checks they are the same objects).
 */
export interface WorkspaceOperation {
  /** MCP tool name (google_workspace_mcp's where it has an equivalent). */
  tool: string;
  api: WorkspaceApi;
  title: string;
  description: string;
  /** The REST route below `/v1/users/{userId}/`. */
  http: { method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'; path: string };
  /** Path parameters and the schema of each. */
  params?: Record<string, ZodType>;
  query?: ZodObject;
  body?: ZodObject;
  /** The shape of the result (an object; entries keep Google's field names). */
  output: ZodObject;
  /** The scopes the call needs (any one of REQUIRED_SCOPES[scope]). */
  scope: ScopeNeed;
  /** What some input needs beyond `scope` (the REST route declares the same function with @RequiresScopeForInput). */
  inputNeeds?: InputNeeds;
  /**
   * The inputs that name an existing Drive file (a Doc, a Sheet, a parent folder): a token that reaches only its
   * client's files (FileScope.ownOnly) is refused unless each carries the client's mark. The REST route declares
   * the same with @ReachesFiles.
   */
  fileInputs?: readonly string[];
  hints: OperationHints;
  tier: ToolTier;
  /** `files`: the caller's drive.file marks (fileScopeOf); undefined for a browser sign-in's token. */
  run(s: WorkspaceServices, email: string, input: OperationInput, files?: FileScope): Promise<object>;
}

export const READ: OperationHints = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
export const CREATE: OperationHints = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false };
export const UPDATE: OperationHints = { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false };
export const DELETE: OperationHints = { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false };
