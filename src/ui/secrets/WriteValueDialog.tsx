import { useState } from 'react';
import { Form } from 'react-aria-components';

import { useAction } from '../api/use-mutation';
import { Button } from '../components/Button';
import { DialogActions, FormDialog } from '../components/Dialog';
import { ValueField } from '../components/fields';
import { Notice } from '../components/Notice';
import { toast } from '../components/toasts';
import { UpsertSecretDocument } from '../gql/graphql';
import { describeWriteProblem } from './conflict';

export interface WriteTarget {
  readonly environmentId: string;
  readonly spaceId?: string;
  readonly actorId?: string;
  readonly name: string;
  /** The version the admin saw (check-and-set); 0 to create only (an override). */
  readonly expectedVersion: number;
}

/**
 * `Replace NAME` and `Override NAME`: a new value for one name, written only
 * if nobody changed it since the page showed it. On a conflict the dialog
 * stays open with the admin's value still in the field and says what
 * happened; saving again is a deliberate choice to replace the newer version.
 */
export function WriteValueDialog({ title, intro, target, onClose }: { title: string; intro: string; target: WriteTarget; onClose: () => void }) {
  const [write, busy] = useAction(UpsertSecretDocument);
  const [expectedVersion, setExpectedVersion] = useState(target.expectedVersion);
  const [problem, setProblem] = useState<string>();

  return (
    <FormDialog title={title} isOpen onOpenChange={(open) => !open && onClose()} isBusy={busy}>
      {(close) => (
        <Form
          className="form"
          onSubmit={async (event) => {
            event.preventDefault();
            const value = String(new FormData(event.currentTarget).get('value') ?? '');
            if (!value) return;
            const { environmentId, spaceId, actorId, name } = target;
            const outcome = await write({ input: { environmentId, spaceId, actorId, name, value, expectedVersion } });
            if (outcome.problem) {
              const described = describeWriteProblem(name, outcome.problem, expectedVersion);
              setProblem(described.message);
              if (described.retryVersion !== undefined) setExpectedVersion(described.retryVersion);
              return;
            }
            close();
            toast({ title: `Saved ${name}`, description: `Now v${outcome.data.upsertSecret.version}.` });
          }}
        >
          <p>{intro}</p>
          {problem && <Notice>{problem}</Notice>}
          <ValueField />
          <DialogActions>
            <Button slot="close">Cancel</Button>
            <Button type="submit" variant="primary" isDisabled={busy}>
              Save
            </Button>
          </DialogActions>
        </Form>
      )}
    </FormDialog>
  );
}
