import type { ServerResponse } from 'node:http';
import type { AccessTokenInfo } from '../google-state.js';
import { apiError, EmulatorRequest, json } from '../http-util.js';
import { DriveFile, DriveStore, GOOGLE_SHEET, Sheet } from './drive-store.js';

const G = 'https://www.googleapis.com/auth/';
const READ = [`${G}spreadsheets.readonly`, `${G}spreadsheets`, `${G}drive.readonly`, `${G}drive`, `${G}drive.file`];
const WRITE = [`${G}spreadsheets`, `${G}drive`, `${G}drive.file`];
const MAX = 1_000_000;

type Cell = string | number | boolean;
interface Area {
  sheet: Sheet;
  r1: number;
  c1: number;
  r2: number;
  c2: number;
  /** Both corners given (`A1:B2`): Sheets refuses writes beyond it; a single cell is only where writing starts. */
  bounded: boolean;
}

const colIndex = (letters: string) => [...letters.toUpperCase()].reduce((n, ch) => n * 26 + ch.charCodeAt(0) - 64, 0) - 1;
const colName = (i: number): string => (i < 0 ? '' : colName(Math.floor(i / 26) - 1) + String.fromCharCode(65 + (i % 26)));
const quoted = (title: string) => (/^[A-Za-z0-9_]+$/.test(title) ? title : `'${title.replace(/'/g, "''")}'`);

/** Parses A1 notation against the spreadsheet's sheets; undefined is Sheets' "Unable to parse range". */
function parseRange(file: DriveFile, raw: string): Area | undefined {
  const sheets = file.sheets ?? [];
  const bang = raw.lastIndexOf('!');
  let sheetPart = bang === -1 ? undefined : raw.slice(0, bang);
  let area = bang === -1 ? raw : raw.slice(bang + 1);
  const cell = /^([A-Za-z]{0,3})(\d*)$/;
  if (bang === -1 && !/^[A-Za-z]{0,3}\d*(:[A-Za-z]{0,3}\d*)?$/.test(raw)) [sheetPart, area] = [raw, ''];
  if (bang === -1 && sheets.some((s) => s.title === raw)) [sheetPart, area] = [raw, ''];
  const title = sheetPart?.startsWith("'") ? sheetPart.slice(1, -1).replace(/''/g, "'") : sheetPart;
  const sheet = title === undefined ? sheets[0] : sheets.find((s) => s.title === title);
  if (!sheet) return undefined;
  if (!area) return { sheet, r1: 0, c1: 0, r2: MAX, c2: MAX, bounded: false };
  const [a, b = a] = area.split(':');
  const ma = cell.exec(a);
  const mb = cell.exec(b);
  if (!ma || !mb || (!ma[1] && !ma[2]) || (!mb[1] && !mb[2])) return undefined;
  return {
    sheet,
    c1: ma[1] ? colIndex(ma[1]) : 0,
    r1: ma[2] ? Number(ma[2]) - 1 : 0,
    c2: mb[1] ? colIndex(mb[1]) : MAX,
    r2: mb[2] ? Number(mb[2]) - 1 : MAX,
    bounded: area.includes(':'),
  };
}

/** A1 notation of a rectangle, a single cell written as one (`Sheet1!C2`, as Sheets answers). */
function rect(sheet: Sheet, r1: number, c1: number, r2: number, c2: number): string {
  const end = r1 === r2 && c1 === c2 ? '' : `:${colName(c2)}${r2 + 1}`;
  return `${quoted(sheet.title)}!${colName(c1)}${r1 + 1}${end}`;
}

/** The rectangle that values of the given size take from the area's top-left corner. */
function a1(area: Area, rows: number, cols: number): string {
  return rect(area.sheet, area.r1, area.c1, area.r1 + Math.max(rows, 1) - 1, area.c1 + Math.max(cols, 1) - 1);
}

/** The range a read answers: the requested one, open ends cut at the grid (a new sheet's is 1000 rows by 26 columns). */
function requested(area: Area): string {
  const rows = Math.max(1000, area.sheet.values.length);
  const cols = Math.max(26, ...area.sheet.values.map((r) => r.length));
  // Open ends only: a closed range stays as asked, also past the grid's edge.
  const r2 = area.r2 === MAX ? Math.max(area.r1, rows - 1) : area.r2;
  const c2 = area.c2 === MAX ? Math.max(area.c1, cols - 1) : area.c2;
  return rect(area.sheet, area.r1, area.c1, r2, c2);
}

/** The cells of an area as Sheets answers them: trailing empty cells and rows left out. */
function read(area: Area, formatted: boolean): Cell[][] {
  const rows = area.sheet.values.slice(area.r1, area.r2 + 1).map((row) => {
    const cells = row.slice(area.c1, area.c2 + 1).map((c) => (formatted ? String(c) : c));
    while (cells.length && cells[cells.length - 1] === '') cells.pop();
    return cells;
  });
  while (rows.length && rows[rows.length - 1].length === 0) rows.pop();
  return rows;
}

