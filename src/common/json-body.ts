import { isUtf8 } from 'node:buffer';
import type { FastifyBodyParser, FastifyInstance } from 'fastify';
import { DomainError } from './domain-error.js';

/**
 * The JSON body parser: Fastify's own (a `__proto__` or `constructor.prototype` key refused) behind a UTF-8 check.
 * Fastify decodes a body leniently: a client sending Latin-1 ("é" as the byte 0xE9) had every such byte turned into
 * U+FFFD and the text used as if the caller had written it (a mail went out saying "Caf�"). RFC 8259 makes JSON
 * between systems UTF-8, so anything else is refused before a route sees it.
 */
export function utf8JsonParser(fastify: FastifyInstance): FastifyBodyParser<Buffer> {
  const parse = fastify.getDefaultJsonParser('error', 'error') as unknown as FastifyBodyParser<Buffer>;
  return function (this: FastifyInstance, request, body, done) {
    if (!isUtf8(body)) {
      done(new DomainError(400, 'invalid_encoding', 'The request body is not valid UTF-8. Send JSON encoded as UTF-8 (RFC 8259) and retry.'), undefined);
      return;
    }
    parse.call(this, request, body, done);
  };
}
