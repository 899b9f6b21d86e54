import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

import type { Container } from '../container';
import type { Secret } from '../entities';
import { BadUserInputError, ForbiddenError } from '../errors';
import { sendRestError, toClientError } from '../http';
import type { Context } from '../modules/context';

/*
 * Flatfile's `/v1/secrets` shape, so Flatfile's own SDKs (`event.secrets` in
 * @flatfile/listener, `secrets.list/upsert/delete` in @flatfile/api) work
 * against this server unmodified. Same tokens, services, rules and audit as
 * GraphQL; errors are `{ errors: [{ message, code, key? }] }`.
 */

interface RestSecret {
  id: string;
  name: string;
  value?: string;
  environmentId: string;
  spaceId: string | null;
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
    actorId: z.unknown().optional(), // sent by @flatfile/api; actors are tokens here
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
  version: secret.version,
});

export async function secretsRoutes(app: FastifyInstance, { container }: { container: Container }): Promise<void> {
  const { secrets, logger } = container;

  const contextOf = (request: FastifyRequest): Promise<Context> => container.authenticate(request.headers.authorization);
  const requireAdmin = (context: Context) => {
    if (!context.access.isAdmin) throw new ForbiddenError('this needs an ADMIN token');
  };

  app.setErrorHandler((error, _request, reply) => sendRestError(reply, toClientError(error, logger)));
  app.setNotFoundHandler((_request, reply) => sendRestError(reply, { status: 404, code: 'NOT_FOUND', message: 'no such route' }));

  /** The effective list of a scope, overrides applied, with values: for tokens that may read them. */
  app.get('/secrets', async (request: FastifyRequest, reply: FastifyReply) => {
    const context = await contextOf(request);
    const query = parseShape(listQuery, request.query, 'query');
    context.access.assertReadsValues(); // also when the list is empty
    const effective = await secrets.effectiveIn({ environmentId: query.environmentId, spaceId: query.spaceId || undefined }, context.access);
    const data: RestSecret[] = [];
    for (const { secret } of effective) {
      const value = secrets.reveal(secret, context); // synchronous while the environment key is cached
      data.push(toRest(secret, typeof value === 'string' ? value : await value));
    }
    await context.readAudit.flush(); // a read that cannot be audited is not served
    return reply.send({ data });
  });

  /** Creates or replaces a value; answers with the value just sent. ADMIN only. */
  app.post('/secrets', async (request: FastifyRequest, reply: FastifyReply) => {
    const context = await contextOf(request);
    requireAdmin(context);
    const body = parseShape(writeBody, request.body, 'body');
    const written = await secrets.upsert(
      {
        environmentId: body.environmentId,
        spaceId: body.spaceId,
        name: body.name,
        value: body.value,
        expectedVersion: body.expectedVersion,
      },
      context.access.principal,
    );
    return reply.send({ data: [toRest(written, body.value as string)] });
  });

  /** Deletes one secret row by id; answers with its metadata. ADMIN only. */
  app.delete('/secrets/:id', async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const context = await contextOf(request);
    requireAdmin(context);
    const deleted = await secrets.delete(request.params.id, context.access.principal);
    return reply.send({ data: [toRest(deleted)] });
  });
}
