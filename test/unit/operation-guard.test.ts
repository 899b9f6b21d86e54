import { getOperationAST, parse } from 'graphql';
import * as complexity from 'graphql-query-complexity';

import { guardOperation } from '../../src/graphql/operation-guard';
import { buildAppSchema } from '../../src/graphql/schema';
import type { RequestContext } from '../../src/modules/request/request-context';

/*
 * The operation guard's estimate is kept per parsed document and variables
 * for queries (Apollo hands each request of one query text the same
 * document), walked again for other variables, and never kept for a
 * mutation, whose variables may hold secret values.
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

it('walks a mutation every time: nothing of its variables is kept', () => {
  const document = parse('mutation($i: UpsertSecretInput!) { upsertSecret(input: $i) { id } }');
  const variables = { i: { environmentId: '00000000-0000-4000-8000-000000000000', name: 'A', value: 'a secret value' } };
  guard(document, variables);
  guard(document, variables);
  expect(walks).toHaveBeenCalledTimes(2);
});

it('a parsed document of its own is walked on its own', () => {
  const query = '{ viewer { role } }';
  guard(parse(query), {});
  guard(parse(query), {});
  expect(walks).toHaveBeenCalledTimes(2);
});
