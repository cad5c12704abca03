import type { ProtectedResources } from '../sessions/protected-resources.js';
import { ScopeNeed, scopesAccepted, scopesToRequest, WORKSPACE_API_NEEDS } from '../common/google-scopes.js';

const API_NAMES: Record<string, string> = {
  gmail: 'Gmail', drive: 'Google Drive', calendar: 'Google Calendar', docs: 'Google Docs', sheets: 'Google Sheets', tasks: 'Google Tasks', contacts: 'Google Contacts',
};

/**
 * Registers the REST routes as RFC 8707 resources: `/v1` (every Workspace API) and one per API,
 * `/v1/users/me/<api>`, whose routes are `/v1/users/{userId}/<api>/...` for `me` and for the caller's own email.
 */
export function registerWorkspaceResources(resources: ProtectedResources): void {
  const all = Object.values(WORKSPACE_API_NEEDS).flat() as ScopeNeed[];
  resources.register({ path: '/v1', routes: ['/v1'], name: 'Google Workspace REST API', scopesSupported: scopesAccepted(all), scopesToRequest: scopesToRequest(all) });
  for (const [api, needs] of Object.entries(WORKSPACE_API_NEEDS)) {
    resources.register({
      path: `/v1/users/me/${api}`,
      routes: [`/v1/users/:userId/${api}`],
      name: `${API_NAMES[api] ?? api} (Google Workspace credential broker)`,
      scopesSupported: scopesAccepted(needs),
      scopesToRequest: scopesToRequest(needs),
    });
  }
}
