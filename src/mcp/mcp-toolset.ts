import { ConfigError } from '../config/config.schema.js';
import { WORKSPACE_CATALOGUE } from '../workspace/catalogue/catalogue.js';
import type { ToolTier, WorkspaceOperation } from '../workspace/catalogue/operation.js';

const TIERS: Record<string, ToolTier[]> = {
  core: ['core'],
  extended: ['core', 'extended'],
  complete: ['core', 'extended', 'complete'],
  all: ['core', 'extended', 'complete'],
};

/**
 * The tools this replica exposes, from MCP_TOOLS and MCP_READ_ONLY. MCP_TOOLS lists tiers (core, extended, all;
 * each includes the ones before, as google_workspace_mcp's --tool-tier), services (gmail, drive, ...) and tool
 * names. Services and tools add up; a tier given with them narrows them to that tier; a tier alone selects it.
 * MCP_READ_ONLY=true then keeps only the read-only tools. An unknown entry stops the boot, naming it.
 */
export function selectTools(entries: readonly string[], readOnly: boolean, catalogue: readonly WorkspaceOperation[] = WORKSPACE_CATALOGUE): WorkspaceOperation[] {
  const services = new Set(catalogue.map((op) => op.api));
  const tools = new Set(catalogue.map((op) => op.tool));
  const unknown = entries.filter((e) => !(e in TIERS) && !services.has(e as never) && !tools.has(e));
  if (unknown.length) {
    throw new ConfigError(`Invalid configuration: MCP_TOOLS names ${unknown.join(', ')}, which is no tier (core, extended, all), service (${[...services].join(', ')}) or tool. Fix MCP_TOOLS and start again.`);
  }
  const tiers = entries.filter((e) => e in TIERS).flatMap((e) => TIERS[e]);
  const picks = entries.filter((e) => !(e in TIERS));
  return catalogue.filter(
    (op) =>
      (tiers.length === 0 || tiers.includes(op.tier)) &&
      (picks.length === 0 || picks.includes(op.api) || picks.includes(op.tool)) &&
      (!readOnly || op.hints.readOnlyHint),
  );
}
