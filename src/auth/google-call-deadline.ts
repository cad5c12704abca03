import type { ClientRequest, IncomingMessage } from 'node:http';
import { GoogleAnswerTooLargeError, TOKEN_ANSWER_MAX_BYTES } from '../credentials/google-answer-limit.js';

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

/** The `http`/`https` module node-oauth is handed; only `request` is used. */
interface HttpLibrary {
  request(options: unknown): ClientRequest;
}

/**
 * Bounds every HTTP call the strategy makes (code exchange, userinfo) by GOOGLE_HTTP_TIMEOUT_MS and by size. node-oauth
 * has neither option, so its one transport method is wrapped: the request gets an AbortSignal, and at the deadline
 * the caller is answered and the request aborted, which destroys its socket (nothing is left waiting on Google). It
 * reads an answer whole into a string: past `maxAnswerBytes` (a token or userinfo answer is a few kilobytes) the
 * caller is answered with GoogleAnswerTooLargeError and the request aborted the same way
 * (credentials/google-answer-limit.ts says why).
 */
export function boundGoogleCalls(oauth2: OAuth2Transport, timeoutMs: number, maxAnswerBytes = TOKEN_ANSWER_MAX_BYTES): void {
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
    const http = lib as HttpLibrary;
    // Registered before node-oauth's own listeners, so the answer is refused before it reads on.
    const counted: HttpLibrary = {
      request: (opts) =>
        http.request(opts).on('response', (res: IncomingMessage) => {
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= maxAnswerBytes || answered) return;
            answer(new GoogleAnswerTooLargeError(maxAnswerBytes));
            controller.abort();
          });
        }),
    };
    execute(counted, { ...options, signal: controller.signal }, body, answer);
  };
}
