import { useCallback, useMemo, useState } from 'react';
import { Cell, Column, Row, Table, TableBody, TableHeader } from 'react-aria-components';
import { useQuery } from 'urql';

import { toProblem } from '../../api/errors';
import { SECRET_LISTS } from '../../api/lists';
import { Loading } from '../../app/page';
import { Button } from '../../components/Button';
import { formatRelative, formatDateTime, plural } from '../../components/format';
import { LiveIndicator } from '../../components/LiveIndicator';
import { Notice } from '../../components/Notice';
import { matchesSearch, SearchBox } from '../../components/SearchBox';
import { VirtualTable } from '../../components/VirtualTable';
import { EnvironmentSecretsDocument, type EnvironmentSecretsQuery } from '../../gql/graphql';
import { AddSecretButton } from '../../secrets/AddSecretDialog';
import { HistoryDialog } from '../../secrets/HistoryDialog';
import { ImportButton } from '../../secrets/ImportDialog';
import { useDeleteWithUndo } from '../../secrets/use-delete';
import { useLiveRefetch } from '../../secrets/use-live';
import { WriteValueDialog } from '../../secrets/WriteValueDialog';
import { EnvironmentHeader, MissingEnvironment } from './EnvironmentHeader';

type Secret = NonNullable<EnvironmentSecretsQuery['environment']>['secrets'][number];
type Open = { kind: 'replace' | 'history'; secret: Secret } | undefined;

/** An environment's own secrets: what every space inherits unless it overrides a name. */
export function DeveloperSettings({ id }: { id: string }) {
  const [{ data, error, fetching }, refetch] = useQuery({ query: EnvironmentSecretsDocument, variables: { id }, context: SECRET_LISTS });
  const reload = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  const live = useLiveRefetch({ environmentId: id }, reload);
  const [search, setSearch] = useState('');
  const [open, setOpen] = useState<Open>();
  const remove = useDeleteWithUndo();

  const environment = data?.environment;
  const secrets = useMemo(() => (environment?.secrets ?? []).filter((s) => matchesSearch(s.name, search)), [environment, search]);

  if (data && !environment) return <MissingEnvironment />;
  if (!environment) return error ? <Notice>{toProblem(error).message}</Notice> : fetching ? <Loading /> : null;

  return (
    <>
      <EnvironmentHeader id={id} name={environment.name} view="settings" />
      <section aria-labelledby="developer-settings" className="panel">
        <div className="panel-header">
          <div>
            <h2 id="developer-settings">Developer Settings</h2>
            <p className="lede">Environment secrets. Every space of {environment.name} inherits them unless it overrides a name.</p>
          </div>
          <div className="panel-actions">
            <ImportButton environmentId={id} existing={environment.secrets} onDone={reload} />
            <AddSecretButton environmentId={id} where={environment.name} />
          </div>
        </div>
        {error && <Notice>{toProblem(error).message}</Notice>}
        <div className="toolbar">
          <SearchBox label="Search secrets" value={search} onChange={setSearch} />
          <span className="count" aria-live="polite">
            {search ? `${secrets.length.toLocaleString()} of ${plural(environment.secrets.length, 'secret')}` : plural(environment.secrets.length, 'secret')}
          </span>
          <LiveIndicator live={live} />
        </div>
        <VirtualTable rowCount={secrets.length}>
          <Table aria-label={`Secrets of ${environment.name}`} className="table">
            <TableHeader>
              <Column isRowHeader defaultWidth="2fr">
                Name
              </Column>
              <Column defaultWidth={100}>Version</Column>
              <Column defaultWidth="1fr">Updated</Column>
              <Column defaultWidth={280}>
                <span className="visually-hidden">Actions</span>
              </Column>
            </TableHeader>
            <TableBody
              items={secrets}
              renderEmptyState={() => (
                <p className="empty">{search ? 'No secret matches that search.' : 'No secrets yet. Add one, or import a .env file.'}</p>
              )}
            >
              {(secret) => (
                <Row id={secret.id} className="row">
                  <Cell>
                    <span className="secret-name">{secret.name}</span>
                    <span className="mask" aria-hidden="true">
                      ••••••••
                    </span>
                  </Cell>
                  <Cell>
                    <span className="version">v{secret.version}</span>
                  </Cell>
                  <Cell>
                    <span title={formatDateTime(secret.updatedAt)}>{formatRelative(secret.updatedAt)}</span>
                  </Cell>
                  <Cell className="cell-actions">
                    <Button variant="secondary" aria-label={`Replace ${secret.name}`} onPress={() => setOpen({ kind: 'replace', secret })}>
                      Replace
                    </Button>
                    <Button variant="quiet" aria-label={`History ${secret.name}`} onPress={() => setOpen({ kind: 'history', secret })}>
                      History
                    </Button>
                    <Button variant="quiet" aria-label={`Delete ${secret.name}`} onPress={() => void remove(secret)}>
                      Delete
                    </Button>
                  </Cell>
                </Row>
              )}
            </TableBody>
          </Table>
        </VirtualTable>
      </section>
      {open?.kind === 'replace' && (
        <WriteValueDialog
          title={`Replace ${open.secret.name}`}
          intro={`A new value for ${open.secret.name} in ${environment.name}, replacing v${open.secret.version}. Spaces that override it keep their own value.`}
          target={{ environmentId: id, name: open.secret.name, expectedVersion: open.secret.version }}
          onClose={() => setOpen(undefined)}
        />
      )}
      {open?.kind === 'history' && (
        <HistoryDialog target={{ environmentId: id, name: open.secret.name }} onClose={() => setOpen(undefined)} />
      )}
    </>
  );
}
