import { useState } from 'react';
import { Form } from 'react-aria-components';

import { useAction } from '../../api/use-mutation';
import { Button } from '../../components/Button';
import { DialogActions, FormDialog } from '../../components/Dialog';
import { TextField } from '../../components/fields';
import { plural } from '../../components/format';
import { Notice } from '../../components/Notice';
import { toast } from '../../components/toasts';
import { DeleteEnvironmentDocument } from '../../gql/graphql';

/** Irreversible, so the admin types the environment's name: a click alone cannot delete production. */
export function DeleteEnvironmentDialog({
  environment,
  onClose,
  onDeleted,
}: {
  environment: { id: string; name: string; spaces: unknown[] };
  onClose: () => void;
  onDeleted?: () => void;
}) {
  const [remove, busy] = useAction(DeleteEnvironmentDocument, { additionalTypenames: ['Environment', 'Space', 'Secret', 'ApiToken'] });
  const [typed, setTyped] = useState('');
  const [problem, setProblem] = useState<string>();

  return (
    <FormDialog title={`Delete environment ${environment.name}?`} role="alertdialog" isOpen onOpenChange={(open) => !open && onClose()} isBusy={busy}>
      {(close) => (
        <Form
          className="form"
          onSubmit={async (event) => {
            event.preventDefault();
            if (typed !== environment.name) return;
            const outcome = await remove({ id: environment.id });
            if (outcome.problem && outcome.problem.code !== 'NOT_FOUND') return setProblem(outcome.problem.message);
            close();
            toast({ title: `Deleted environment ${environment.name}` });
            onDeleted?.();
          }}
        >
          <p>
            This deletes <strong>{environment.name}</strong>, its {plural(environment.spaces.length, 'space')}, every secret in them and the
            listener tokens bound to it. Listeners using it stop at once. It cannot be undone.
          </p>
          {problem && <Notice>{problem}</Notice>}
          <TextField label={`Type ${environment.name} to confirm`} name="confirm" value={typed} onChange={setTyped} autoFocus autoComplete="off" />
          <DialogActions>
            <Button slot="close">Cancel</Button>
            <Button type="submit" variant="danger" isDisabled={busy || typed !== environment.name}>
              Delete environment
            </Button>
          </DialogActions>
        </Form>
      )}
    </FormDialog>
  );
}
