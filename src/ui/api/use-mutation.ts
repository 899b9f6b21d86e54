import { useCallback, useState } from 'react';
import { useClient, type AnyVariables, type OperationContext, type TypedDocumentNode } from 'urql';

import { toProblem, type Problem } from './errors';

export type MutationOutcome<Data> = { readonly data: Data; readonly problem?: undefined } | { readonly data?: undefined; readonly problem: Problem };

/**
 * urql's mutation with the error already translated for people, and a
 * busy flag for the dialog that sent it.
 */
export function useAction<Data, Variables extends AnyVariables>(document: TypedDocumentNode<Data, Variables>, context?: Partial<OperationContext>) {
  const client = useClient();
  const [busy, setBusy] = useState(false);
  const run = useCallback(
    async (variables: Variables): Promise<MutationOutcome<Data>> => {
      setBusy(true);
      try {
        const result = await client.mutation(document, variables, context).toPromise();
        if (result.error || !result.data) {
          return { problem: result.error ? toProblem(result.error) : { code: 'UNKNOWN', message: 'The server sent no answer.' } };
        }
        return { data: result.data };
      } finally {
        setBusy(false);
      }
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps -- context is a per-call constant
    [client, document],
  );
  return [run, busy] as const;
}
