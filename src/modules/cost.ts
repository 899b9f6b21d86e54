import type { ComplexityEstimator } from 'graphql-query-complexity';

/*
 * List-aware cost estimation (graphql/operation-guard.ts): a field's cost is one plus
 * its selection's cost times the number of items it may return, so nesting
 * and aliasing lists multiplies as the work does. Unpaginated lists are
 * counted at LIST_LENGTH_ESTIMATE items; paginated ones at their `first`.
 * The real bound on work is elsewhere too (values per request, requests per
 * token); this refuses the obviously abusive query before it runs.
 */

export const LIST_LENGTH_ESTIMATE = 20;

export const listCost: ComplexityEstimator = ({ childComplexity }) => 1 + LIST_LENGTH_ESTIMATE * childComplexity;

export const pageCost =
  (defaultFirst: number): ComplexityEstimator =>
  ({ args, childComplexity }) =>
    1 + (typeof args.first === 'number' && args.first > 0 ? args.first : defaultFirst) * childComplexity;
