import { WORKSPACE_CATALOGUE } from '../workspace/catalogue/catalogue.js';
import { recommendedScope } from '../common/google-scopes.js';

const G = 'https://www.googleapis.com/auth/';

/** The tool list of docs/mcp.md, generated from the catalogue (a spec keeps docs/mcp.md equal to it). */
export function toolTable(): string {
  const rows = WORKSPACE_CATALOGUE.map((op) => {
    const hints = [op.hints.readOnlyHint ? 'read-only' : '', op.hints.destructiveHint ? 'destructive' : '', op.hints.idempotentHint && !op.hints.readOnlyHint ? 'idempotent' : '', op.hints.openWorldHint ? 'open world' : ''].filter(Boolean).join(', ');
    return `| \`${op.tool}\` | ${op.api} | ${op.tier} | \`${recommendedScope(op.scope).replace(G, '')}\` | ${hints} | \`${op.http.method} ${op.http.path}\` |`;
  });
  return ['| tool | service | tier | scope (short) | hints | REST route below /v1/users/{userId}/ |', '|---|---|---|---|---|---|', ...rows].join('\n');
}
