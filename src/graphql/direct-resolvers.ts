import { GraphQLScalarType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { getMetadataStorage, type ContainerType, type ResolverData } from 'type-graphql';

type HandlerMetadata = ReturnType<typeof getMetadataStorage>['queries'][number];
type ParamMetadata = NonNullable<HandlerMetadata['params']>[number];

/* Argument types whose values type-graphql passes on as they come (its convertToType returns them unchanged). */
const PASSED_AS_IS = new Set<unknown>([String, Number, Boolean, Date]);
const passedAsIs = (type: unknown) =>
  PASSED_AS_IS.has(type) || type instanceof GraphQLScalarType || (typeof type === 'object' && type !== null); // an enum's object

/** A parameter whose value type-graphql's resolver computes without work: the method can be called directly. */
function isDirect(param: ParamMetadata): boolean {
  switch (param.kind) {
    case 'arg':
      return param.validateFn === undefined && param.validateSettings === undefined && passedAsIs(param.getType());
    case 'context':
    case 'info':
      return true;
    default:
      return false;
  }
}

/*
 * type-graphql's resolver for a query or a mutation converts and validates
 * each argument asynchronously even with validation off (its validateArg is
 * an async function), so a field of five arguments costs five promises, a
 * Promise.all and their turns before the method runs: `secret(name, …)`,
 * the listener's hot path, is one. Where that work changes nothing —
 * arguments of scalar or enum types, the context, the info; no middleware,
 * no role, no validation setting — the field calls its method directly with
 * the same values in the same order. Every other field keeps type-graphql's
 * resolver. Answers the fields replaced, as `Type.field`.
 */
export function useDirectResolvers(schema: GraphQLSchema, container: ContainerType, resolverClasses: readonly unknown[]): string[] {
  const storage = getMetadataStorage();
  const replaced: string[] = [];
  const roots = [
    [schema.getQueryType(), storage.queries],
    [schema.getMutationType(), storage.mutations],
  ] as const;
  for (const [type, handlers] of roots) {
    if (!type) continue;
    const fields = type.getFields();
    for (const handler of handlers) {
      const field = fields[handler.schemaName];
      const params = [...(handler.params ?? [])].sort((a, b) => a.index - b.index);
      if (!field || !resolverClasses.includes(handler.target)) continue;
      if (handler.middlewares?.length || handler.roles?.length || !params.every(isDirect)) continue;
      field.resolve = directResolver(handler, params, container);
      replaced.push(`${type.name}.${field.name}`);
    }
  }
  return replaced;
}

function directResolver(handler: HandlerMetadata, params: readonly ParamMetadata[], container: ContainerType): GraphQLFieldResolver<unknown, unknown> {
  const { target, methodName } = handler;
  return (root, args, context, info) => {
    const values = params.map((param) => {
      if (param.kind === 'arg') return args[param.name];
      if (param.kind === 'context') return param.propertyName ? (context as Record<string, unknown>)[param.propertyName] : context;
      return info;
    });
    const call = (instance: Record<string, (...values: unknown[]) => unknown>) => instance[methodName](...values);
    const instance = container.get(target, { root, args, context, info } as ResolverData);
    return typeof instance?.then === 'function' ? instance.then(call) : call(instance);
  };
}
