import { signIn, startWorldWithService, type Endpoint, type Service, type World } from './harness.js';

const G = 'https://www.googleapis.com/auth/';

/** Every scope the Workspace routes can use, for a service that should be able to do everything. */
export const ALL_WORKSPACE_SCOPES = [
  'gmail.modify',
  'gmail.send',
  'gmail.compose',
  'drive',
  'calendar',
  'documents',
  'spreadsheets',
  'tasks',
  'contacts.readonly',
]
  .map((s) => G + s)
  .join(' ');

/** A JSON API caller with a bearer token: `call('POST', path, body)` answers status, headers and parsed body. */
export function apiClient(service: Endpoint, token: string) {
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; headers: Headers; json: Record<string, unknown> & { error?: string; message?: string } }> => {
    const res = await fetch(`${service.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : {} };
  };
}

/** A world, a service that may use every Workspace scope, and `email` signed in to it: a Workspace spec's set-up. */
export async function startSignedIn(
  email: string,
  overrides: Record<string, string> = {},
): Promise<{ world: World; sut: Service; token: string; call: ReturnType<typeof apiClient> }> {
  const { world, sut } = await startWorldWithService({ GOOGLE_SCOPES: ALL_WORKSPACE_SCOPES, ...overrides });
  const token = (await signIn(sut, world, email)).access_token;
  return { world, sut, token, call: apiClient(sut, token) };
}
