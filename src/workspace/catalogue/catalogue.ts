import { CALENDAR_OPERATIONS } from './calendar.js';
import { DOCS_SHEETS_OPERATIONS } from './docs-sheets.js';
import { DRIVE_OPERATIONS } from './drive.js';
import { GMAIL_OPERATIONS } from './gmail.js';
import type { WorkspaceOperation } from './operation.js';
import { TASKS_CONTACTS_OPERATIONS } from './tasks-contacts.js';

/**
 * Every Workspace operation, once. The MCP tools are generated from it; the REST controllers are checked against it
 * (catalogue.spec.ts: same routes, the same schema objects), so the two faces cannot drift apart.
 */
export const WORKSPACE_CATALOGUE: readonly WorkspaceOperation[] = [
  ...GMAIL_OPERATIONS,
  ...DRIVE_OPERATIONS,
  ...CALENDAR_OPERATIONS,
  ...DOCS_SHEETS_OPERATIONS,
  ...TASKS_CONTACTS_OPERATIONS,
];

/** The operation behind an MCP tool name, if any. */
export function operationByTool(tool: string): WorkspaceOperation | undefined {
  return WORKSPACE_CATALOGUE.find((op) => op.tool === tool);
}
