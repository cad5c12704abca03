import { SetMetadata } from '@nestjs/common';
import { unmetTokenNeeds, type ScopeNeed } from '../common/google-scopes.js';

const INPUT_NEEDS = 'workspace:inputNeeds';

/** A need an operation's input adds to the one the operation declares, and why, worded for the 403's message. */
export interface InputNeed {
  need: ScopeNeed;
  because: string;
}

/**
 * What an operation's input needs beyond its declared scope (a Drive search of the files' content, say), or
 * undefined. Given the input as it arrived, before validation: only values of the expected type are looked at, and
 * the rest fail the operation's input schema before anything reaches Google.
 */
export type InputNeeds = (input: Readonly<Record<string, unknown>>) => InputNeed | undefined;

/**
 * Declares a route's InputNeeds, for TokenScopeGuard. The catalogue entry of the route names the very same function
 * (catalogue.spec.ts), which MCP's tool calls are checked with.
 */
export const RequiresScopeForInput = (needs: InputNeeds) => SetMetadata(INPUT_NEEDS, needs);

/** What a route handler declared with @RequiresScopeForInput, read from the handler itself. */
export function inputNeedsOfHandler(handler: object): InputNeeds | undefined {
  return Reflect.getMetadata(INPUT_NEEDS, handler) as InputNeeds | undefined;
}

/**
 * What `input` needs beyond the operation's declared scope, or undefined. Only an OAuth client's token is held to
 * it: the service calls Google with the user's whole grant, so what Google would refuse a narrower token
 * (drive.metadata.readonly reading content) the service has to refuse itself. A browser sign-in's token carries the
 * scopes of that very grant, and Google applies its own rules to them.
 */
export function inputNeedOf(needs: InputNeeds | undefined, input: unknown, oauthClient: boolean): InputNeed | undefined {
  if (!needs || !oauthClient) return undefined;
  return needs(typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {});
}

/** The need of `input` (inputNeedOf) a bearer token's scopes do not meet at all, or undefined. */
export function unmetInputNeed(needs: InputNeeds | undefined, input: unknown, scopes: readonly string[], oauthClient: boolean): InputNeed | undefined {
  const extra = inputNeedOf(needs, input, oauthClient);
  return extra && unmetTokenNeeds([extra.need], scopes, true).length > 0 ? extra : undefined;
}
