import 'reflect-metadata';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import { MODULE_METADATA } from '@nestjs/common/constants.js';
import { WorkspaceModule } from '../workspace.module.js';
import { inputNeedsOfHandler } from '../input-scope.js';
import { driveContentNeeds } from '../drive/content-terms.js';
import { fileInputsOfHandler } from '../app-files/app-file.guard.js';
import { z } from 'zod';
import { googleId } from '../ids.js';
import { WORKSPACE_CATALOGUE } from './catalogue.js';
import { inputJsonSchema, outputJsonSchema, validateInput } from './operation-input.js';

type Arg = { index: number; data?: string; pipes?: Array<{ schema?: unknown }> };

interface RestRoute {
  method: string;
  /** The scope needs the route declares with @RequiresScope. */
  scopes: unknown;
  /** What the route's input needs beyond them (@RequiresScopeForInput). */
  inputNeeds: unknown;
  /** The inputs that name existing Drive files (@ReachesFiles). */
  fileInputs: unknown;
  path: string;
  params: Record<string, unknown>;
  query?: unknown;
  body?: unknown;
}

const PREFIX = 'v1/users/:userId/';

/** Every route of the Workspace controllers under /v1/users/{userId}/, with the zod schema each argument is piped through. */
function restRoutes(): RestRoute[] {
  const controllers = Reflect.getMetadata(MODULE_METADATA.CONTROLLERS, WorkspaceModule) as Array<new (...a: never[]) => object>;
  const routes: RestRoute[] = [];
  for (const controller of controllers) {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller));
    for (const name of Object.getOwnPropertyNames(controller.prototype)) {
      const handler = (controller.prototype as Record<string, unknown>)[name];
      if (name === 'constructor' || typeof handler !== 'function' || Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
      const sub = String(Reflect.getMetadata(PATH_METADATA, handler));
      const path = [base, sub].filter((p) => p && p !== '/').join('/').replace(/\/+/g, '/');
      if (!path.startsWith(PREFIX)) continue;
      const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, name) ?? {}) as Record<string, Arg>;
      const route: RestRoute = { method: RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number], path: path.slice(PREFIX.length), params: {}, scopes: Reflect.getMetadata('workspace:scopeNeeds', handler), inputNeeds: inputNeedsOfHandler(handler as object), fileInputs: fileInputsOfHandler(handler as object) };
      for (const [key, arg] of Object.entries(args)) {
        const type = Number(key.split(':')[0]);
        const schema = arg.pipes?.find((p) => p && 'schema' in p)?.schema;
        if (type === RouteParamtypes.PARAM && arg.data) route.params[arg.data] = schema;
        if (type === RouteParamtypes.QUERY) route.query = schema;
        if (type === RouteParamtypes.BODY) route.body = schema;
      }
      routes.push(route);
    }
  }
  return routes;
}

