import { getNamedType, isEnumType, isObjectType, isScalarType, parse, type GraphQLObjectType } from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';

import { MAX_QUERY_COST } from '../../src/graphql/operation-guard';
import { buildAppSchema } from '../../src/graphql/schema';

/* The documented page sizes are accepted by the list-aware cost limit, with every field selected. */
const schema = buildAppSchema();
const costOf = (query: string) =>
  getComplexity({ schema, query: parse(query), variables: {}, estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })] });

const leaves = (typeName: string): string =>
  Object.values((schema.getType(typeName) as GraphQLObjectType).getFields())
    .filter((f) => isScalarType(getNamedType(f.type)) || isEnumType(getNamedType(f.type)))
    .map((f) => f.name)
    .join(' ');

it('auditEvents(first: 500) with every field is within the cost limit', () => {
  expect(isObjectType(schema.getType('AuditEvent'))).toBe(true);
  const query = `{ auditEvents(first: 500) { edges { cursor node { ${leaves('AuditEvent')} } } pageInfo { hasNextPage endCursor } } }`;
  expect(costOf(query)).toBeLessThanOrEqual(MAX_QUERY_COST);
});

it('the cost limit still refuses a page far beyond any documented size', () => {
  const query = `{ auditEvents(first: 50000) { edges { cursor node { ${leaves('AuditEvent')} } } } }`;
  expect(costOf(query)).toBeGreaterThan(MAX_QUERY_COST);
});
