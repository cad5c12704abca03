import { Injectable } from '@nestjs/common';
import type { PendingAuthorization } from './sign-in-flow.store.js';

/**
 * Finishes a sign-in that an OAuth client started; answers the URL to send the browser back to. `grantedScopes` are
 * the scopes Google's token response says the user has granted.
 */
export type ContinueAuthorization = (request: PendingAuthorization, email: string, ip: string | undefined, grantedScopes: readonly string[]) => Promise<string>;

/** The URL that sends the same authorization request to the authorization server again (a fresh start of it). */
export type RestartAuthorization = (request: PendingAuthorization) => string;

/**
 * Where the browser goes when the person declined at Google during the sign-in of `request` (Cancel on Google's
 * consent page): on to the client with access_denied, through the authorization server.
 */
export type DeclinedAuthorization = (request: PendingAuthorization) => Promise<string>;

/** What the authorization server registers (see SignInContinuation.register). */
export interface AuthorizationHandlers {
  complete: ContinueAuthorization;
  restart?: RestartAuthorization;
  declined?: DeclinedAuthorization;
}

/**
 * The one place where a Google sign-in started by the OAuth authorization server is handed back to it. The `oauth`
 * module registers its handlers at start-up, so `auth` never imports `oauth` (dependencies point one way).
 */
@Injectable()
export class SignInContinuation {
  private handlers?: AuthorizationHandlers;

  /** Called once by the authorization server when it starts. */
  register(handlers: AuthorizationHandlers): void {
    this.handlers = handlers;
  }

  /** The redirect back to the OAuth client, with its code. */
  async complete(request: PendingAuthorization, email: string, ip: string | undefined, grantedScopes: readonly string[]): Promise<string> {
    if (!this.handlers) throw new Error('No OAuth authorization server is registered to finish this sign-in.');
    return this.handlers.complete(request, email, ip, grantedScopes);
  }

  /** Where the browser goes after the person declined at Google: the client hears access_denied (DeclinedAuthorization). */
  async declined(request: PendingAuthorization): Promise<string> {
    if (!this.handlers?.declined) throw new Error('No OAuth authorization server is registered to report this declined sign-in.');
    return this.handlers.declined(request);
  }

  /**
   * Where a failed sign-in of an OAuth client leads the person: the same authorization request again, so it ends
   * back in the application (SignInErrorPageFilter). Undefined when no authorization server registered one.
   */
  restartUrl(request: PendingAuthorization): string | undefined {
    return this.handlers?.restart?.(request);
  }
}
