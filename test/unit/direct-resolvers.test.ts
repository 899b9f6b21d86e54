import type { GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import type { ContainerType } from 'type-graphql';

import { buildAppSchema, resolvers } from '../../src/graphql/schema';
import { useDirectResolvers } from '../../src/graphql/direct-resolvers';

/*
 * A field resolved directly calls its resolver's method with exactly what
 * type-graphql's own resolver would: same instance, same method, same
 * values in the same order. Checked for every replaced field against a
 * schema that keeps type-graphql's resolvers, through a container whose
 * instances record each call.
 */

interface Call {
  readonly resolver: string;
  readonly method: string;
  readonly values: unknown[];
}

function recordingContainer() {
  const calls: Call[] = [];
  const instances = new Map<unknown, object>();
  const container: ContainerType = {
    get(resolverClass: { name: string }) {
      let instance = instances.get(resolverClass);
      if (!instance) {
        instance = new Proxy(
          {},
          {
            /* methods only: an instance is not a promise (no `then`) */
            get: (_target, method) =>
              typeof method === 'string' && method !== 'then'
                ? (...values: unknown[]) => (calls.push({ resolver: resolverClass.name, method, values }), `${method} answered`)
                : undefined,
          },
        );
        instances.set(resolverClass, instance);
      }
      return instance;
    },
  };
  return { container, calls };
}

const fieldOf = (schema: GraphQLSchema, coordinate: string) => {
  const [type, name] = coordinate.split('.');
  return (schema.getType(type) as GraphQLObjectType).getFields()[name];
};

it('replaces the listener’s read and other scalar-argument fields, and leaves fields of input objects to type-graphql', () => {
  const { container } = recordingContainer();
  const replaced = useDirectResolvers(buildAppSchema(container, { directResolvers: false }), container, resolvers);
  expect(replaced).toContain('Query.secret');
  expect(replaced).toContain('Query.effectiveSecrets');
  expect(replaced).toContain('EffectiveSecret.value'); // its root is plain data: passed as it is, not copied per field
  expect(replaced).not.toContain('Mutation.upsertSecret'); // its argument is an input object: converted to its class by type-graphql
  expect(replaced).not.toContain('Secret.value'); // a Secret has a getter (scope): type-graphql makes the root an instance
});

it('every replaced field calls the same method with the same values as type-graphql’s resolver', async () => {
  const typeGraphql = recordingContainer();
  const direct = recordingContainer();
  const original = buildAppSchema(typeGraphql.container, { directResolvers: false });
  const schema = buildAppSchema(direct.container);
  const { container } = recordingContainer();
  const replaced = useDirectResolvers(buildAppSchema(container, { directResolvers: false }), container, resolvers);
  expect(replaced.length).toBeGreaterThan(5);
  const context = { marker: 'the request context' };
  const info = { marker: 'the resolve info' } as unknown as GraphQLResolveInfo;
  for (const coordinate of replaced) {
    const field = fieldOf(schema, coordinate);
    const theirs = fieldOf(original, coordinate);
    expect(field.resolve).not.toBe(theirs.resolve);
    /* every argument set, each to a value of its own; a root with properties of its own */
    const args = Object.fromEntries(field.args.map((arg, i) => [arg.name, `value ${i} of ${arg.name}`]));
    const root = { id: 'the root', name: 'ROOT_NAME', version: 3 };
    const before = typeGraphql.calls.length;
    expect(await theirs.resolve!(root, args, context, info)).toBe(await field.resolve!(root, args, context, info));
    expect(typeGraphql.calls.length).toBe(before + 1);
    expect({ coordinate, call: direct.calls.at(-1) }).toEqual({ coordinate, call: typeGraphql.calls.at(-1) });
    /* and with no argument given at all */
    await theirs.resolve!(root, {}, context, info);
    await field.resolve!(root, {}, context, info);
    expect({ coordinate, call: direct.calls.at(-1) }).toEqual({ coordinate, call: typeGraphql.calls.at(-1) });
  }
});
