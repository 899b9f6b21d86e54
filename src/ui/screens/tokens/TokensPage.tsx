import { useMemo, useState } from 'react';
import { Cell, Column, Row, Table, TableBody, TableHeader } from 'react-aria-components';
import { useQuery } from 'urql';

import { toProblem } from '../../api/errors';
import { TOKEN_LISTS } from '../../api/lists';
import { useAction } from '../../api/use-mutation';
import { Loading, PageHeader, usePageTitle } from '../../app/page';
import { Button } from '../../components/Button';
import { DialogActions, FormDialog } from '../../components/Dialog';
import { formatDateTime, formatRelative, plural } from '../../components/format';
import { Notice } from '../../components/Notice';
import { matchesSearch, SearchBox } from '../../components/SearchBox';
import { toast } from '../../components/toasts';
import { RevokeTokenDocument, TokensDocument, type TokensQuery } from '../../gql/graphql';
import { useSession } from '../../session/session';
import { NewListenerTokenButton } from './NewListenerTokenDialog';

type Token = TokensQuery['apiTokens'][number];

export default function TokensPage() {
  usePageTitle('Tokens');
  const [{ data, error, fetching }] = useQuery({ query: TokensDocument, context: TOKEN_LISTS });
  const [search, setSearch] = useState('');
  const [showRevoked, setShowRevoked] = useState(false);
  const [revoking, setRevoking] = useState<Token>();
  const { state } = useSession();
  const selfId = state.status === 'signedIn' ? state.viewer.id : undefined;

  const names = useMemo(() => {
    const map = new Map<string, string>();
    for (const environment of data?.environments ?? []) {
      map.set(environment.id, environment.name);
      for (const space of environment.spaces) map.set(space.id, `${environment.name} / ${space.name}`);
    }
    return map;
  }, [data]);

  const now = Date.now();
  const inactive = (token: Token) => !!token.revokedAt || (!!token.expiresAt && Date.parse(token.expiresAt) <= now);
  const tokens = useMemo(
    () =>
      (data?.apiTokens ?? [])
        .filter((token) => showRevoked || !inactive(token))
        .filter((token) => matchesSearch(token.name, search))
        .slice()
        .reverse(),
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `now` moves every render; the list does not need to
    [data, search, showRevoked],
  );
  const hidden = (data?.apiTokens ?? []).filter(inactive).length;

  return (
    <>
      <PageHeader title="Tokens" actions={data && <NewListenerTokenButton environments={data.environments} />}>
        <p className="lede">
          Listener tokens read the values of one environment or space. Sessions of this UI are ADMIN tokens named after the token that
          signed in, and end after 8 hours.
        </p>
      </PageHeader>
      {error && <Notice>{toProblem(error).message}</Notice>}
      {!data && fetching && <Loading />}
      {data && (
        <>
          <div className="toolbar">
            <SearchBox label="Search tokens" value={search} onChange={setSearch} />
            {hidden > 0 && (
              <Button variant="quiet" onPress={() => setShowRevoked(!showRevoked)}>
                {showRevoked ? 'Hide revoked and expired' : `Show ${plural(hidden, 'revoked or expired token')}`}
              </Button>
            )}
          </div>
          <Table aria-label="Tokens" className="table">
            <TableHeader>
              <Column isRowHeader>Name</Column>
              <Column>Role</Column>
              <Column>Reads</Column>
              <Column>Created</Column>
              <Column>Last used</Column>
              <Column>Expires</Column>
              <Column className="col-actions">
                <span className="visually-hidden">Actions</span>
              </Column>
            </TableHeader>
            <TableBody items={tokens} renderEmptyState={() => <p className="empty">No tokens match.</p>}>
              {(token) => (
                <Row id={token.id} className="row">
                  <Cell>
                    <span className="token-name">{token.name}</span>
                    {token.id === selfId && <span className="badge">This session</span>}
                  </Cell>
                  <Cell>{token.role === 'ADMIN' ? 'Admin' : 'Listener'}</Cell>
                  <Cell>
                    {token.role === 'ADMIN' ? '—' : (names.get(token.spaceId ?? '') ?? names.get(token.environmentId ?? '') ?? 'a deleted environment')}
                  </Cell>
                  <Cell>{formatDateTime(token.createdAt)}</Cell>
                  <Cell>
                    <span title={formatDateTime(token.lastUsedAt)}>{token.lastUsedAt ? formatRelative(token.lastUsedAt) : 'never'}</span>
                  </Cell>
                  <Cell>
                    {token.revokedAt ? (
                      <span className="badge badge-revoked">Revoked {formatRelative(token.revokedAt)}</span>
                    ) : token.expiresAt ? (
                      <span title={formatDateTime(token.expiresAt)}>{formatRelative(token.expiresAt)}</span>
                    ) : (
                      'never'
                    )}
                  </Cell>
                  <Cell className="cell-actions">
                    {!inactive(token) && token.id !== selfId && (
                      <Button variant="quiet" aria-label={`Revoke ${token.name}`} onPress={() => setRevoking(token)}>
                        Revoke
                      </Button>
                    )}
                  </Cell>
                </Row>
              )}
            </TableBody>
          </Table>
        </>
      )}
      {revoking && <RevokeDialog token={revoking} onClose={() => setRevoking(undefined)} />}
    </>
  );
}

function RevokeDialog({ token, onClose }: { token: Token; onClose: () => void }) {
  const [revoke, busy] = useAction(RevokeTokenDocument);
  const [problem, setProblem] = useState<string>();
  return (
    <FormDialog title={`Revoke ${token.name}?`} role="alertdialog" isOpen onOpenChange={(open) => !open && onClose()} isBusy={busy}>
      {(close) => (
        <>
          <p>
            Whatever uses this token is refused from its next request on.
            {token.role === 'ADMIN' ? ' Sessions signed in with it end too.' : ''} It cannot be undone.
          </p>
          {problem && <Notice>{problem}</Notice>}
          <DialogActions>
            <Button slot="close" autoFocus>
              Cancel
            </Button>
            <Button
              variant="danger"
              isDisabled={busy}
              onPress={async () => {
                const outcome = await revoke({ id: token.id });
                if (outcome.problem) return setProblem(outcome.problem.message);
                close();
                toast({ title: `Revoked ${token.name}` });
              }}
            >
              Revoke
            </Button>
          </DialogActions>
        </>
      )}
    </FormDialog>
  );
}
