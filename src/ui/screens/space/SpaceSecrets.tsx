import { useCallback, useEffect, useMemo, useState } from 'react';
import { Cell, Column, Row, Table, TableBody, TableHeader } from 'react-aria-components';
import { useQuery } from 'urql';
import { useLocation, useSearch } from 'wouter';

import { toProblem } from '../../api/errors';
import { SECRET_LISTS } from '../../api/lists';
import { Loading } from '../../app/page';
import { Button } from '../../components/Button';
import { TextField } from '../../components/fields';
import { formatDateTime, formatRelative, plural } from '../../components/format';
import { LiveIndicator } from '../../components/LiveIndicator';
import { Notice } from '../../components/Notice';
import { matchesSearch, SearchBox } from '../../components/SearchBox';
import { VirtualTable } from '../../components/VirtualTable';
import { SpaceSecretsDocument, type SpaceSecretsQuery } from '../../gql/graphql';
import { isActorId, sourceWord, type SourceWord } from '../../lib/source';
import { AddSecretButton } from '../../secrets/AddSecretDialog';
import { HistoryDialog } from '../../secrets/HistoryDialog';
import { useDeleteWithUndo } from '../../secrets/use-delete';
import { useLiveRefetch } from '../../secrets/use-live';
import { WriteValueDialog, type WriteTarget } from '../../secrets/WriteValueDialog';
import { MissingSpace, SpaceHeader } from './SpaceHeader';

type Effective = NonNullable<SpaceSecretsQuery['space']>['effectiveSecrets'][number];
type RowModel = Effective & { readonly id: string; readonly word: SourceWord };
type Open = { kind: 'write'; title: string; intro: string; target: WriteTarget } | { kind: 'history'; row: RowModel } | undefined;

const SOURCE_HINT: Record<SourceWord, string> = {
  Inherited: 'From the environment',
  Overridden: 'This space’s value replaces the environment’s',
  'Space only': 'Defined only in this space',
  Personal: 'A personal value for this actor',
};

