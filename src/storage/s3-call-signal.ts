import type { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';

type HttpRequest = Parameters<NodeHttpHandler['handle']>[0];
type HandlerOptions = NonNullable<Parameters<NodeHttpHandler['handle']>[1]>;

/**
 * Where a call's abort signal rides on the command input, and then on each of its HTTP attempts; `null` on an
 * attempt of an S3 command sent without one.
 */
const CALL_SIGNAL = Symbol('s3CallSignal');

type WithSignal = { [CALL_SIGNAL]?: AbortSignal | null };

/**
 * Why this exists: the S3 client runs with `cacheMiddleware: true`, which resolves the middleware stack (endpoint
 * rules, signing, serde, retries) once per command class instead of on every call; resolving it was the largest
 * share of the service's own time per S3 call. The SDK uses the cached handler only when `send()` gets no options,
 * so the per-call `{ abortSignal }` cannot go through `send()` any more. Instead the signal rides on the command's
 * input under a symbol (the SDK's own copies of the input are object spreads, which keep it; schema serialisation
 * ignores it), a middleware just before the HTTP handler moves it onto each attempt's request, and the HTTP handler
 * hands it to the socket. No AsyncLocalStorage: in Node 20 it costs on every promise of the process.
 */
export function withCallSignal<C extends { input: object }>(command: C, signal: AbortSignal): C {
  (command.input as WithSignal)[CALL_SIGNAL] = signal;
  return command;
}

/**
 * NodeHttpHandler that aborts each request with its call's signal (S3_TIMEOUT_MS for the whole call, retries
 * included), so a stalled S3 leaves no request or socket behind. An S3 request without one is refused: every S3 call
 * of the service must be bounded, and a change in how the SDK copies inputs must fail loudly, not hang quietly.
 * The SDK's own credential clients (STS for IRSA's web identity token or an assumed role, SSO) send through the S3
 * client's handler too, outside its middleware: they pass with the handler's own timeouts (s3Bounds), and the S3
 * call waiting for them is still cut at its deadline. Refused, no S3 call could ever be signed under IRSA.
 */
export class CallBoundHttpHandler extends NodeHttpHandler {
  override handle(request: HttpRequest, options: HandlerOptions = {}) {
    const signal = (request as WithSignal)[CALL_SIGNAL];
    if (signal === undefined) return super.handle(request, options); // not an S3 command: a credential client's
    if (!signal) return Promise.reject(new Error('S3 request without its call deadline (withCallSignal was not applied)'));
    return super.handle(request, { ...options, abortSignal: signal });
  }
}

/** Adds the middleware that moves each call's signal from its input onto every HTTP attempt (after retries, signing). */
export function carryCallSignals(client: S3Client): S3Client {
  client.middlewareStack.add(
    (next) => (args) => {
      const signal = (args.input as WithSignal)[CALL_SIGNAL];
      if (args.request) (args.request as WithSignal)[CALL_SIGNAL] = signal ?? null;
      return next(args);
    },
    { step: 'deserialize', priority: 'low', name: 'carryCallSignal' },
  );
  return client;
}
