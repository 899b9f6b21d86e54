import { useCallback } from 'react';
import { useClient } from 'urql';

import { toProblem } from '../api/errors';
import { toast } from '../components/toasts';
import { DeleteSecretDocument, RestoreSecretDocument } from '../gql/graphql';

const TYPENAMES = { additionalTypenames: ['Secret', 'EffectiveSecret'] };

/**
 * Deletes at once, no confirmation: deletes are soft (DESIGN §11), so the
 * toast's Undo restores the same secret as a new version of its last value.
 */
export function useDeleteWithUndo(): (secret: { id: string; name: string }, label?: string) => Promise<void> {
  const client = useClient();
  return useCallback(
    async (secret, label = `Deleted ${secret.name}`) => {
      const result = await client.mutation(DeleteSecretDocument, { id: secret.id }, TYPENAMES).toPromise();
      if (result.error) {
        toast({ title: `Could not delete ${secret.name}`, description: toProblem(result.error).message });
        return;
      }
      toast({
        title: label,
        description: 'It is kept for 30 days.',
        action: {
          label: 'Undo',
          onAction: async () => {
            const restored = await client.mutation(RestoreSecretDocument, { id: secret.id }, TYPENAMES).toPromise();
            toast(
              restored.data
                ? { title: `Restored ${secret.name}`, description: `Now v${restored.data.restoreSecret.version}.` }
                : { title: `Could not restore ${secret.name}`, description: restored.error ? toProblem(restored.error).message : undefined },
            );
          },
        },
      });
    },
    [client],
  );
}
