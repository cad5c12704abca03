import { isUtf8 } from 'node:buffer';
import type { FastifyBodyParser, FastifyInstance } from 'fastify';
import { DomainError } from './domain-error.js';

/**
 * How deep arrays and objects may nest in a JSON body. No route or MCP message needs more than a handful of levels
 * (a Sheets write through MCP: message, params, arguments, rows, row); JSON.parse of 6 MB of "[" (a /mcp body
 * within its limit) held the event loop for about 3 s, so every user of the replica waited.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Whether the quote at `at` is escaped (an odd number of backslashes before it). */
function escaped(body: Buffer, at: number): boolean {
  let n = 0;
  while (body[at - 1 - n] === BACKSLASH) n++;
  return n % 2 === 1;
}

/** Whether arrays and objects of `body` nest deeper than `max`; strings are skipped whole (indexOf, not byte by byte). */
export function nestedDeeperThan(body: Buffer, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === QUOTE) {
      let end = body.indexOf(QUOTE, i + 1);
      while (end !== -1 && escaped(body, end)) end = body.indexOf(QUOTE, end + 1);
      if (end === -1) return false; // an unterminated string: JSON.parse refuses it
      i = end;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/**
 * The JSON body parser: Fastify's own (a `__proto__` or `constructor.prototype` key refused) behind two checks.
 * UTF-8: Fastify decodes a body leniently, so a client sending Latin-1 ("é" as the byte 0xE9) had every such byte
 * turned into U+FFFD and the text used as if the caller had written it (a mail went out saying "Caf�"); RFC 8259
 * makes JSON between systems UTF-8. Depth: MAX_JSON_DEPTH, checked in one pass before JSON.parse runs.
 */
export function utf8JsonParser(fastify: FastifyInstance): FastifyBodyParser<Buffer> {
  const parse = fastify.getDefaultJsonParser('error', 'error') as unknown as FastifyBodyParser<Buffer>;
  return function (this: FastifyInstance, request, body, done) {
    if (!isUtf8(body)) {
      done(new DomainError(400, 'invalid_encoding', 'The request body is not valid UTF-8. Send JSON encoded as UTF-8 (RFC 8259) and retry.'), undefined);
      return;
    }
    if (nestedDeeperThan(body, MAX_JSON_DEPTH)) {
      done(new DomainError(400, 'nested_too_deeply', `The JSON body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep; no request here needs that many. Flatten it and retry.`), undefined);
      return;
    }
    parse.call(this, request, body, done);
  };
}
