import { isUtf8 } from 'node:buffer';

import type { FastifyInstance, FastifyRequest } from 'fastify';
import secureJsonParse from 'secure-json-parse';

import { BadUserInputError } from '../errors';

/**
 * JSON is read as bytes so invalid
 * UTF-8 is refused instead of being silently replaced (a name or value must
 * not change on its way in), then parsed without prototype pollution.
 * Errors never echo the body.
 */
export function registerJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request: FastifyRequest, body: Buffer, done) => {
    if (body.length === 0) return done(null, undefined); // e.g. a DELETE sent with a JSON content type; routes decide
    if (!isUtf8(body)) return done(new BadUserInputError('body', 'the request body is not valid UTF-8'), undefined);
    try {
      done(null, secureJsonParse.parse(body.toString('utf8'), { protoAction: 'error', constructorAction: 'error' }));
    } catch {
      done(new BadUserInputError('body', 'the request body is not valid JSON'), undefined);
    }
  });
}
