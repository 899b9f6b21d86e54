import { useState } from 'react';
import { Form } from 'react-aria-components';
import { useQuery } from 'urql';
import { useLocation } from 'wouter';

import { toProblem } from '../../api/errors';
import { useAction } from '../../api/use-mutation';
import { Loading } from '../../app/page';
import { Button } from '../../components/Button';
import { DialogActions, FormDialog } from '../../components/Dialog';
import { TextField } from '../../components/fields';
import { formatDateTime, plural } from '../../components/format';
import { Notice } from '../../components/Notice';
import { toast } from '../../components/toasts';
import { DeleteSpaceDocument, SpaceSettingsDocument } from '../../gql/graphql';
import { MissingSpace, SpaceHeader } from './SpaceHeader';

export function SpaceSettings({ id }: { id: string }) {
  const [{ data, error, fetching }] = useQuery({ query: SpaceSettingsDocument, variables: { id } });
  const [deleting, setDeleting] = useState(false);
  const space = data?.space;
  if (data && !space) return <MissingSpace />;
  if (!space) return error ? <Notice>{toProblem(error).message}</Notice> : fetching ? <Loading /> : null;

  return (
    <>
      <SpaceHeader id={id} name={space.name} environment={space.environment} view="settings" />
      <section aria-labelledby="space-settings" className="panel">
        <h2 id="space-settings">Settings</h2>
        <dl className="facts">
          <dt>Environment</dt>
          <dd>{space.environment.name}</dd>
          <dt>Created</dt>
          <dd>{formatDateTime(space.createdAt)}</dd>
          <dt>Own secrets</dt>
          <dd>{space.secrets.length}</dd>
          <dt>Id</dt>
          <dd>
            <code>{space.id}</code>
          </dd>
        </dl>
        <div className="danger-zone">
          <h3>Delete this space</h3>
          <p>Its {plural(space.secrets.length, 'own secret')} go with it; the environment’s secrets stay.</p>
          <Button variant="danger" onPress={() => setDeleting(true)}>
            Delete space
          </Button>
        </div>
      </section>
      {deleting && <DeleteSpaceDialog space={space} onClose={() => setDeleting(false)} />}
    </>
  );
}

function DeleteSpaceDialog({ space, onClose }: { space: { id: string; name: string; environment: { id: string } }; onClose: () => void }) {
  const [remove, busy] = useAction(DeleteSpaceDocument, { additionalTypenames: ['Space', 'Secret', 'ApiToken'] });
  const [typed, setTyped] = useState('');
  const [problem, setProblem] = useState<string>();
  const [, navigate] = useLocation();
  return (
    <FormDialog title={`Delete space ${space.name}?`} role="alertdialog" isOpen onOpenChange={(open) => !open && onClose()} isBusy={busy}>
      {(close) => (
        <Form
          className="form"
          onSubmit={async (event) => {
            event.preventDefault();
            if (typed !== space.name) return;
            const outcome = await remove({ id: space.id });
            if (outcome.problem && outcome.problem.code !== 'NOT_FOUND') return setProblem(outcome.problem.message);
            close();
            toast({ title: `Deleted space ${space.name}` });
            navigate(`/environments/${space.environment.id}/spaces`);
          }}
        >
          <p>This deletes the space and its own secrets. It cannot be undone.</p>
          {problem && <Notice>{problem}</Notice>}
          <TextField label={`Type ${space.name} to confirm`} name="confirm" value={typed} onChange={setTyped} autoFocus autoComplete="off" />
          <DialogActions>
            <Button slot="close">Cancel</Button>
            <Button type="submit" variant="danger" isDisabled={busy || typed !== space.name}>
              Delete space
            </Button>
          </DialogActions>
        </Form>
      )}
    </FormDialog>
  );
}
