import { useMemo, useState } from 'react';
import { Cell, Column, DialogTrigger, Form, Row, Table, TableBody, TableHeader } from 'react-aria-components';
import { useQuery } from 'urql';
import { Link, useLocation } from 'wouter';

import { toProblem } from '../../api/errors';
import { SPACE_LISTS } from '../../api/lists';
import { useAction } from '../../api/use-mutation';
import { Loading } from '../../app/page';
import { Button } from '../../components/Button';
import { DialogActions, FormDialog } from '../../components/Dialog';
import { TextField } from '../../components/fields';
import { formatDateTime, plural } from '../../components/format';
import { Notice } from '../../components/Notice';
import { matchesSearch, SearchBox } from '../../components/SearchBox';
import { toast } from '../../components/toasts';
import { CreateSpaceDocument, EnvironmentSpacesDocument } from '../../gql/graphql';
import { EnvironmentHeader, MissingEnvironment } from './EnvironmentHeader';

export function SpacesView({ id }: { id: string }) {
  const [{ data, error, fetching }] = useQuery({ query: EnvironmentSpacesDocument, variables: { id }, context: SPACE_LISTS });
  const [search, setSearch] = useState('');
  const environment = data?.environment;
  const spaces = useMemo(() => (environment?.spaces ?? []).filter((s) => matchesSearch(s.name, search)), [environment, search]);

  if (data && !environment) return <MissingEnvironment />;
  if (!environment) return error ? <Notice>{toProblem(error).message}</Notice> : fetching ? <Loading /> : null;

  return (
    <>
      <EnvironmentHeader id={id} name={environment.name} view="spaces" />
      <section aria-labelledby="spaces" className="panel">
        <div className="panel-header">
          <div>
            <h2 id="spaces">Spaces</h2>
            <p className="lede">Each space sees {environment.name}’s secrets, with its own overrides and additions.</p>
          </div>
          <div className="panel-actions">
            <NewSpaceButton environmentId={id} />
          </div>
        </div>
        <div className="toolbar">
          <SearchBox label="Search spaces" value={search} onChange={setSearch} />
          <span className="count">{plural(environment.spaces.length, 'space')}</span>
        </div>
        <Table aria-label={`Spaces of ${environment.name}`} className="table">
          <TableHeader>
            <Column isRowHeader>Name</Column>
            <Column className="col-narrow">Own secrets</Column>
            <Column>Created</Column>
          </TableHeader>
          <TableBody
            items={spaces}
            renderEmptyState={() => <p className="empty">{search ? 'No space matches that search.' : 'No spaces yet.'}</p>}
          >
            {(space) => (
              <Row id={space.id} className="row">
                <Cell>
                  <Link href={`/spaces/${space.id}`} className="row-link">
                    {space.name}
                  </Link>
                </Cell>
                <Cell>{space.secrets.length}</Cell>
                <Cell>{formatDateTime(space.createdAt)}</Cell>
              </Row>
            )}
          </TableBody>
        </Table>
      </section>
    </>
  );
}

function NewSpaceButton({ environmentId }: { environmentId: string }) {
  const [create, busy] = useAction(CreateSpaceDocument);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<string>();
  const [, navigate] = useLocation();

  return (
    <DialogTrigger onOpenChange={() => (setErrors({}), setProblem(undefined))}>
      <Button variant="primary">New space</Button>
      <FormDialog title="New space" isBusy={busy}>
        {(close) => (
          <Form
            className="form"
            validationErrors={errors}
            onSubmit={async (event) => {
              event.preventDefault();
              const name = String(new FormData(event.currentTarget).get('name') ?? '');
              const outcome = await create({ input: { environmentId, name } });
              if (outcome.problem) {
                if (outcome.problem.code === 'NAME_CONFLICT') setErrors({ name: `A space named “${name}” already exists here.` });
                else if (outcome.problem.field === 'name') setErrors({ name: outcome.problem.message });
                else setProblem(outcome.problem.message);
                return;
              }
              close();
              toast({ title: `Created space ${outcome.data.createSpace.name}` });
              navigate(`/spaces/${outcome.data.createSpace.id}`);
            }}
          >
            {problem && <Notice>{problem}</Notice>}
            <TextField label="Name" name="name" isRequired autoFocus maxLength={128} description="1–128 characters, unique in this environment." />
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
