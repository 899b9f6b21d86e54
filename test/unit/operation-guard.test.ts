import { getOperationAST, parse } from 'graphql';
import * as complexity from 'graphql-query-complexity';

import { ForbiddenError } from '../../src/errors';
import { guardOperation, shapeOf } from '../../src/graphql/operation-guard';
import { buildAppSchema } from '../../src/graphql/schema';
import type { RequestContext } from '../../src/modules/request/request-context';

/*
 * The operation guard's estimate is kept per parsed document and variables
 * for queries (Apollo hands each request of one query text the same
 * document), walked again for other variables; a mutation's, whose
 * variables may hold secret values, is kept by their shape (strings blanked).
 */

const schema = buildAppSchema();
const context = { access: { assert: () => undefined } } as unknown as RequestContext;
jest.mock('graphql-query-complexity', () => {
  const actual = jest.requireActual('graphql-query-complexity');
  return { ...actual, getComplexity: jest.fn(actual.getComplexity) };
});
const walks = complexity.getComplexity as jest.MockedFunction<typeof complexity.getComplexity>;
afterEach(() => walks.mockClear());

const guard = (document: ReturnType<typeof parse>, variables: Record<string, unknown>) =>
  guardOperation({ context, schema, document, operation: getOperationAST(document)!, variables });

it('walks a query once per distinct variables, and still refuses the variables that make it too expensive', () => {
  const document = parse('query($n: Int) { auditEvents(first: $n) { edges { node { id action at } } } }');
  guard(document, { n: 10 });
  guard(document, { n: 10 });
  expect(walks).toHaveBeenCalledTimes(1);

  expect(() => guard(document, { n: 50_000 })).toThrow(/too expensive/);
  expect(() => guard(document, { n: 50_000 })).toThrow(/too expensive/);
  expect(walks).toHaveBeenCalledTimes(2);
  guard(document, { n: 10 });
  expect(walks).toHaveBeenCalledTimes(2);
});

it('keeps a mutation’s estimate by the shape of its variables, never their strings', () => {
  const document = parse('mutation($i: UpsertSecretInput!) { upsertSecret(input: $i) { id } }');
  const input = (value: string, expectedVersion?: number) => ({
    i: { environmentId: '00000000-0000-4000-8000-000000000000', name: 'DB_PASSWORD', value, expectedVersion },
  });
  guard(document, input('a secret value'));
  guard(document, input('another secret value, longer'));
  expect(walks).toHaveBeenCalledTimes(1);
  expect(shapeOf(input('a secret value', 3))).toBe('{"i":{"environmentId":"","name":"","value":"","expectedVersion":3}}');
  guard(document, input('a secret value', 3)); // another shape: walked
  expect(walks).toHaveBeenCalledTimes(2);
  /* enum value names are public words, kept in the shape; any other string is blanked */
  expect(shapeOf({ role: 'ADMIN', name: 'ADMIN-ish' }, new Set(['ADMIN', 'LISTENER']))).toBe('{"role":"ADMIN","name":""}');
});

it('a mutation whose own variables do not coerce gets no estimate, even when its shape has one', () => {
  const denying = {
    access: {
      assert: () => {
        throw new ForbiddenError('not for this token');
      },
    },
  } as unknown as RequestContext;
  const document = parse('mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token } }');
  const guardAs = (expiresAt: string) =>
    guardOperation({
      context: denying,
      schema,
      document,
      operation: getOperationAST(document)!,
      variables: { i: { name: 'ci', role: 'ADMIN', expiresAt } },
    });
  /* not coercible first: nothing is kept, so the coercible one of the same shape after it is walked and refused */
  expect(() => guardAs('not a date')).not.toThrow(); // execution refuses these variables before any resolver
  expect(() => guardAs('2099-01-01T00:00:00.000Z')).toThrow(/not for this token/);
  expect(walks).toHaveBeenCalledTimes(2);
  /* the shape's estimate is kept now, but a request that does not coerce still gets none */
  expect(() => guardAs('still not a date')).not.toThrow();
  expect(() => guardAs('2098-06-01T00:00:00.000Z')).toThrow(/not for this token/);
  expect(walks).toHaveBeenCalledTimes(2);
});

it('a parsed document of its own is walked on its own', () => {
  const query = '{ viewer { role } }';
  guard(parse(query), {});
  guard(parse(query), {});
  expect(walks).toHaveBeenCalledTimes(2);
});
