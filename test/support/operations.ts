import type { As, GraphQLResponse, TestApp } from './app';

/* Small helpers for the setup steps most tests share; each fails loudly on a GraphQL error. */

export function dataOf<T>(response: GraphQLResponse<T>): T {
  if (response.errors?.length || !response.data) {
    throw new Error(`unexpected GraphQL errors: ${JSON.stringify(response.errors)}`);
  }
  return response.data;
}

/** The code of the only error of a response. */
export function errorCode(response: GraphQLResponse): unknown {
  expect(response.errors).toHaveLength(1);
  return response.errors![0].extensions?.code;
}

export async function createEnvironment(app: TestApp, name: string, as?: As): Promise<string> {
  const res = await app.gql(`mutation($name: String!) { createEnvironment(input: { name: $name }) { id } }`, { name }, as);
  return dataOf(res).createEnvironment.id;
}

export async function createSpace(app: TestApp, environmentId: string, name: string, as?: As): Promise<string> {
  const res = await app.gql(
    `mutation($environmentId: ID!, $name: String!) { createSpace(input: { environmentId: $environmentId, name: $name }) { id } }`,
    { environmentId, name },
    as,
  );
  return dataOf(res).createSpace.id;
}

export const UPSERT = `mutation($input: UpsertSecretInput!) {
  upsertSecret(input: $input) { id name version scope environment { id } space { id } createdAt updatedAt }
}`;

export interface SecretInput {
  environmentId: string;
  spaceId?: string | null;
  name: string;
  value: string;
  expectedVersion?: number | null;
}

export async function upsertSecret(app: TestApp, input: SecretInput, as?: As) {
  return dataOf(await app.gql(UPSERT, { input }, as)).upsertSecret as {
    id: string;
    name: string;
    version: number;
    scope: string;
  };
}

/** Row counts of every table, to prove a failed call wrote nothing. */
export async function tableCounts(app: TestApp): Promise<Record<string, number>> {
  const rows = await app.sql<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const counts: Record<string, number> = {};
  for (const { table_name } of rows) {
    const [{ n }] = await app.sql<{ n: string }>(`SELECT count(*) AS n FROM "${table_name}"`);
    counts[table_name] = Number(n);
  }
  return counts;
}

/** A digest of every row of every table, to prove a failed call changed nothing. */
export async function databaseFingerprint(app: TestApp): Promise<string> {
  const rows = await app.sql<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const parts: string[] = [];
  for (const { table_name } of rows) {
    // a token's lastUsedAt stamp records that a request arrived, not that it changed anything
    const source =
      table_name === 'api_token'
        ? `(SELECT id, name, role, environment_id, space_id, token_hash, created_at, revoked_at FROM api_token)`
        : `"${table_name}"`;
    const [{ digest }] = await app.sql<{ digest: string | null }>(
      `SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) AS digest FROM ${source} t`,
    );
    parts.push(`${table_name}:${digest}`);
  }
  return parts.join('|');
}
