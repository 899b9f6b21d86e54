import { ApolloArmor } from '@escape.tech/graphql-armor';
import { getNamedType, isObjectType, isScalarType, isEnumType, parse, specifiedRules, validate, type GraphQLObjectType } from 'graphql';

import { buildAppSchema } from '../../src/schema';
import { graphqlLimits } from '../../src/server';

/* The documented page sizes are accepted by the query limits, with every field selected. */
const schema = buildAppSchema();
const rules = [...specifiedRules, ...new ApolloArmor(graphqlLimits(true)).protect().validationRules];
const errorsOf = (query: string) => validate(schema, parse(query), rules).map((e) => e.message);

const leaves = (typeName: string): string =>
  Object.values((schema.getType(typeName) as GraphQLObjectType).getFields())
    .filter((f) => isScalarType(getNamedType(f.type)) || isEnumType(getNamedType(f.type)))
    .map((f) => f.name)
    .join(' ');

it('auditEvents(first: 500) with every field is within the cost limit', () => {
  expect(isObjectType(schema.getType('AuditEvent'))).toBe(true);
  const query = `{ auditEvents(first: 500) { edges { cursor node { ${leaves('AuditEvent')} } } pageInfo { hasNextPage endCursor } } }`;
  expect(errorsOf(query)).toEqual([]);
});

it('the cost limit still refuses a page far beyond any documented size', () => {
  const query = `{ auditEvents(first: 5000) { edges { cursor node { ${leaves('AuditEvent')} } } } }`;
  expect(errorsOf(query).join()).toMatch(/Cost limit/);
});
