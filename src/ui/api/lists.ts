/*
 * urql's document cache refetches a query when a mutation answers with a
 * type the query's result contained. An empty list contains no type at all,
 * so each list query names the types it shows: the first secret added to an
 * empty environment then refreshes it like any other.
 */
export const SECRET_LISTS = { additionalTypenames: ['Secret', 'EffectiveSecret'] };
export const ENVIRONMENT_LISTS = { additionalTypenames: ['Environment', 'Space'] };
export const SPACE_LISTS = { additionalTypenames: ['Space', 'Secret'] };
export const TOKEN_LISTS = { additionalTypenames: ['ApiToken', 'Environment'] };
