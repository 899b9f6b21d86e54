import type { GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import type { ContainerType } from 'type-graphql';

import { useDirectResolvers } from '../../src/graphql/direct-resolvers';
import { buildAppSchema, resolvers } from '../../src/graphql/schema';

/*
 * A field resolved directly calls its resolver's method with exactly what
 * type-graphql's own resolver would: same instance, same method, the same
 * values in the same order (a plain-data root as it is, where type-graphql
 * passes an equal copy), and a method that throws fails the same way
 * (synchronously or as a rejection). Checked for every replaced field
 * against a schema that keeps type-graphql's resolvers, through a container
 * whose instances record each call.
 */

interface Call {
  readonly resolver: string;
  readonly method: string;
  readonly self: unknown;
  readonly values: unknown[];
}

function recordingContainer() {
  const calls: Call[] = [];
  const state = { throwing: false };
  const instances = new Map<unknown, object>();
  const container: ContainerType = {
    get(resolverClass: { name: string }) {
      let instance = instances.get(resolverClass);
      if (!instance) {
        const made: object = new Proxy(
          {},
          {
            /* methods only: an instance is not a promise (no `then`) */
            get: (_target, method) =>
              typeof method === 'string' && method !== 'then'
                ? function (this: unknown, ...values: unknown[]) {
                    calls.push({ resolver: resolverClass.name, method, self: this === made ? 'the instance' : this, values });
                    if (state.throwing) throw new Error(`${method} failed`);
                    return `${method} answered`;
                  }
                : undefined,
          },
        );
        instances.set(resolverClass, (instance = made));
      }
      return instance;
    },
  };
  return { container, calls, state };
}

const fieldOf = (schema: GraphQLSchema, coordinate: string) => {
  const [type, name] = coordinate.split('.');
  return (schema.getType(type) as GraphQLObjectType).getFields()[name];
};

/*
 * How a resolver call ended: a value (at once or as a promise: graphql-js
 * completes both alike), a rejection (fails the field alone), or a
 * synchronous throw (stops the field's siblings).
 */
async function outcome(run: () => unknown): Promise<string> {
  let result: unknown;
  try {
    result = run();
  } catch (error) {
    return `threw: ${(error as Error).message}`;
  }
  try {
    return `value: ${String(await result)}`;
  } catch (error) {
    return `rejected: ${(error as Error).message}`;
  }
}

const build = (container: ContainerType) => ({ resolvers, container, validate: false as const });

it('replaces the listener’s read and other fields of scalar arguments and plain roots, and leaves the rest to type-graphql', () => {
  const { container } = recordingContainer();
  const replaced = useDirectResolvers(buildAppSchema(container, { directResolvers: false }), build(container));
  expect(replaced).toEqual(expect.arrayContaining(['Query.secret', 'Query.effectiveSecrets', 'EffectiveSecret.value']));
  expect(replaced).not.toContain('Mutation.upsertSecret'); // its argument is an input object: converted to its class by type-graphql
  expect(replaced).not.toContain('Secret.value'); // a Secret has a getter (scope): type-graphql makes the root an instance
});

it('replaces nothing when the build has an auth checker, global middleware or validation', () => {
  const { container } = recordingContainer();
  const schema = () => buildAppSchema(container, { directResolvers: false });
  expect(useDirectResolvers(schema(), { ...build(container), authChecker: () => true })).toEqual([]);
  expect(useDirectResolvers(schema(), { ...build(container), globalMiddlewares: [async (_data, next) => next()] })).toEqual([]);
  expect(useDirectResolvers(schema(), { ...build(container), validate: true })).toEqual([]);
});

it('every replaced field calls the same method with the same values as type-graphql’s resolver, and fails the same way', async () => {
  const theirs = recordingContainer();
  const ours = recordingContainer();
  const original = buildAppSchema(theirs.container, { directResolvers: false });
  const schema = buildAppSchema(ours.container);
  const { container } = recordingContainer();
  const replaced = useDirectResolvers(buildAppSchema(container, { directResolvers: false }), build(container));
  expect(replaced.length).toBeGreaterThan(10);
  const context = { marker: 'the request context' };
  const info = { marker: 'the resolve info' } as unknown as GraphQLResolveInfo;
  const root = { id: 'the root', name: 'ROOT_NAME', version: 3 };
  for (const coordinate of replaced) {
    const field = fieldOf(schema, coordinate);
    const typeGraphql = fieldOf(original, coordinate);
    expect(field.resolve).not.toBe(typeGraphql.resolve);
    /* every argument set, each to a value of its own; then none at all */
    for (const args of [Object.fromEntries(field.args.map((arg, i) => [arg.name, `value ${i} of ${arg.name}`])), {}]) {
      for (const throwing of [false, false, true]) {
        theirs.state.throwing = ours.state.throwing = throwing;
        const expected = await outcome(() => typeGraphql.resolve!(root, args, context, info));
        expect({ coordinate, throwing, outcome: await outcome(() => field.resolve!(root, args, context, info)) }).toEqual({ coordinate, throwing, outcome: expected });
        const [mine, its] = [ours.calls.at(-1)!, theirs.calls.at(-1)!];
        expect({ coordinate, resolver: mine.resolver, method: mine.method, self: mine.self }).toEqual({ coordinate, resolver: its.resolver, method: its.method, self: 'the instance' });
        expect(mine.values).toHaveLength(its.values.length);
        mine.values.forEach((value, i) => {
          if (value === root) expect(its.values[i]).toEqual(root); // type-graphql's copy of a plain-data root reads the same
          else expect({ coordinate, i, same: value === its.values[i] }).toEqual({ coordinate, i, same: true });
        });
      }
    }
  }
});