describe('Workspace catalogue', () => {
  const routes = restRoutes();

  it('has exactly one entry per REST route, with the same method, path, scope, input needs and the very same zod schemas', () => {
    expect(routes.length).toBe(WORKSPACE_CATALOGUE.length);
    for (const route of routes) {
      const matches = WORKSPACE_CATALOGUE.filter((op) => op.http.method === route.method && op.http.path === route.path);
      expect({ route: `${route.method} ${route.path}`, entries: matches.length }).toEqual({ route: `${route.method} ${route.path}`, entries: 1 });
      const [op] = matches;
      // Identity, not likeness: a schema changed in a controller must be changed in the catalogue too.
      expect({ route: route.path, params: Object.keys(route.params).sort() }).toEqual({ route: route.path, params: Object.keys(op.params ?? {}).sort() });
      for (const [name, schema] of Object.entries(route.params)) expect(op.params?.[name] === schema).toBe(true);
      expect({ route: route.path, query: route.query === op.query }).toEqual({ route: route.path, query: true });
      expect({ route: route.path, body: route.body === op.body }).toEqual({ route: route.path, body: true });
      expect({ route: route.path, scopes: route.scopes }).toEqual({ route: route.path, scopes: [op.scope] });
      // The same function, so REST and MCP refuse the same input (a Drive content search) to the same tokens.
      expect({ route: route.path, inputNeeds: route.inputNeeds === op.inputNeeds }).toEqual({ route: route.path, inputNeeds: true });
      // The same files checked for the client's drive.file mark, through either face.
      expect({ route: route.path, fileInputs: route.fileInputs }).toEqual({ route: route.path, fileInputs: op.fileInputs });
    }
  });

  it('names the Drive file inputs of every Drive, Docs and Sheets operation that reaches an existing file', () => {
    const named = (op: (typeof WORKSPACE_CATALOGUE)[number]) => [...Object.keys(op.params ?? {}), ...Object.keys(op.body?.shape ?? {})].filter((k) => ['fileId', 'documentId', 'spreadsheetId', 'parentId'].includes(k));
    for (const op of WORKSPACE_CATALOGUE) expect({ tool: op.tool, fileInputs: op.fileInputs ?? [] }).toEqual({ tool: op.tool, fileInputs: named(op) });
  });

  it('names as a file input every Google id a Drive, Docs or Sheets operation takes, whatever the field is called and wherever it is', () => {
    // A new input such as a copy's source or a shortcut's target, named differently, is a file the check must see.
    const isId = (s: unknown): boolean => s === googleId || (s instanceof z.ZodOptional && isId(s.unwrap())) || (s instanceof z.ZodDefault && isId(s.unwrap()));
    for (const op of WORKSPACE_CATALOGUE.filter((o) => ['drive', 'docs', 'sheets'].includes(o.api))) {
      const fields = { ...(op.params ?? {}), ...(op.query?.shape ?? {}), ...(op.body?.shape ?? {}) };
      const ids = Object.entries(fields).filter(([, s]) => isId(s)).map(([k]) => k);
      expect({ tool: op.tool, fileInputs: [...(op.fileInputs ?? [])].sort() }).toEqual({ tool: op.tool, fileInputs: ids.sort() });
    }
  });

  it('checks the input of every Drive operation that takes a query or a fields selector for content terms', () => {
    const selecting = WORKSPACE_CATALOGUE.filter((op) => op.api === 'drive' && ['q', 'fields'].some((k) => k in (op.query?.shape ?? {})));
    expect(selecting.map((op) => op.tool).sort()).toEqual(['get_drive_file_metadata', 'search_drive_files']);
    for (const op of selecting) expect({ tool: op.tool, checked: op.inputNeeds === driveContentNeeds }).toEqual({ tool: op.tool, checked: true });
  });

  it('has no entry without a REST route, and unique tool names', () => {
    for (const op of WORKSPACE_CATALOGUE) {
      expect(routes.some((r) => r.method === op.http.method && r.path === op.http.path) ? op.tool : `${op.tool}: no route ${op.http.method} ${op.http.path}`).toBe(op.tool);
    }
    expect(new Set(WORKSPACE_CATALOGUE.map((op) => op.tool)).size).toBe(WORKSPACE_CATALOGUE.length);
  });

  it('keeps google_workspace_mcp tool names', () => {
    const names = WORKSPACE_CATALOGUE.map((op) => op.tool);
    for (const n of ['search_gmail_messages', 'get_gmail_message_content', 'get_gmail_messages_content_batch', 'send_gmail_message', 'draft_gmail_message', 'get_gmail_thread_content', 'list_gmail_labels', 'modify_gmail_message_labels', 'search_drive_files', 'get_drive_file_content', 'create_drive_file', 'list_calendars', 'get_events', 'create_event', 'modify_event', 'delete_event', 'get_doc_content', 'create_doc', 'read_sheet_values', 'modify_sheet_values', 'create_spreadsheet', 'list_task_lists', 'list_tasks', 'create_task', 'update_task', 'delete_task', 'search_contacts']) {
      expect(names).toContain(n);
    }
  });

  it('marks exactly the GET routes read-only, and every delete destructive', () => {
    for (const op of WORKSPACE_CATALOGUE) {
      expect({ tool: op.tool, readOnly: op.hints.readOnlyHint }).toEqual({ tool: op.tool, readOnly: op.http.method === 'GET' || op.tool === 'query_freebusy' });
      if (op.http.method === 'DELETE') expect(op.hints.destructiveHint).toBe(true);
      if (op.hints.readOnlyHint) expect(op.hints.destructiveHint).toBe(false);
    }
  });

  it('describes every input and output as an object JSON Schema', () => {
    for (const op of WORKSPACE_CATALOGUE) {
      expect(inputJsonSchema(op)).toMatchObject({ type: 'object' });
      expect(outputJsonSchema(op)).toMatchObject({ type: 'object' });
    }
  });

  it('validates arguments with the REST schemas: refinements, defaults, unknown fields', () => {
    const create = WORKSPACE_CATALOGUE.find((op) => op.tool === 'create_event')!;
    const ok = validateInput(create, { summary: 'x', start: '2026-01-01T10:00:00Z', end: '2026-01-01T11:00:00Z' });
    expect(ok).toEqual({ ok: true, input: { calendarId: 'primary', summary: 'x', start: { dateTime: '2026-01-01T10:00:00Z' }, end: { dateTime: '2026-01-01T11:00:00Z' } } });
    const backwards = validateInput(create, { summary: 'x', start: '2026-01-01T11:00:00Z', end: '2026-01-01T10:00:00Z' });
    expect(backwards).toEqual({ ok: false, problems: [{ field: 'end', message: 'must be after start' }] });
    const get = WORKSPACE_CATALOGUE.find((op) => op.tool === 'get_gmail_message_content')!;
    expect(validateInput(get, { messageId: '../x', userId: 'other@example.com' })).toEqual({
      ok: false,
      problems: [
        { field: 'userId', message: 'is not a parameter of this tool' },
        { field: 'messageId', message: 'must be a Google id (letters, digits, "_" and "-")' },
      ],
    });
  });
});
