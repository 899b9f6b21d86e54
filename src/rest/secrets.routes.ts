import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

import type { Container } from '../container';
import type { Secret } from '../entities';
import { BadUserInputError } from '../errors';
import { restErrorBody, toClientError } from '../http/errors';
import type { RequestContext } from '../modules/request/request-context';

/*
 * Flatfile's `/v1/secrets` shape, so Flatfile's own SDKs (`event.secrets` in
 * @flatfile/listener, `secrets.list/upsert/delete` in @flatfile/api) work
 * against this server unmodified. Same tokens, services, rules and audit as
 * GraphQL (the request lifecycle authenticated the request before its body
 * was read); routes only translate. Errors are `{ errors: [{ message, code, key? }] }`.
 */

interface RestSecret {
  id: string;
  name: string;
  value?: string;
  environmentId: string;
  spaceId: string | null;
  actorId: string | null;
  version: number;
}

const present = (field: string) =>
  z.unknown().refine((v) => v !== undefined && v !== null && v !== '', { message: `${field} is required` });

const listQuery = z
  .object({ environmentId: present('environmentId'), spaceId: z.unknown().optional(), actorId: z.unknown().optional() })
  .strict();

const writeBody = z
  .object({
    name: present('name'),
    value: z.unknown(),
    environmentId: present('environmentId'),
    spaceId: z.unknown().optional(),
    expectedVersion: z.unknown().optional(),
    actorId: z.unknown().optional(), // a personal secret of this actor (@flatfile/api sends it)
  })
  .strict();

/** Shape problems (missing or unknown keys) as BAD_USER_INPUT naming the key; the values are checked by the services. */
function parseShape<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new BadUserInputError(what, `the ${what} must be a JSON object`);
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const key = issue.code === 'unrecognized_keys' ? issue.keys[0] : String(issue.path[0] ?? what);
  const message = issue.code === 'unrecognized_keys' ? `unknown ${what} field ${JSON.stringify(key)}` : issue.message;
  throw new BadUserInputError(key, message);
}

const toRest = (secret: Secret, value?: string): RestSecret => ({
  id: secret.id,
  name: secret.name,
  ...(value === undefined ? {} : { value }),
  environmentId: secret.environmentId,
  spaceId: secret.spaceId,
  actorId: secret.actorId,
  version: secret.version,
});

/* These routes go through the request lifecycle, which attaches the context before the handler runs (http/request-lifecycle.ts). */
const AUTHENTICATED = { config: { api: 'rest' } } as const;

/* The request lifecycle attaches the context to every /v1 request before its handler runs. */
const contextOf = (request: FastifyRequest): RequestContext => request.secretspace!;

export async function secretsRoutes(app: FastifyInstance, { container }: { container: Container }): Promise<void> {
  const { secrets, logger } = container;
  /* Bodies here are JSON, nothing else: without Fastify's text/plain parser any other media type is 415. */
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((error, _request, reply) => {
    const clientError = toClientError(error, logger);
    return reply.code(clientError.status).send(restErrorBody(clientError));
  });
  /* Every other path under /v1 is a REST 404 (a route, so the UI's catch-all at / cannot answer it with a page). */
  const noSuchRoute = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.code(404).send(restErrorBody({ status: 404, code: 'NOT_FOUND', message: 'no such route' }));
  app.setNotFoundHandler(noSuchRoute);
  app.all('/*', noSuchRoute);

  /** The effective list of a view, overrides (and with actorId personal values) applied, with values: for tokens that may read them. */
  app.get('/secrets', AUTHENTICATED, async (request: FastifyRequest, reply: FastifyReply) => {
    const query = parseShape(listQuery, request.query, 'query');
    const revealed = await secrets.revealEffective(contextOf(request), {
      environmentId: query.environmentId,
      spaceId: query.spaceId || undefined,
      actorId: query.actorId, // validated by the service: "" is not "no actor" (a personal view is never silently shared)
    });
    return reply.send({ data: revealed.map(({ resolved, value }) => toRest(resolved.secret, value)) });
  });

  /* HEAD would be a GET without its body: the same decryptions and audit rows for nothing. */
  app.head('/secrets', AUTHENTICATED, async (_request: FastifyRequest, reply: FastifyReply) =>
    reply
      .code(405)
      .header('allow', 'GET, POST')
      .send(restErrorBody({ status: 405, code: 'BAD_USER_INPUT', message: 'use GET to list secrets' })),
  );

  /** Creates or replaces a value (with actorId, that actor's personal one); answers with the value just sent. ADMIN only. */
  app.post('/secrets', AUTHENTICATED, async (request: FastifyRequest, reply: FastifyReply) => {
    const body = parseShape(writeBody, request.body, 'body');
    const written = await secrets.upsert(contextOf(request).access, {
      environmentId: body.environmentId,
      spaceId: body.spaceId,
      actorId: body.actorId, // validated: a write meant for one actor never becomes a shared secret
      name: body.name,
      value: body.value,
      expectedVersion: body.expectedVersion,
    });
    return reply.send({ data: [toRest(written, body.value as string)] });
  });

  /** Deletes one secret by id (restorable until purged); answers with its metadata. ADMIN only. */
  app.delete('/secrets/:id', AUTHENTICATED, async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const deleted = await secrets.delete(contextOf(request).access, request.params.id);
    return reply.send({ data: [toRest(deleted)] });
  });
}
