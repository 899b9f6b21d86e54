import type { GraphQLResolveInfo } from 'graphql';
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

const fieldsOf = (schema: ReturnType<typeof buildAppSchema>) => ({ Query: schema.getQueryType()!.getFields(), Mutation: schema.getMutationType()!.getFields() });

it('replaces the listener’s read and other scalar-argument fields, and leaves fields of input objects to type-graphql', () => {
  const { container } = recordingContainer();
  const replaced = useDirectResolvers(buildAppSchema(container, { directResolvers: false }), container, resolvers);
  expect(replaced).toContain('Query.secret');
  expect(replaced).toContain('Query.effectiveSecrets');
  expect(replaced).not.toContain('Mutation.upsertSecret'); // its argument is an input object: converted to its class by type-graphql
});

it('every replaced field calls the same method with the same values as type-graphql’s resolver', async () => {
  const typeGraphql = recordingContainer();
  const direct = recordingContainer();
  const original = fieldsOf(buildAppSchema(typeGraphql.container, { directResolvers: false }));
  const schema = buildAppSchema(direct.container);
  const { container } = recordingContainer();
  const replaced = useDirectResolvers(buildAppSchema(container, { directResolvers: false }), container, resolvers);
  expect(replaced.length).toBeGreaterThan(5);
  const now = fieldsOf(schema);
  const context = { marker: 'the request context' };
  const info = { marker: 'the resolve info' } as unknown as GraphQLResolveInfo;
  for (const coordinate of replaced) {
    const [type, name] = coordinate.split('.') as ['Query' | 'Mutation', string];
    const field = now[type][name];
    expect(field.resolve).not.toBe(original[type][name].resolve);
    /* every argument set, each to a value of its own */
    const args = Object.fromEntries(field.args.map((arg, i) => [arg.name, `value ${i} of ${arg.name}`]));
    const before = typeGraphql.calls.length;
    expect(await original[type][name].resolve!(undefined, args, context, info)).toBe(await field.resolve!(undefined, args, context, info));
    expect(typeGraphql.calls.length).toBe(before + 1);
    expect({ coordinate, call: direct.calls.at(-1) }).toEqual({ coordinate, call: typeGraphql.calls.at(-1) });
    /* and with no argument given at all */
    await original[type][name].resolve!(undefined, {}, context, info);
    await field.resolve!(undefined, {}, context, info);
    expect({ coordinate, call: direct.calls.at(-1) }).toEqual({ coordinate, call: typeGraphql.calls.at(-1) });
  }
});
