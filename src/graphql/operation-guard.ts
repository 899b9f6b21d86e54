import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerErrorCode } from '@apollo/server/errors';
import { GraphQLError, getVariableValues, isEnumType, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import {
  fieldExtensionsEstimator,
  getComplexity,
  simpleEstimator,
  type ComplexityEstimator,
} from 'graphql-query-complexity';

import { ErrorCode, isAppError } from '../errors';
import type { Capability } from '../modules/access/access-policy';
import type { RequestContext } from '../modules/request/request-context';
import { REQUIRES } from '../modules/access/requires';

/** The most a query may cost as list-aware estimation counts it (modules/cost.ts). */
export const MAX_QUERY_COST = 100_000;

/**
 * Refuses, before anything executes, a mutation the caller may not run in
 * full, and any operation that is too expensive. Apollo's didResolveOperation has the document
 * and the variables, so `@include(if: $v)` and fragments are decided the way
 * execution will decide them; validation rules could not.
 *
 * One walk over the selection (graphql-query-complexity's) serves both: an
 * estimator that contributes no cost collects the capability each selected
 * field declares (`@Requires`), and for a mutation the request's
 * AccessPolicy — the same one every service asserts — must allow all of
 * them. So an ADMIN mutation that selects `value` is FORBIDDEN with nothing
 * written, not committed and then refused. Queries change nothing: their
 * fields keep failing one by one, each with its own reason.
 */
export function operationGuardPlugin(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, document, request, operation, operationName, schema }) {
          if (!operation) return; // Apollo answers OPERATION_RESOLUTION_FAILURE itself
          guardOperation({ context: contextValue, document, variables: request.variables, operation, operationName, schema });
        },
      };
    },
  };
}

export interface GuardedOperation {
  readonly context: RequestContext;
  readonly schema: GraphQLSchema;
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly operationName?: string | null;
  readonly variables?: Record<string, unknown> | null;
}

interface Estimate {
  readonly cost: number;
  readonly required: ReadonlySet<Capability>;
}

/*
 * An estimate depends only on the document, the operation name and the
 * variables: Apollo hands every request of one query text the same parsed
 * document, so a hot operation is walked once per distinct variables, not
 * once per request. Per document at most ESTIMATES_PER_DOCUMENT are kept.
 *
 * A mutation's variables may hold secret values, which no cache keeps: its
 * estimate is kept by their shape instead (shapeOf: every string blanked
 * but enum value names; numbers, booleans, nulls, lists and keys as sent).
 * That is more than an estimate reads (`first` for pageCost, booleans for
 * @include and @skip); strings only decide whether the variables coerce at
 * all, and that is checked again on every request, so only an estimate of
 * variables that coerced is kept, and a request whose own variables do not
 * coerce gets no estimate, as its walk would have given.
 */
const ESTIMATES_PER_DOCUMENT = 64;
const MAX_KEY_LENGTH = 1024;
const estimates = new WeakMap<DocumentNode, Map<string, Estimate | undefined>>();

/**
 * The variables with every string blanked but the schema's enum value names
 * (public words, never a secret, and an estimate could one day read one):
 * what a mutation's estimate is kept by.
 */
export const shapeOf = (variables: Record<string, unknown>, enumValues: ReadonlySet<string> = new Set()): string =>
  JSON.stringify(variables, (_key, value: unknown) => (typeof value === 'string' && !enumValues.has(value) ? '' : value));

const enumValueNames = new WeakMap<GraphQLSchema, ReadonlySet<string>>();
function enumValuesOf(schema: GraphQLSchema): ReadonlySet<string> {
  let names = enumValueNames.get(schema);
  if (!names) {
    const types = Object.values(schema.getTypeMap()).filter(isEnumType);
    enumValueNames.set(schema, (names = new Set(types.flatMap((type) => type.getValues().map((value) => value.name)))));
  }
  return names;
}

function estimate(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  operationName: string | undefined,
  variables: Record<string, unknown>,
): Estimate | undefined {
  const mutation = operation.operation === 'mutation';
  const key = `${operationName ?? ''}\u0000${mutation ? shapeOf(variables, enumValuesOf(schema)) : JSON.stringify(variables)}`;
  if (key.length > MAX_KEY_LENGTH) return walk(schema, document, operationName, variables);
  let byArgs = estimates.get(document);
  if (!byArgs) estimates.set(document, (byArgs = new Map()));
  if (byArgs.has(key)) {
    const known = byArgs.get(key);
    return !mutation || coerces(schema, operation, variables) ? known : undefined;
  }
  const result = walk(schema, document, operationName, variables);
  if (mutation && !result) return result; // another request of this shape may coerce
  if (byArgs.size >= ESTIMATES_PER_DOCUMENT) byArgs.delete(byArgs.keys().next().value!);
  byArgs.set(key, result);
  return result;
}

const coerces = (schema: GraphQLSchema, operation: OperationDefinitionNode, variables: Record<string, unknown>) =>
  getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 1 }).errors === undefined;

function walk(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined, variables: Record<string, unknown>): Estimate | undefined {
  const required = new Set<Capability>();
  const collect: ComplexityEstimator = ({ field }) => {
    const capability = field.extensions?.[REQUIRES] as Capability | undefined;
    if (capability) required.add(capability);
  };
  try {
    const cost = getComplexity({
      schema,
      query: document,
      variables,
      operationName,
      estimators: [collect, fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
    });
    return { cost, required };
  } catch {
    return undefined; // variables that do not coerce
  }
}

/** The guard itself, for Apollo (above) and the WebSocket transport alike. Throws a GraphQLError. */
export function guardOperation({ context, schema, document, operation, operationName, variables }: GuardedOperation): void {
  const estimated = estimate(schema, document, operation, operationName ?? undefined, variables ?? {});
  if (!estimated) return; // variables that do not coerce: execution refuses them, with graphql-js's (redacted) reason, before any resolver runs
  const { cost, required } = estimated;
  /* Queries change nothing, so their fields fail one by one as before; a mutation must not run half-refused. */
  if (operation.operation !== 'query') assertAllowed(context, required);
  if (cost > MAX_QUERY_COST) {
    throw new GraphQLError(
      `this operation is too expensive (estimated cost ${cost}, limit ${MAX_QUERY_COST}): select fewer fields, lists or aliases`,
      { extensions: { code: ApolloServerErrorCode.GRAPHQL_VALIDATION_FAILED, http: { status: 400 } } },
    );
  }
}

function assertAllowed(context: RequestContext, required: ReadonlySet<Capability>): void {
  for (const capability of required) {
    try {
      context.access.assert(capability);
    } catch (error) {
      if (!isAppError(error)) throw error;
      // 200, as a FORBIDDEN field has always been: the refusal is in the body, and only earlier
      throw new GraphQLError(error.message, { extensions: { code: ErrorCode.FORBIDDEN, http: { status: 200 } } });
    }
  }
}
