import type { Logger } from 'pino';

/**
 * Node warnings read and found harmless here, by code, with the reason: logged at debug (with the reason), so an
 * operator's log does not show a warning every start that nobody needs to act on. Any other code is a warn line.
 */
export const REVIEWED_WARNINGS: Readonly<Record<string, string>> = {
  DEP0169:
    "url.parse() in passport-oauth2 and oauth (the Google sign-in), which parse only configured URLs (Google's endpoints, PUBLIC_URL's callback), never a request's; Node 24, the image's, warns once per start",
  DEP0115:
    "crypto.pseudoRandomBytes in passport-oauth2 and uid2 (the Google sign-in's PKCE verifier and state): Node's alias of crypto.randomBytes, the same CSPRNG; warned only under --pending-deprecation",
};

/**
 * Sends Node's process warnings (deprecations, experimental features, a listener leak) to the service's log as JSON
 * lines (`event: process_warning`), instead of the plain text Node writes to stderr, which a log pipeline that expects
 * one JSON object per line cannot read. Call once per process, before anything can warn: Node hands a warning to its
 * listeners on the next tick, so one emitted while the modules load still arrives here.
 */
export function logProcessWarnings(logger: Logger): void {
  // Node's plain-text printer is a 'warning' listener of its own, added at startup unless --no-warnings; nothing else
  // in the service listens. Removed here rather than by --no-warnings, which every way of starting the service (the
  // image, npm start, npm run start:local, a platform's own command) would have to remember.
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => {
    const line = { event: 'process_warning', name: warning.name, code: warning.code, detail: warning.message };
    const reviewed = warning.code ? REVIEWED_WARNINGS[warning.code] : undefined;
    if (reviewed) logger.debug({ ...line, reviewed }, 'Node warning, reviewed');
    else logger.warn(line, 'Node warning');
  });
}
