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
 * The one place where a Google sign-in started by the OAuth authorization server is handed back to it. The `oauth`
 * module registers its handlers at start-up, so `auth` never imports `oauth` (dependencies point one way).
 */
@Injectable()
export class SignInContinuation {
  private handler?: ContinueAuthorization;
  private restart?: RestartAuthorization;

  /** Called once by the authorization server when it starts. */
  register(handler: ContinueAuthorization, restart?: RestartAuthorization): void {
    this.handler = handler;
    this.restart = restart;
  }

  /** The redirect back to the OAuth client, with its code. */
  async complete(request: PendingAuthorization, email: string, ip: string | undefined, grantedScopes: readonly string[]): Promise<string> {
    if (!this.handler) throw new Error('No OAuth authorization server is registered to finish this sign-in.');
    return this.handler(request, email, ip, grantedScopes);
  }

  /**
   * Where a failed sign-in of an OAuth client leads the person: the same authorization request again, so it ends
   * back in the application (SignInErrorPageFilter). Undefined when no authorization server registered one.
   */
  restartUrl(request: PendingAuthorization): string | undefined {
    return this.restart?.(request);
  }
}