/** The effective view: what a listener of this space resolves, and where each name comes from. */
export function SpaceSecrets({ id }: { id: string }) {
  const [actorText, setActorText, actorId] = useActorParam();
  const [{ data, error, fetching }, refetch] = useQuery({ query: SpaceSecretsDocument, variables: { id, actorId }, context: SECRET_LISTS });
  const reload = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  const space = data?.space;
  const live = useLiveRefetch({ environmentId: space?.environment.id, spaceId: id, actorId }, reload, !space);
  const [search, setSearch] = useState('');
  const [open, setOpen] = useState<Open>();
  const remove = useDeleteWithUndo();

  const rows = useMemo<RowModel[]>(
    () =>
      (space?.effectiveSecrets ?? [])
        .filter((row) => matchesSearch(row.name, search))
        .map((row) => ({ ...row, id: row.secret.id, word: sourceWord(row) })),
    [space, search],
  );

  if (data && !space) return <MissingSpace />;
  if (!space) return error ? <Notice>{toProblem(error).message}</Notice> : fetching ? <Loading /> : null;

  const environmentId = space.environment.id;
  const stale = space.effectiveSecrets.filter((row) => row.overrideStale).length;
  const actorInvalid = actorText !== '' && !isActorId(actorText);

  const actions = (row: RowModel) => {
    const replace = () =>
      setOpen({
        kind: 'write',
        title: `Replace ${row.name}`,
        intro:
          row.word === 'Personal'
            ? `A new personal value of ${row.name} for ${row.actorId}, replacing v${row.secret.version}.`
            : `A new value of ${row.name} in ${space.name}, replacing v${row.secret.version}.`,
        target: {
          environmentId,
          spaceId: row.secret.scope === 'SPACE' ? id : undefined,
          actorId: row.actorId ?? undefined,
          name: row.name,
          expectedVersion: row.secret.version,
        },
      });
    const history = (
      <Button variant="quiet" aria-label={`History ${row.name}`} onPress={() => setOpen({ kind: 'history', row })}>
        History
      </Button>
    );
    switch (row.word) {
      case 'Inherited':
        return (
          <Button
            variant="secondary"
            aria-label={`Override ${row.name}`}
            onPress={() =>
              setOpen({
                kind: 'write',
                title: `Override ${row.name}`,
                intro: `A value of ${row.name} for ${space.name} only. The environment’s value stays for every other space.`,
                target: { environmentId, spaceId: id, name: row.name, expectedVersion: 0 },
              })
            }
          >
            Override
          </Button>
        );
      case 'Overridden':
        return (
          <>
            <Button variant="secondary" aria-label={`Replace ${row.name}`} onPress={replace}>
              Replace
            </Button>
            {history}
            <Button
              variant="quiet"
              aria-label={`Remove override ${row.name}`}
              onPress={() => void remove({ id: row.secret.id, name: row.name }, `Removed the override of ${row.name}; ${space.name} inherits it again`)}
            >
              Remove override
            </Button>
          </>
        );
      case 'Space only':
      case 'Personal':
        return (
          <>
            <Button variant="secondary" aria-label={`Replace ${row.name}`} onPress={replace}>
              Replace
            </Button>
            {history}
            <Button variant="quiet" aria-label={`Delete ${row.name}`} onPress={() => void remove({ id: row.secret.id, name: row.name })}>
              Delete
            </Button>
          </>
        );
    }
  };

  return (
    <>
      <SpaceHeader id={id} name={space.name} environment={space.environment} view="secrets" />
      <section aria-labelledby="space-secrets" className="panel">
        <div className="panel-header">
          <div>
            <h2 id="space-secrets">Secrets</h2>
            <p className="lede">
              What a listener in {space.name} resolves: {space.environment.name}’s secrets, with this space’s overrides and additions
              {actorId ? `, and ${actorId}’s personal values first` : ''}.
            </p>
          </div>
          <div className="panel-actions">
            <AddSecretButton environmentId={environmentId} spaceId={id} where={space.name} />
          </div>
        </div>
        {error && <Notice>{toProblem(error).message}</Notice>}
        {stale > 0 && (
          <Notice tone="warning">
            {plural(stale, 'override')} {stale === 1 ? 'is' : 'are'} stale: the environment’s value changed after the override was set.
            Check that {stale === 1 ? 'it is' : 'they are'} still right.
          </Notice>
        )}
        <div className="toolbar">
          <SearchBox label="Search secrets" value={search} onChange={setSearch} />
          <div className="actor-field">
            <TextField
              label="Actor"
              value={actorText}
              onChange={setActorText}
              isInvalid={actorInvalid}
              validationBehavior="aria"
              placeholder="e.g. us_ag_1a2b3c"
              autoComplete="off"
              description={actorInvalid ? 'An actor id is 1–128 printable characters without spaces.' : undefined}
            />
          </div>
          <span className="count">{plural(space.effectiveSecrets.length, 'secret')}</span>
          <LiveIndicator live={live} />
        </div>
        <VirtualTable rowCount={rows.length}>
          <Table aria-label={`Effective secrets of ${space.name}`} className="table">
            <TableHeader>
              <Column isRowHeader defaultWidth="2fr">
                Name
              </Column>
              <Column defaultWidth={150}>Source</Column>
              <Column defaultWidth={110}>Version</Column>
              <Column defaultWidth="1fr">Updated</Column>
              <Column defaultWidth={330}>
                <span className="visually-hidden">Actions</span>
              </Column>
            </TableHeader>
            <TableBody
              items={rows}
              renderEmptyState={() => (
                <p className="empty">{search ? 'No secret matches that search.' : 'Nothing resolves here yet: add a secret to the environment or to this space.'}</p>
              )}
            >
              {(row) => (
                <Row id={row.id} className="row">
                  <Cell>
                    <span className="secret-name">{row.name}</span>
                    <span className="mask" aria-hidden="true">
                      ••••••••
                    </span>
                  </Cell>
                  <Cell>
                    <span className={`source source-${row.word.replace(' ', '-').toLowerCase()}`} title={SOURCE_HINT[row.word]}>
                      {row.word}
                    </span>
                  </Cell>
                  <Cell>
                    <span className="version">v{row.secret.version}</span>
                    {row.overrideStale && (
                      <span className="badge badge-stale" title="The environment’s value changed after this override was set">
                        Stale
                      </span>
                    )}
                  </Cell>
                  <Cell>
                    <span title={formatDateTime(row.secret.updatedAt)}>{formatRelative(row.secret.updatedAt)}</span>
                  </Cell>
                  <Cell className="cell-actions">{actions(row)}</Cell>
                </Row>
              )}
            </TableBody>
          </Table>
        </VirtualTable>
      </section>
      {open?.kind === 'write' && <WriteValueDialog title={open.title} intro={open.intro} target={open.target} onClose={() => setOpen(undefined)} />}
      {open?.kind === 'history' && (
        <HistoryDialog
          target={{
            name: open.row.name,
            environmentId,
            spaceId: open.row.secret.scope === 'SPACE' ? id : undefined,
            actorId: open.row.actorId ?? undefined,
          }}
          onClose={() => setOpen(undefined)}
        />
      )}
    </>
  );
}

/** The Actor box, kept in the URL (?actor=) so an actor's view can be reloaded and linked; applied once it pauses. */
function useActorParam(): [string, (text: string) => void, string | undefined] {
  const search = useSearch();
  const [location, navigate] = useLocation();
  const fromUrl = new URLSearchParams(search).get('actor') ?? '';
  const [text, setText] = useState(fromUrl);
  useEffect(() => setText(fromUrl), [fromUrl]);
  useEffect(() => {
    const trimmed = text.trim();
    if (trimmed === fromUrl || (trimmed !== '' && !isActorId(trimmed))) return;
    const timer = setTimeout(() => navigate(trimmed ? `${location}?actor=${encodeURIComponent(trimmed)}` : location, { replace: true }), 300);
    return () => clearTimeout(timer);
  }, [text, fromUrl, location, navigate]);
  return [text, setText, fromUrl && isActorId(fromUrl) ? fromUrl : undefined];
}
