import { ApolloServer } from '@apollo/server';
import { buildSchema, graphql, GraphQLError, type GraphQLFormattedError } from 'graphql';

import { BadUserInputError, VersionConflictError } from '../../src/errors';
import { createErrorFormatter, redactInputEcho } from '../../src/graphql/errors';
import { createLogger } from '../../src/logger';

const MARKER = 'S3CRET-MARKER';

const typeDefs = `
  enum Scope { ENVIRONMENT SPACE }
  input SecretInput { name: String! value: String! }
  type Query {
    echo(value: String!): String
    count(n: Int!): Int
    scope(scope: Scope!): String
    upsert(input: SecretInput!): String
    badInput: String
    conflict: String
    boom: String
  }
`;

/** The message graphql-js itself produces for `source` with `variableValues`, and its inner reason. */
async function graphqlMessages(source: string, variableValues: Record<string, unknown>): Promise<[string, string | undefined]> {
  const result = await graphql({ schema: buildSchema(typeDefs), source, variableValues });
  expect(result.errors?.length).toBeGreaterThan(0);
  const [first] = result.errors!;
  return [first.message, first.originalError?.message];
}

describe('redactInputEcho', () => {
  it.each<[string, string, Record<string, unknown>, string[]]>([
    ['a String! given a number', 'query($v: String!) { echo(value: $v) }', { v: 31337 }, ['"$v"', 'String cannot represent']],
    [
      'a String! given an object',
      'query($v: String!) { echo(value: $v) }',
      { v: { nested: MARKER } },
      ['"$v"', 'String cannot represent'],
    ],
    ['a String! given a list', 'query($v: String!) { echo(value: $v) }', { v: [MARKER] }, ['"$v"', 'String cannot represent']],
    ['an Int! given a string', 'query($n: Int!) { count(n: $n) }', { n: MARKER }, ['"$n"', 'Int cannot represent']],
    [
      'an input field given an object',
      'query($i: SecretInput!) { upsert(input: $i) }',
      { i: { name: 'n', value: { nested: MARKER } } },
      ['"$i"', 'at "i.value"', 'String cannot represent'],
    ],
    [
      'an input object missing a field',
      'query($i: SecretInput!) { upsert(input: $i) }',
      { i: { value: MARKER } },
      ['"$i"', 'Field "name" of required type "String!" was not provided'],
    ],
    [
      'an input object with an unknown field',
      'query($i: SecretInput!) { upsert(input: $i) }',
      { i: { name: 'n', value: MARKER, extra: 1 } },
      ['"$i"', 'Field "extra" is not defined'],
    ],
  ])('removes the echoed input for %s but keeps variable, path and rule', async (_case, source, variables, kept) => {
    const [message, reason] = await graphqlMessages(source, variables);
    expect(message).toMatch(/S3CRET-MARKER|31337/); // graphql-js really does echo it
    const redacted = redactInputEcho(message, reason);
    expect(redacted).not.toContain(MARKER);
    expect(redacted).not.toContain('31337');
    for (const part of kept) expect(redacted).toContain(part);
  });

  it('removes echoed literals from documents', async () => {
    for (const source of [`{ count(n: "${MARKER}") }`, `{ echo(value: { a: "${MARKER}" }) }`]) {
      const [message, reason] = await graphqlMessages(source, {});
      expect(message).toContain(MARKER);
      expect(redactInputEcho(message, reason)).not.toContain(MARKER);
    }
  });

  it('leaves messages without an echo unchanged', () => {
    expect(redactInputEcho('Cannot query field "nope" on type "Query".')).toBe('Cannot query field "nope" on type "Query".');
  });

  it('removes an echo whose input contains "; "', async () => {
    const [message, reason] = await graphqlMessages('query($v: String!) { echo(value: $v) }', { v: [`a; ${MARKER}`] });
    expect(redactInputEcho(message, reason)).not.toContain(MARKER);
    expect(redactInputEcho(message, reason)).toContain('String cannot represent');
  });

  it('without the inner reason, keeps only the variable name', async () => {
    const [message] = await graphqlMessages('query($v: String!) { echo(value: $v) }', { v: [`a; ${MARKER}`] });
    expect(redactInputEcho(message)).toBe('Variable "$v" has an invalid value.');
  });

  it('removes the echo of an unknown enum value', async () => {
    const [message, reason] = await graphqlMessages('query($s: Scope!) { scope(scope: $s) }', { s: MARKER });
    expect(redactInputEcho(message, reason)).not.toContain(MARKER);
    expect(redactInputEcho(message, reason)).toContain('does not exist in "Scope" enum');
  });
});

