/** The parts of node-oauth's OAuth2 client (passport-oauth2's transport) used here. */
export interface OAuth2Transport {
  useAuthorizationHeaderforGET(use: boolean): void;
  _executeRequest(lib: unknown, options: Record<string, unknown>, body: unknown, callback: (err: unknown, ...rest: unknown[]) => void): void;
}

/** Google did not answer one call of the sign-in (code exchange or userinfo) in time; the request was cancelled. */
export class GoogleCallTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`Google did not answer within ${timeoutMs} ms`);
  }
}

/**
 * Bounds every HTTP call the strategy makes (code exchange, userinfo) by GOOGLE_HTTP_TIMEOUT_MS. node-oauth has no
 * timeout option, so its one transport method is wrapped: the request gets an AbortSignal, and at the deadline the
 * caller is answered and the request aborted, which destroys its socket (nothing is left waiting on Google).
 */
export function boundGoogleCalls(oauth2: OAuth2Transport, timeoutMs: number): void {
  const execute = oauth2._executeRequest.bind(oauth2);
  oauth2._executeRequest = (lib, options, body, callback) => {
    const controller = new AbortController();
    let answered = false;
    const answer = (err: unknown, ...rest: unknown[]) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      callback(err, ...rest);
    };
    const timer = setTimeout(() => {
      answer(new GoogleCallTimeout(timeoutMs));
      controller.abort();
    }, timeoutMs);
    execute(lib, { ...options, signal: controller.signal }, body, answer);
  };
}
