import escapeHtml from 'escape-html';
import type { FastifyReply, FastifyRequest } from 'fastify';
import Negotiator from 'negotiator';

/** Where the pages' one script and one stylesheet are served (src/home/home.controller.ts). */
export const PAGE_SCRIPT = '/assets/broker.js';
export const PAGE_STYLE = '/assets/broker.css';

/**
 * The service's own HTML pages (the front door and the token page): no inline script or style, so the policy can
 * forbid both; nothing may frame them; nothing is loaded from elsewhere.
 */
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Escapes text for HTML (element content and quoted attributes). Every value from outside goes through it. */
export const html = (text: unknown): string => escapeHtml(String(text));

/** Whether the caller is a browser showing a page to a person: its Accept prefers text/html over JSON. */
export function prefersHtml(req: FastifyRequest): boolean {
  return new Negotiator({ headers: { accept: req.headers.accept ?? '*/*' } }).mediaType(['application/json', 'text/html']) === 'text/html';
}

/** A whole page around `body` (already escaped by the caller). */
export function htmlDocument(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${html(title)}</title>
<link rel="stylesheet" href="${PAGE_STYLE}">
<script src="${PAGE_SCRIPT}" defer></script>
</head>
<body>
${body}
</body>
</html>
`;
}

/** Sends a page with its security headers; `noStore` for pages that show a secret. */
export function sendHtml(reply: FastifyReply, status: number, page: string, noStore = false): void {
  reply
    .status(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', PAGE_CSP)
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer');
  if (noStore) reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  reply.send(page);
}
