import { Injectable, Logger } from '@nestjs/common';
import type { calendar_v3 } from '@googleapis/calendar';
import type { docs_v1 } from '@googleapis/docs';
import type { drive_v3 } from '@googleapis/drive';
import type { gmail_v1 } from '@googleapis/gmail';
import type { people_v1 } from '@googleapis/people';
import type { sheets_v4 } from '@googleapis/sheets';
import type { tasks_v1 } from '@googleapis/tasks';
import type { OAuth2Client } from 'google-auth-library';
import type { Agent as HttpAgent } from 'node:http';
import { LazyImport } from '../common/lazy-import.js';
import { AppConfig } from '../config/app-config.js';
import { googleAuthLibrary, type UserGoogleClient } from '../credentials/google-client.cache.js';

/** The keep-alive pool every user's clients share (see the GoogleApis constructor for why these settings). */
export const GOOGLE_POOL_OPTIONS = { keepAlive: true, scheduling: 'lifo' as const, maxFreeSockets: 256 };

/** The Google APIs a call can name (GoogleCaller.call's `api`), one googleapis package each. */
export type GoogleApiName = 'Gmail' | 'Drive' | 'Calendar' | 'Docs' | 'Sheets' | 'People' | 'Tasks';

interface ApiClients {
  Gmail: gmail_v1.Gmail;
  Drive: drive_v3.Drive;
  Calendar: calendar_v3.Calendar;
  Docs: docs_v1.Docs;
  Sheets: sheets_v4.Sheets;
  People: people_v1.People;
  Tasks: tasks_v1.Tasks;
}

/** What every client of every user is made with (one keep-alive pool, one transport; see the constructor). */
interface ClientOptions {
  rootUrl: string;
  retry: false;
  /** Google's redirects are not followed (credentials/google-transport.ts says why); set here so no call copies its options. */
  redirect: 'manual';
  agent: HttpAgent;
  fetchImplementation: typeof fetch;
}

/** What one user's client of an API is built from: the shared options and the user's OAuth2 client. */
type BuildOptions = ClientOptions & { auth: OAuth2Client };

type ClientFactory<K extends GoogleApiName> = (options: BuildOptions) => ApiClients[K];

/** An API's client factory from its package, imported when first asked for (the import stays a literal per package). */
function fromPackage<M, C>(load: () => Promise<M>, make: (module: M, options: BuildOptions) => C): () => Promise<(options: BuildOptions) => C> {
  return async () => {
    const module = await load();
    return (options) => make(module, options);
  };
}

/** Each API's package, imported on the first call to that API (GoogleApis.ready). */
const IMPORTERS: { [K in GoogleApiName]: () => Promise<ClientFactory<K>> } = {
  Gmail: fromPackage(() => import('@googleapis/gmail'), (m, o) => m.gmail({ version: 'v1', ...o })),
  Drive: fromPackage(() => import('@googleapis/drive'), (m, o) => m.drive({ version: 'v3', ...o })),
  Calendar: fromPackage(() => import('@googleapis/calendar'), (m, o) => m.calendar({ version: 'v3', ...o })),
  Docs: fromPackage(() => import('@googleapis/docs'), (m, o) => m.docs({ version: 'v1', ...o })),
  Sheets: fromPackage(() => import('@googleapis/sheets'), (m, o) => m.sheets({ version: 'v4', ...o })),
  People: fromPackage(() => import('@googleapis/people'), (m, o) => m.people({ version: 'v1', ...o })),
  Tasks: fromPackage(() => import('@googleapis/tasks'), (m, o) => m.tasks({ version: 'v1', ...o })),
};

/**
 * The per-API googleapis clients of a user, built once per user and cached with their authenticated client.
 *
 * Each API's package (with google-auth-library and the transport, credentials/google-transport.ts) is imported on the first call
 * to that API, not at boot:
 * together they take about 16 MB of resident memory when imported, which a replica that serves no Workspace call
 * never needs.
 * GoogleCaller awaits `ready(api)` before it runs a call; once loaded, getting a client is synchronous (a cached
 * factory and the user's cached client), so a warm call awaits nothing more than before.
 */
@Injectable()
export class GoogleApis {
  private readonly logger = new Logger('GoogleApis');
  private readonly rootUrl: string;
  /** The options every client is made with; their transport (credentials/google-transport.ts) is imported on first use too. */
  private readonly options: LazyImport<ClientOptions>;
  private readonly factories: { [K in GoogleApiName]: LazyImport<ClientFactory<K>> };

