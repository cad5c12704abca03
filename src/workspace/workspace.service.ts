import { Injectable } from '@nestjs/common';
import { GoogleApis } from './google-apis.js';
import { GoogleCaller } from './google-caller.js';
import type { CalendarEventsQuery, DriveFilesQuery, GmailMessagesQuery } from './workspace.queries.js';
import type { FileScope } from './app-files/app-file-marker.js';
import { ownFilesQuery } from './drive/own-files-query.js';

/** The three list routes of the core contract (Gmail messages, Drive files, Calendar events). */
@Injectable()
export class WorkspaceService {
  constructor(
    private readonly google: GoogleCaller,
    private readonly apis: GoogleApis,
  ) {}

  /** Gmail messages matching `q`. */
  async listMessages(email: string, query: GmailMessagesQuery) {
    const data = await this.google.call(email, 'Gmail', 'gmailRead', async (user) =>
      (await this.apis.gmail(user).users.messages.list({ userId: 'me', q: query.q, maxResults: query.maxResults, pageToken: query.pageToken })).data,
    );
    return { messages: data.messages ?? [], nextPageToken: data.nextPageToken ?? null, resultSizeEstimate: data.resultSizeEstimate ?? 0 };
  }

  /** Drive files matching `q`; only the client's own (its mark ANDed to `q`) when its token reaches no others. */
  async listFiles(email: string, query: DriveFilesQuery, files?: FileScope) {
    const q = files?.ownOnly ? ownFilesQuery(query.q, files.marker) : query.q;
    const data = await this.google.call(email, 'Drive', 'driveRead', async (user) =>
      (
        await this.apis.drive(user).files.list({
          q,
          pageSize: query.pageSize,
          pageToken: query.pageToken,
          fields: query.fields ? `nextPageToken,incompleteSearch,files(${query.fields})` : undefined,
        })
      ).data,
    );
    return { files: data.files ?? [], nextPageToken: data.nextPageToken ?? null };
  }

  /** Calendar events in a time window. */
  async listEvents(email: string, query: CalendarEventsQuery) {
    const { calendarId, timeMin, timeMax, pageToken, maxResults } = query;
    const data = await this.google.call(email, 'Calendar', 'calendarRead', async (user) =>
      (await this.apis.calendar(user).events.list({ calendarId, timeMin, timeMax, pageToken, maxResults, singleEvents: true })).data,
    );
    return { events: data.items ?? [], nextPageToken: data.nextPageToken ?? null };
  }
}
