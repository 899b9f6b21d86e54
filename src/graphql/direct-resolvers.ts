import { GraphQLScalarType, isObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { getMetadataStorage, type BuildSchemaOptions, type ContainerType, type ResolverData } from 'type-graphql';

type HandlerMetadata = Pick<ReturnType<typeof getMetadataStorage>['queries'][number], 'target' | 'methodName' | 'schemaName' | 'params' | 'middlewares' | 'roles'>;
type ParamMetadata = NonNullable<HandlerMetadata['params']>[number];

/** The options the schema was built with: whatever applies to every field decides whether any field may be resolved directly. */
export type DirectResolverOptions = Pick<BuildSchemaOptions, 'resolvers' | 'container' | 'validate' | 'validateFn' | 'authChecker' | 'globalMiddlewares'>;

/* Argument types whose values type-graphql passes on as they come (its convertToType returns them unchanged). */
const PASSED_AS_IS = new Set<unknown>([String, Number, Boolean, Date]);
const passedAsIs = (type: unknown) =>
  PASSED_AS_IS.has(type) || type instanceof GraphQLScalarType || (typeof type === 'object' && type !== null); // an enum's object

/*
 * A class whose instances are only their own properties: nothing on its
 * prototype chain but constructors, no field initialised to a value. For
 * a root of such a type, type-graphql's resolver makes a copy (a new
 * instance with the root's properties assigned) for every field it
 * resolves; the root itself reads the same, so it is passed as it is.
 * Secret, whose `scope` is a getter, is not one.
 */
function isPlainData(type: unknown): boolean {
  if (passedAsIs(type)) return true;
  if (typeof type !== 'function') return false;
  for (let proto = type.prototype as object | null; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    if (Object.getOwnPropertyNames(proto).some((name) => name !== 'constructor')) return false;
  }
  try {
    const probe = new (type as new () => object)();
    return Object.values(probe).every((value) => value === undefined);
  } catch {
    return false; // a constructor that needs arguments: not plain data
  }
}

/** A parameter whose value type-graphql's resolver computes without changing it: the method can be called directly. */
function isDirect(param: ParamMetadata): boolean {
  switch (param.kind) {
    case 'arg':
      return param.validateFn === undefined && param.validateSettings === undefined && passedAsIs(param.getType());
    case 'root':
      return param.getType === undefined || isPlainData(param.getType());
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
 * the listener's hot path, is one. A field resolver copies its root into a
 * new instance of the root's class first, once per field and object: an
 * `effectiveSecrets` of 5,000 made 5,000 copies for `value` alone. Where
 * that work changes nothing — arguments of scalar or enum types, roots of
 * plain data classes, the context, the info; no middleware, no role, no
 * validation setting, no auth checker, global middleware or validation in
 * the build — the field calls its method directly with the same values in
 * the same order. Every other field keeps type-graphql's resolver. Answers
 * the fields replaced, as `Type.field`.
 */
export function useDirectResolvers(schema: GraphQLSchema, options: DirectResolverOptions): string[] {
  const { container } = options;
  /* Anything that applies to every field: type-graphql's own resolvers are then the only faithful ones. */
  if (options.authChecker || options.globalMiddlewares?.length || options.validate !== false || options.validateFn) return [];
  if (!container || typeof container === 'function') return [];
  const storage = getMetadataStorage();
  const typeNameOf = (target: unknown) => storage.objectTypes.find((o) => o.target === target)?.name;
  const handlers: (readonly [string | undefined, HandlerMetadata])[] = [
    ...storage.queries.map((h) => [schema.getQueryType()?.name, h] as const),
    ...storage.mutations.map((h) => [schema.getMutationType()?.name, h] as const),
    ...storage.fieldResolvers.filter((h) => h.kind === 'external' && h.getObjectType).map((h) => [typeNameOf(h.getObjectType!()), h] as const),
  ];
  const replaced: string[] = [];
  for (const [typeName, handler] of handlers) {
    const type = typeName ? schema.getType(typeName) : undefined;
    const field = isObjectType(type) ? type.getFields()[handler.schemaName] : undefined;
    if (!field || !(options.resolvers as readonly unknown[]).includes(handler.target)) continue;
    const params = [...(handler.params ?? [])].sort((a, b) => a.index - b.index);
    /* `@Authorized()` without roles is an empty list: any list at all means a check */
    if (handler.middlewares?.length || handler.roles !== undefined || !params.every(isDirect)) continue;
    field.resolve = directResolver(handler, params, container);
    replaced.push(`${typeName}.${field.name}`);
  }
  return replaced;
}

function directResolver(handler: HandlerMetadata, params: readonly ParamMetadata[], container: ContainerType): GraphQLFieldResolver<unknown, unknown> {
  const { target, methodName } = handler;
  /*
   * With an argument, type-graphql's resolver is asynchronous (validateArg), so
   * what the method throws reaches graphql-js as a rejection, which fails this
   * field alone; a synchronous throw would stop its siblings too. Kept so.
   */
  const rejectsThrows = params.some((param) => param.kind === 'arg');
  return (root, args, context, info) => {
    const values = params.map((param) => {
      if (param.kind === 'arg') return args[param.name];
      if (param.kind === 'root') return param.propertyName ? (root as Record<string, unknown>)[param.propertyName] : root;
      if (param.kind === 'context') return param.propertyName ? (context as Record<string, unknown>)[param.propertyName] : context;
      return info;
    });
    const call = (instance: Record<string, (...values: unknown[]) => unknown>) => instance[methodName](...values);
    const instance = container.get(target, { root, args, context, info } as ResolverData);
    if (typeof instance?.then === 'function') return instance.then(call);
    if (!rejectsThrows) return call(instance);
    try {
      return call(instance);
    } catch (error) {
      return Promise.reject(error);
    }
  };
}