  constructor(config: AppConfig) {
    const g = config.values.google;
    // Retries are the GoogleCaller's job (bounded, 5xx only, idempotent calls only). Every call has a deadline of
    // GOOGLE_HTTP_TIMEOUT_MS (GoogleDeadlines, credentials/google-transport.ts): a hung call is cancelled and its socket closed,
    // not merely abandoned (test/e2e/google-timeouts.e2e.spec.ts proves it at the emulator's side). A call that
    // sets its own `timeout` (the REST route's streamed Drive downloads) keeps it.
    // One keep-alive pool for every user's clients (the benchmark's hot path): a warm call reuses a connection to
    // Google instead of paying a TCP (and TLS) handshake. LIFO keeps the most recently used sockets busy, so idle
    // ones time out instead of all going stale at once. The pool is picked by GOOGLE_API_ROOT_URL's scheme: every
    // call of these clients goes there (uploads name the same root, see uploadOptions).
    // The transport under gaxios: googleFetch (credentials/google-transport.ts), faster than gaxios' default node-fetch.
    // `http2: true` is not set: googleapis' HTTP/2 path ignores `timeout` and abort signals (a hung Google call
    // would hang the request for good), and the Google emulator speaks http/1.1 only.
    // The pool carries the deadline itself (GoogleDeadlines): no AbortSignal per call.
    const pool = { secure: new URL(g.apiRootUrl).protocol !== 'http:', options: GOOGLE_POOL_OPTIONS };
    this.rootUrl = g.apiRootUrl;
    const failed = (api: string) => (err: unknown) => this.logger.error({ msg: 'Google API library failed to load', api, error: (err as Error)?.name, detail: (err as Error)?.message });
    this.options = new LazyImport('The Google API client', async () => {
      const { GoogleDeadlines } = await import('../credentials/google-transport.js');
      const deadlines = new GoogleDeadlines(g.httpTimeoutMs, pool, g.maxAnswerBytes);
      return { rootUrl: g.apiRootUrl, retry: false as const, redirect: 'manual' as const, agent: deadlines.agent as HttpAgent, fetchImplementation: deadlines.fetch() };
    }, failed('transport'));
    const lazy = <K extends GoogleApiName>(api: K) =>
      new LazyImport(`The ${api} API`, IMPORTERS[api], failed(api));
    this.factories = { Gmail: lazy('Gmail'), Drive: lazy('Drive'), Calendar: lazy('Calendar'), Docs: lazy('Docs'), Sheets: lazy('Sheets'), People: lazy('People'), Tasks: lazy('Tasks') };
  }

  /**
   * Resolves once `api`'s package, google-auth-library and the transport are loaded (the first call imports them;
   * concurrent first calls share the imports); undefined when they already are, so the warm path awaits nothing. A
   * failed import rejects with a 503 naming what is unavailable.
   */
  ready(api: GoogleApiName): Promise<unknown> | undefined {
    if (this.factories[api].loaded && this.options.loaded && googleAuthLibrary.loaded) return undefined;
    return Promise.all([googleAuthLibrary.load(), this.options.load(), this.factories[api].load()]);
  }

  /** The user's client of `api`, built on first use; `ready(api)` must have resolved. */
  private client<K extends GoogleApiName>(user: UserGoogleClient, api: K): ApiClients[K] {
    return user.api(api, (auth) => {
      const factory = this.factories[api].loaded;
      const options = this.options.loaded;
      if (!factory || !options) throw new Error(`The ${api} client library is not loaded: await GoogleApis.ready('${api}') first (GoogleCaller.call does).`);
      return factory({ auth, ...options });
    });
  }

  /**
   * Per-call options for media uploads: googleapis builds an upload URL from the call's own `rootUrl` only (the
   * client-wide one is not applied to it), so an upload names it again.
   */
  get uploadOptions(): { rootUrl: string } {
    return { rootUrl: this.rootUrl };
  }

  /** Gmail v1. */
  gmail(user: UserGoogleClient): gmail_v1.Gmail {
    return this.client(user, 'Gmail');
  }

  /** Drive v3. */
  drive(user: UserGoogleClient): drive_v3.Drive {
    return this.client(user, 'Drive');
  }

  /** Calendar v3. */
  calendar(user: UserGoogleClient): calendar_v3.Calendar {
    return this.client(user, 'Calendar');
  }

  /** Docs v1. */
  docs(user: UserGoogleClient): docs_v1.Docs {
    return this.client(user, 'Docs');
  }

  /** Sheets v4. */
  sheets(user: UserGoogleClient): sheets_v4.Sheets {
    return this.client(user, 'Sheets');
  }

  /** People v1 (contacts). */
  people(user: UserGoogleClient): people_v1.People {
    return this.client(user, 'People');
  }

  /** Tasks v1. */
  tasks(user: UserGoogleClient): tasks_v1.Tasks {
    return this.client(user, 'Tasks');
  }
}