function write(sheet: Sheet, r: number, c: number, values: unknown[][], userEntered: boolean): void {
  values.forEach((row, i) => {
    const target = (sheet.values[r + i] ??= []);
    row.forEach((v, j) => {
      while (target.length < c + j) target.push('');
      const cell = v === null || v === undefined ? '' : (v as Cell);
      // USER_ENTERED parses what a person would type; RAW stores strings as they are.
      target[c + j] = userEntered && typeof cell === 'string' && /^-?\d+(\.\d+)?$/.test(cell) ? Number(cell) : cell;
    });
  });
  for (let i = 0; i < sheet.values.length; i++) sheet.values[i] ??= [];
}

/** Sheets v4: spreadsheet get/create, values get/update/append. */
export function sheetsApi(req: EmulatorRequest, res: ServerResponse, user: AccessTokenInfo, drive: DriveStore): boolean {
  const path = req.url.pathname;
  const q = req.url.searchParams;
  const can = (scopes: string[]) => scopes.some((s) => user.scopes.includes(s));
  const denied = () => apiError(res, 403, 'PERMISSION_DENIED', 'Request had insufficient authentication scopes.', 'insufficientPermissions');
  const bad = (message: string) => apiError(res, 400, 'INVALID_ARGUMENT', message, 'badRequest');
  const meta = (f: DriveFile) => ({
    spreadsheetId: f.id,
    properties: { title: f.name, locale: 'en_US', timeZone: 'Etc/GMT' },
    sheets: (f.sheets ?? []).map((s, index) => ({ properties: { sheetId: s.sheetId, title: s.title, index, sheetType: 'GRID' } })),
    spreadsheetUrl: `https://docs.google.com/spreadsheets/d/${f.id}/edit`,
  });
  if (path === '/v4/spreadsheets' && req.method === 'POST') {
    if (!can(WRITE)) return denied(), true;
    const body = (req.json ?? {}) as { properties?: { title?: string }; sheets?: Array<{ properties?: { title?: string } }> };
    const titles = body.sheets?.length ? body.sheets.map((s, i) => s.properties?.title ?? `Sheet${i + 1}`) : ['Sheet1'];
    const file = drive.add(user.email, {
      name: body.properties?.title ?? 'Untitled spreadsheet',
      mimeType: GOOGLE_SHEET,
      parents: ['root'],
      sheets: titles.map((title, i) => ({ sheetId: i === 0 ? 0 : 1000 + i, title, values: [] })),
    });
    return json(res, 200, meta(file)), true;
  }
  const m = /^\/v4\/spreadsheets\/([\w-]+)(?:\/values\/([^/]+?)(:append)?)?$/.exec(path);
  if (!m) return false;
  const file = drive.files(user.email).get(m[1]);
  if (!file || file.mimeType !== GOOGLE_SHEET) return apiError(res, 404, 'NOT_FOUND', 'Requested entity was not found.', 'notFound'), true;
  if (!m[2]) return req.method === 'GET' ? (can(READ) ? json(res, 200, meta(file)) : denied(), true) : false;
  const range = decodeURIComponent(m[2]);
  const area = parseRange(file, range);
  if (!area) return bad(`Unable to parse range: ${range}`), true;
  if (req.method === 'GET' && !m[3]) {
    if (!can(READ)) return denied(), true;
    const values = read(area, (q.get('valueRenderOption') ?? 'FORMATTED_VALUE') === 'FORMATTED_VALUE');
    return json(res, 200, { range: requested(area), majorDimension: 'ROWS', ...(values.length ? { values } : {}) }), true;
  }
  if (!(req.method === 'PUT' && !m[3]) && !(req.method === 'POST' && m[3])) return false;
  if (!can(WRITE)) return denied(), true;
  const input = q.get('valueInputOption');
  if (input !== 'RAW' && input !== 'USER_ENTERED') return bad("'valueInputOption' is required but not specified"), true;
  const values = ((req.json ?? {}) as { values?: unknown[][] }).values ?? [];
  const cols = Math.max(0, ...values.map((r) => r.length));
  const cells = values.reduce((n, r) => n + r.length, 0);
  if (!m[3]) {
    const over = area.bounded && (values.length > area.r2 - area.r1 + 1 ? `row [${area.r1 + values.length}]` : cols > area.c2 - area.c1 + 1 ? `column [${colName(area.c1 + cols - 1)}]` : '');
    if (over) return bad(`Requested writing within range [${range}], but tried writing to ${over}`), true;
    write(area.sheet, area.r1, area.c1, values, input === 'USER_ENTERED');
    const updatedRange = a1(area, values.length, cols);
    return json(res, 200, { spreadsheetId: file.id, updatedRange, updatedRows: values.length, updatedColumns: cols, updatedCells: cells }), true;
  }
  // Append: after the last row of the table that starts in the range.
  const existing = read({ ...area, r2: MAX }, false);
  const start = area.r1 + existing.length;
  write(area.sheet, start, area.c1, values, input === 'USER_ENTERED');
  const target: Area = { ...area, r1: start };
  return (
    json(res, 200, {
      spreadsheetId: file.id,
      ...(existing.length ? { tableRange: a1(area, existing.length, Math.max(0, ...existing.map((r) => r.length))) } : {}),
      updates: { spreadsheetId: file.id, updatedRange: a1(target, values.length, cols), updatedRows: values.length, updatedColumns: cols, updatedCells: cells },
    }),
    true
  );
}
