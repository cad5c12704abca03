import { Injectable } from '@nestjs/common';
import { GoogleApis } from '../google-apis.js';
import { GoogleCaller } from '../google-caller.js';
import type { FileScope } from '../app-files/app-file-marker.js';
import { AppFiles } from '../app-files/app-files.js';
import type { NewSpreadsheetBody, ReadRangeQuery, WriteRangeBody } from './sheets.schemas.js';

/** Google Sheets as the signed-in user. */
@Injectable()
export class SheetsService {
  constructor(
    private readonly google: GoogleCaller,
    private readonly apis: GoogleApis,
    private readonly appFiles: AppFiles,
  ) {}

  /** The values of a range, row by row (trailing empty cells left out, as Sheets does). */
  async read(email: string, spreadsheetId: string, q: ReadRangeQuery) {
    const data = await this.google.call(email, 'Sheets', 'sheetsRead', async (u) =>
      (await this.apis.sheets(u).spreadsheets.values.get({ spreadsheetId, range: q.range, valueRenderOption: q.render, majorDimension: 'ROWS' })).data,
    );
    return { spreadsheetId, range: data.range, values: data.values ?? [] };
  }

  /** Overwrites a range (idempotent: writing the same values twice leaves the same sheet). */
  async write(email: string, spreadsheetId: string, body: WriteRangeBody) {
    const data = await this.google.call(email, 'Sheets', 'sheetsWrite', async (u) =>
      (
        await this.apis.sheets(u).spreadsheets.values.update({
          spreadsheetId,
          range: body.range,
          valueInputOption: body.valueInputOption,
          requestBody: { range: body.range, majorDimension: 'ROWS', values: body.values },
        })
      ).data,
      { action: 'sheets.values.update', target: spreadsheetId },
    );
    return { spreadsheetId, updatedRange: data.updatedRange, updatedRows: data.updatedRows ?? 0, updatedColumns: data.updatedColumns ?? 0, updatedCells: data.updatedCells ?? 0 };
  }

  /** Appends rows after the table found in `range`. Not retried: a retry could append them twice. */
  async append(email: string, spreadsheetId: string, body: WriteRangeBody) {
    const data = await this.google.call(
      email,
      'Sheets',
      'sheetsWrite',
      async (u) =>
        (
          await this.apis.sheets(u).spreadsheets.values.append({
            spreadsheetId,
            range: body.range,
            valueInputOption: body.valueInputOption,
            insertDataOption: 'INSERT_ROWS',
            requestBody: { majorDimension: 'ROWS', values: body.values },
          })
        ).data,
      { idempotent: false, action: 'sheets.values.append', target: spreadsheetId },
    );
    const u = data.updates ?? {};
    return { spreadsheetId, tableRange: data.tableRange ?? null, updatedRange: u.updatedRange, updatedRows: u.updatedRows ?? 0, updatedCells: u.updatedCells ?? 0 };
  }

  /** Creates a spreadsheet with the given sheet titles, marked as DocsService.create marks a document. Not retried. */
  async create(email: string, body: NewSpreadsheetBody, files?: FileScope) {
    const data = await this.google.call(
      email,
      'Sheets',
      'sheetsCreate',
      async (u) =>
        (
          await this.apis.sheets(u).spreadsheets.create({
            requestBody: { properties: { title: body.title }, sheets: body.sheets?.map((title) => ({ properties: { title } })) },
            fields: 'spreadsheetId,spreadsheetUrl,properties.title,sheets.properties(sheetId,title,index)',
          })
        ).data,
      { idempotent: false, action: 'sheets.spreadsheet.create' },
    );
    const url = data.spreadsheetUrl ?? `https://docs.google.com/spreadsheets/d/${data.spreadsheetId}/edit`;
    await this.appFiles.markCreated(email, files, { kind: 'spreadsheet', id: data.spreadsheetId as string, url });
    return {
      spreadsheetId: data.spreadsheetId,
      title: data.properties?.title,
      url,
      sheets: (data.sheets ?? []).map((s) => s.properties),
    };
  }
}
