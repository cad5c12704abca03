import { Injectable } from '@nestjs/common';
import { calendar, calendar_v3 } from '@googleapis/calendar';
import { docs, docs_v1 } from '@googleapis/docs';
import { drive, drive_v3 } from '@googleapis/drive';
import { gmail, gmail_v1 } from '@googleapis/gmail';
import { people, people_v1 } from '@googleapis/people';
import { sheets, sheets_v4 } from '@googleapis/sheets';
import { tasks, tasks_v1 } from '@googleapis/tasks';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { AppConfig } from '../config/app-config.js';
import type { UserGoogleClient } from '../credentials/google-client.cache.js';
import { GoogleDeadlines } from './google-transport.js';

/** The per-API googleapis clients of a user, built once per user and cached with their authenticated client. */
@Injectable()
export class GoogleApis {
  private readonly options: { rootUrl: string; retry: false; agent: HttpAgent; fetchImplementation: typeof fetch };

  constructor(config: AppConfig) {
    const g = config.values.google;
    // Retries are the GoogleCaller's job (bounded, 5xx only, idempotent calls only). Every call has a deadline of
    // GOOGLE_HTTP_TIMEOUT_MS (GoogleDeadlines, google-transport.ts): a hung call is cancelled and its socket closed,
    // not merely abandoned (test/e2e/google-timeouts.e2e.spec.ts proves it at the emulator's side). A call that
    // sets its own `timeout` (Drive downloads) keeps it.
    // One keep-alive pool for every user's clients (the benchmark's hot path): a warm call reuses a connection to
    // Google instead of paying a TCP (and TLS) handshake. LIFO keeps the most recently used sockets busy, so idle
    // ones time out instead of all going stale at once. The pool is picked by GOOGLE_API_ROOT_URL's scheme: every
    // call of these clients goes there (uploads name the same root, see uploadOptions).
    // The transport under gaxios: googleFetch (google-transport.ts), faster than gaxios' default node-fetch.
    // `http2: true` is not set: googleapis' HTTP/2 path ignores `timeout` and abort signals (a hung Google call
    // would hang the request for good), and the Google emulator speaks http/1.1 only.
    const pool = { keepAlive: true, scheduling: 'lifo' as const, maxFreeSockets: 256 };
    const agent = new URL(g.apiRootUrl).protocol === 'http:' ? new HttpAgent(pool) : new HttpsAgent(pool);
    this.options = { rootUrl: g.apiRootUrl, retry: false, agent, fetchImplementation: new GoogleDeadlines(g.httpTimeoutMs).fetch() };
  }

  /**
   * Per-call options for media uploads: googleapis builds an upload URL from the call's own `rootUrl` only (the
   * client-wide one is not applied to it), so an upload names it again.
   */
  get uploadOptions(): { rootUrl: string } {
    return { rootUrl: this.options.rootUrl };
  }

  /** Gmail v1. */
  gmail(user: UserGoogleClient): gmail_v1.Gmail {
    return user.api('gmail', (auth) => gmail({ version: 'v1', auth, ...this.options }));
  }

  /** Drive v3. */
  drive(user: UserGoogleClient): drive_v3.Drive {
    return user.api('drive', (auth) => drive({ version: 'v3', auth, ...this.options }));
  }

  /** Calendar v3. */
  calendar(user: UserGoogleClient): calendar_v3.Calendar {
    return user.api('calendar', (auth) => calendar({ version: 'v3', auth, ...this.options }));
  }

  /** Docs v1. */
  docs(user: UserGoogleClient): docs_v1.Docs {
    return user.api('docs', (auth) => docs({ version: 'v1', auth, ...this.options }));
  }

  /** Sheets v4. */
  sheets(user: UserGoogleClient): sheets_v4.Sheets {
    return user.api('sheets', (auth) => sheets({ version: 'v4', auth, ...this.options }));
  }

  /** People v1 (contacts). */
  people(user: UserGoogleClient): people_v1.People {
    return user.api('people', (auth) => people({ version: 'v1', auth, ...this.options }));
  }

  /** Tasks v1. */
  tasks(user: UserGoogleClient): tasks_v1.Tasks {
    return user.api('tasks', (auth) => tasks({ version: 'v1', auth, ...this.options }));
  }
}
