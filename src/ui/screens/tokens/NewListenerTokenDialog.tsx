import { useRef, useState } from 'react';
import { DialogTrigger, Form, Input, Label, TextField } from 'react-aria-components';

import { useAction } from '../../api/use-mutation';
import { Button } from '../../components/Button';
import { DialogActions, FormDialog } from '../../components/Dialog';
import { TextField as NameField } from '../../components/fields';
import { Notice } from '../../components/Notice';
import { Picker } from '../../components/Picker';
import { toast } from '../../components/toasts';
import { CreateListenerTokenDocument, type TokensQuery } from '../../gql/graphql';

type Environment = TokensQuery['environments'][number];

const EXPIRY = [
  { id: 'never', name: 'Never', days: 0 },
  { id: '1', name: 'In 1 day', days: 1 },
  { id: '7', name: 'In 7 days', days: 7 },
  { id: '30', name: 'In 30 days', days: 30 },
  { id: '90', name: 'In 90 days', days: 90 },
  { id: '365', name: 'In 1 year', days: 365 },
];

/**
 * `New listener token`: bound to an environment, or to one of its spaces.
 * The token string is in the answer and nowhere else; it is shown here
 * once, read-only, with a copy button, and forgotten when the dialog closes.
 */
export function NewListenerTokenButton({ environments }: { environments: readonly Environment[] }) {
  const [create, busy] = useAction(CreateListenerTokenDocument);
  const [environmentId, setEnvironmentId] = useState<string | null>(null);
  const [spaceId, setSpaceId] = useState<string | null>(null);
  const [expiry, setExpiry] = useState<string | null>('never');
  const [created, setCreated] = useState<{ token: string; name: string }>();
  const [problem, setProblem] = useState<string>();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const tokenBox = useRef<HTMLInputElement>(null);

  const reset = () => {
    setEnvironmentId(null);
    setSpaceId(null);
    setExpiry('never');
    setCreated(undefined);
    setProblem(undefined);
    setErrors({});
  };
  const spaces = environments.find((e) => e.id === environmentId)?.spaces ?? [];

  async function copy() {
    if (!created) return;
    try {
      await navigator.clipboard.writeText(created.token);
    } catch {
      tokenBox.current?.select();
      document.execCommand('copy');
    }
    toast({ title: 'Token copied' });
  }

  return (
    <DialogTrigger onOpenChange={reset}>
      <Button variant="primary">New listener token</Button>
      <FormDialog title={created ? `Token ${created.name} created` : 'New listener token'} isBusy={busy}>
        {(close) =>
          created ? (
            <div className="form">
              <Notice tone="warning">Copy it now: this is the only time it is shown. Only its hash is stored.</Notice>
              <TextField value={created.token} isReadOnly className="field">
                <Label className="field-label">Token</Label>
                <div className="token-box">
                  <Input ref={tokenBox} className="input code" onFocus={(event) => event.currentTarget.select()} />
                  <Button variant="secondary" onPress={() => void copy()}>
                    Copy
                  </Button>
                </div>
              </TextField>
              <DialogActions>
                <Button variant="primary" onPress={close}>
                  Done
                </Button>
              </DialogActions>
            </div>
          ) : (
            <Form
              className="form"
              validationErrors={errors}
              onSubmit={async (event) => {
                event.preventDefault();
                const name = String(new FormData(event.currentTarget).get('name') ?? '');
                if (!environmentId) return setProblem('Pick the environment the token reads.');
                const days = EXPIRY.find((e) => e.id === expiry)?.days ?? 0;
                const outcome = await create({
                  input: {
                    name,
                    role: 'LISTENER',
                    environmentId,
                    spaceId: spaceId ?? undefined,
                    expiresAt: days ? new Date(Date.now() + days * 86_400_000).toISOString() : undefined,
                  },
                });
                if (outcome.problem) {
                  if (outcome.problem.field === 'name') setErrors({ name: outcome.problem.message });
                  else setProblem(outcome.problem.message);
                  return;
                }
                setCreated({ token: outcome.data.createApiToken.token, name: outcome.data.createApiToken.apiToken.name });
              }}
            >
              {problem && <Notice>{problem}</Notice>}
              <NameField label="Name" name="name" isRequired autoFocus maxLength={128} description="For people: what uses this token." />
              <Picker
                label="Environment"
                items={environments}
                selectedKey={environmentId}
                onSelectionChange={(key) => {
                  setEnvironmentId(key);
                  setSpaceId(null);
                }}
                isRequired
              />
              <Picker
                label="Space"
                items={spaces}
                selectedKey={spaceId}
                onSelectionChange={setSpaceId}
                isDisabled={!environmentId || spaces.length === 0}
                description="Optional: bind it to one space. Left empty, it reads the whole environment."
              />
              <Picker label="Expires" items={EXPIRY} selectedKey={expiry} onSelectionChange={setExpiry} />
              <DialogActions>
                <Button slot="close">Cancel</Button>
                <Button type="submit" variant="primary" isDisabled={busy}>
                  Create
                </Button>
              </DialogActions>
            </Form>
          )
        }
      </FormDialog>
    </DialogTrigger>
  );
}