describe('createErrorFormatter', () => {
  let logLines: string[];
  let server: ApolloServer;

  beforeAll(async () => {
    server = new ApolloServer({
      typeDefs,
      resolvers: {
        Query: {
          badInput: () => {
            throw new BadUserInputError('name', 'name must not be empty');
          },
          conflict: () => {
            throw new VersionConflictError(2, 3);
          },
          boom: () => {
            throw new Error(`connection to db.internal failed near ${MARKER}`);
          },
        },
      },
      formatError: createErrorFormatter(createLogger('error', { write: (line: string) => logLines.push(line) })),
    });
    await server.start();
  });
  afterAll(() => server.stop());
  beforeEach(() => {
    logLines = [];
  });

  async function errorsOf(query: string, variables?: Record<string, unknown>): Promise<readonly GraphQLFormattedError[]> {
    const response = await server.executeOperation({ query, variables });
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    expect(response.body.singleResult.errors).toHaveLength(1);
    return response.body.singleResult.errors!;
  }

  it('maps an AppError to its code and details', async () => {
    const [error] = await errorsOf('{ badInput }');
    expect(error).toEqual({
      message: 'name must not be empty',
      locations: [{ line: 1, column: 3 }],
      path: ['badInput'],
      extensions: { code: 'BAD_USER_INPUT', field: 'name' },
    });
    const [conflict] = await errorsOf('{ conflict }');
    expect(conflict.extensions).toEqual({ code: 'VERSION_CONFLICT', expectedVersion: 2, currentVersion: 3 });
    expect(logLines).toEqual([]);
  });

  it('passes GRAPHQL_VALIDATION_FAILED through', async () => {
    const [error] = await errorsOf('{ nope }');
    expect(error.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
    expect(error.message).toMatch(/^Cannot query field "nope" on type "Query"\./);
    expect(logLines).toEqual([]);
  });

  it('passes a variable error through as BAD_USER_INPUT without the echoed value', async () => {
    const [error] = await errorsOf('query($v: String!) { echo(value: $v) }', { v: { nested: MARKER } });
    expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT' });
    expect(error.message).toContain('"$v"');
    expect(error.message).not.toContain(MARKER);
  });

  it('masks an unexpected error as INTERNAL_SERVER_ERROR and logs it', async () => {
    const [error] = await errorsOf('{ boom }');
    expect(error).toEqual({
      message: 'Internal server error',
      locations: [{ line: 1, column: 3 }],
      path: ['boom'],
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(logLines).toHaveLength(1);
    const logged = JSON.parse(logLines[0]);
    expect(logged).toMatchObject({ level: 50, msg: 'unexpected error', path: ['boom'] });
    expect(logged.err.message).toContain('connection to db.internal failed');
  });

  it('masks a GraphQLError carrying an unknown or internal code', () => {
    const format = createErrorFormatter(createLogger('error', { write: (line: string) => logLines.push(line) }));
    for (const code of ['SOMETHING_ODD', 'INTERNAL_SERVER_ERROR']) {
      const error = new GraphQLError(`detail ${MARKER}`, { extensions: { code } });
      expect(format({ message: error.message, extensions: { code } }, error)).toEqual({
        message: 'Internal server error',
        locations: undefined,
        path: undefined,
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
    }
    expect(logLines).toHaveLength(2);
  });
});
