import { useState } from 'react';
import { DialogTrigger, Form } from 'react-aria-components';

import { useAction } from '../api/use-mutation';
import { Button } from '../components/Button';
import { DialogActions, FormDialog } from '../components/Dialog';
import { TextField, ValueField } from '../components/fields';
import { Notice } from '../components/Notice';
import { toast } from '../components/toasts';
import { UpsertSecretDocument } from '../gql/graphql';

/** `Add secret`: a new name, created only if it does not exist yet (expectedVersion 0), so it never silently replaces. */
export function AddSecretButton({ environmentId, spaceId, where }: { environmentId: string; spaceId?: string; where: string }) {
  const [write, busy] = useAction(UpsertSecretDocument);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<string>();

  return (
    <DialogTrigger onOpenChange={() => (setErrors({}), setProblem(undefined))}>
      <Button variant="primary">Add secret</Button>
      <FormDialog title="Add secret" isBusy={busy}>
        {(close) => (
          <Form
            className="form"
            validationErrors={errors}
            onSubmit={async (event) => {
              event.preventDefault();
              const form = new FormData(event.currentTarget);
              const name = String(form.get('name') ?? '');
              const value = String(form.get('value') ?? '');
              if (!name || !value) return;
              const outcome = await write({ input: { environmentId, spaceId, name, value, expectedVersion: 0 } });
              if (outcome.problem) {
                if (outcome.problem.code === 'VERSION_CONFLICT' || outcome.problem.code === 'NAME_CONFLICT') {
                  setErrors({ name: `${name} already exists here. Close this and use Replace ${name} instead.` });
                } else if (outcome.problem.field === 'name') setErrors({ name: outcome.problem.message });
                else setProblem(outcome.problem.message);
                return;
              }
              close();
              toast({ title: `Added ${name}`, description: `v${outcome.data.upsertSecret.version} in ${where}.` });
            }}
          >
            <p>A new secret in {where}.</p>
            {problem && <Notice>{problem}</Notice>}
            <TextField
              label="Name"
              name="name"
              isRequired
              autoFocus
              maxLength={1024}
              autoComplete="off"
              description="Case-sensitive, e.g. SLACK_TOKEN. It cannot be renamed later."
            />
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
    </DialogTrigger>
  );
}
