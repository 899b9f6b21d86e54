import { useMemo, useState } from 'react';
import { Cell, Column, DialogTrigger, Form, Row, Table, TableBody, TableHeader } from 'react-aria-components';
import { useQuery } from 'urql';
import { Link, useLocation } from 'wouter';

import { toProblem } from '../../api/errors';
import { ENVIRONMENT_LISTS } from '../../api/lists';
import { useAction } from '../../api/use-mutation';
import { Loading, PageHeader, usePageTitle } from '../../app/page';
import { Button } from '../../components/Button';
import { DialogActions, FormDialog } from '../../components/Dialog';
import { TextField } from '../../components/fields';
import { formatDateTime, plural } from '../../components/format';
import { Notice } from '../../components/Notice';
import { matchesSearch, SearchBox } from '../../components/SearchBox';
import { toast } from '../../components/toasts';
import { CreateEnvironmentDocument, EnvironmentsDocument, type EnvironmentsQuery } from '../../gql/graphql';
import { DeleteEnvironmentDialog } from './DeleteEnvironmentDialog';

type Environment = EnvironmentsQuery['environments'][number];

export default function EnvironmentsPage() {
  usePageTitle('Environments');
  const [{ data, error, fetching }] = useQuery({ query: EnvironmentsDocument, context: ENVIRONMENT_LISTS });
  const [search, setSearch] = useState('');
  const [deleting, setDeleting] = useState<Environment>();
  const environments = useMemo(() => (data?.environments ?? []).filter((e) => matchesSearch(e.name, search)), [data, search]);

  return (
    <>
      <PageHeader title="Environments" actions={<NewEnvironmentButton />}>
        <p className="lede">Each environment holds its own secrets; its spaces inherit them and may override any name.</p>
      </PageHeader>
      {error && <Notice>{toProblem(error).message}</Notice>}
      {!data && fetching && <Loading />}
      {data && (
        <section aria-label="Environment list">
          <div className="toolbar">
            <SearchBox label="Search environments" value={search} onChange={setSearch} />
            <span className="count">{plural(data.environments.length, 'environment')}</span>
          </div>
          <Table aria-label="Environments" className="table">
            <TableHeader>
              <Column isRowHeader className="col-name">
                Name
              </Column>
              <Column className="col-narrow">Spaces</Column>
              <Column>Created</Column>
              <Column className="col-actions">
                <span className="visually-hidden">Actions</span>
              </Column>
            </TableHeader>
            <TableBody
              items={environments}
              renderEmptyState={() => (
                <p className="empty">{search ? 'No environment matches that search.' : 'No environments yet. Create the first one.'}</p>
              )}
            >
              {(environment) => (
                <Row id={environment.id} className="row">
                  <Cell>
                    <Link href={`/environments/${environment.id}`} className="row-link">
                      {environment.name}
                    </Link>
                  </Cell>
                  <Cell>{environment.spaces.length}</Cell>
                  <Cell>{formatDateTime(environment.createdAt)}</Cell>
                  <Cell className="cell-actions">
                    <Button variant="quiet" aria-label={`Delete environment ${environment.name}`} onPress={() => setDeleting(environment)}>
                      Delete
                    </Button>
                  </Cell>
                </Row>
              )}
            </TableBody>
          </Table>
        </section>
      )}
      {deleting && <DeleteEnvironmentDialog environment={deleting} onClose={() => setDeleting(undefined)} />}
    </>
  );
}

function NewEnvironmentButton() {
  const [create, busy] = useAction(CreateEnvironmentDocument);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<string>();
  const [, navigate] = useLocation();

  return (
    <DialogTrigger onOpenChange={() => (setErrors({}), setProblem(undefined))}>
      <Button variant="primary">New environment</Button>
      <FormDialog title="New environment" isBusy={busy}>
        {(close) => (
          <Form
            className="form"
            validationErrors={errors}
            onSubmit={async (event) => {
              event.preventDefault();
              const name = String(new FormData(event.currentTarget).get('name') ?? '');
              const outcome = await create({ input: { name } });
              if (outcome.problem) {
                if (outcome.problem.code === 'NAME_CONFLICT') setErrors({ name: `An environment named “${name}” already exists.` });
                else if (outcome.problem.field === 'name') setErrors({ name: outcome.problem.message });
                else setProblem(outcome.problem.message);
                return;
              }
              close();
              toast({ title: `Created environment ${outcome.data.createEnvironment.name}` });
              navigate(`/environments/${outcome.data.createEnvironment.id}`);
            }}
          >
            {problem && <Notice>{problem}</Notice>}
            <TextField label="Name" name="name" isRequired autoFocus maxLength={128} description="1–128 characters, unique, e.g. production." />
            <DialogActions>
              <Button slot="close">Cancel</Button>
              <Button type="submit" variant="primary" isDisabled={busy}>
                Create
              </Button>
            </DialogActions>
          </Form>
        )}
      </FormDialog>
    </DialogTrigger>
  );
}
